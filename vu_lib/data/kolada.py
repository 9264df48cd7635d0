"""Kolada: the national comparison (client, ``params/kolada.yaml``, versioned snapshots).

Kolada (RKA's open database, CC BY 4.0) publishes key figures (KPIs) per
municipality, group of municipalities, organisational unit and year, many of
them per gender. This module is the data layer of the comparison:

* :class:`KoladaParams`: what is fetched, declared in ``params/kolada.yaml``
  (which Kolada KPI compares with which of our key figures, unit and scale,
  the municipality, the country, the comparison group, organisational units
  mapped to our nivå 3 units). No KPI id lives in code.
* :class:`KoladaClient`: the HTTP API v3 with the standard library only
  (``urllib``): configurable base URL, a timeout per request, retries with
  exponential back-off for 5xx, 429 (honouring ``Retry-After``), timeouts and
  dropped connections; paginated answers are followed through ``next_url``
  (the v3 name; ``next_page`` of v2 is accepted too) until there is none,
  refusing a link that loops back or leaves the API's host.
* :func:`fetch_snapshot` / :func:`save_snapshot`: one fetch becomes one file
  ``data/kolada/kolada-<UTC time>.json``: the API's JSON pages exactly as
  received, with the fetch time, base URL and query. The file is written
  atomically and only after every request succeeded, so a failed or partial
  fetch leaves the previous snapshot as it was.
* :func:`load_snapshot`: a snapshot file into the store in one transaction
  (tables ``kolada_hamtningar``, ``kolada_kpi``, ``kolada_varden``, and a
  ``kolada`` row in the load log, so the store's fingerprint, and with it the
  report cache, follows the snapshot). :func:`read_kolada` gives the active
  snapshot's values to :func:`vu_lib.data.load_dataset`; reports never touch
  the network.

The v3 answer of ``/data/kpi/{ids}/municipality/{ids}/year/{years}``::

    {"count": 2, "values": [{"kpi": "N00001", "municipality": "0580", "period": 2024,
      "values": [{"gender": "T", "count": 1, "status": "", "value": 2403.5}, ...]}, ...],
     "next_url": "https://api.kolada.se/v3/data/...&page=2"}

``count`` in a value is 1 for a municipality and the number of contributing
members for a group (whose value is an unweighted average of them).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal

from pydantic import Field, model_validator

from vu_lib.core.exceptions import InputError, ParamsError, Problem, VuError
from vu_lib.core.params import PROJECT_ROOT, Params, _parse, _Strict, params_dir

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Attribution line every report shows under a Kolada figure.
KALLA = "Källa: Kolada (RKA), CC BY 4.0"
#: Where fetched snapshots are kept (one file per fetch).
SNAPSHOT_DIR = PROJECT_ROOT / "data" / "kolada"
#: The example snapshot the sample store ships with (example values, not Kolada's).
EXAMPLE_SNAPSHOT = Path(__file__).resolve().parent / "kolada_exempel.json"
SNAPSHOT_FORMAT = "vu-kolada-ogonblicksbild"
SNAPSHOT_VERSION = 1
USER_AGENT = "vu-uppfoljning (Linköpings kommun, SoF)"


class KoladaError(VuError):
    """A Kolada fetch failed; the previous snapshot stays in use (CLI exit code 1)."""


def _bad_file(path: Path | str, message: str) -> InputError:
    """A snapshot file (or the store it is to go into) refused as bad input (CLI exit code 2)."""
    return InputError([Problem(str(path), None, None, message)])


# --------------------------------------------------------------------------- params
KpiId = Annotated[str, Field(pattern=r"^[A-Z]\d{5}$", description="Kolada KPI id, e.g. N00945")]


class KoladaKlient(_Strict):
    """How the client talks to the API."""

    bas_url: str = "https://api.kolada.se/v3"
    timeout_s: float = Field(default=30, gt=0)
    forsok: int = Field(default=4, ge=1, le=10, description="attempts per request")
    vantetid_s: float = Field(default=1.0, ge=0, description="first back-off; doubles per attempt")
    max_vantetid_s: float = Field(default=60, ge=0, description="cap on one wait, Retry-After included")
    per_sida: int = Field(default=5000, ge=1, le=5000)
    max_sidor: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _check(self):
        u = urllib.parse.urlsplit(self.bas_url)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"bas_url ska vara en http(s)-adress, t.ex. https://api.kolada.se/v3 (fick {self.bas_url!r})")
        return self


class Omrade(_Strict):
    id: Annotated[str, Field(pattern=r"^\d{4}$")]
    namn: str


class Grupp(_Strict):
    id: Annotated[str, Field(pattern=r"^G\d+$")]
    namn: str


class Jamforelse(_Strict):
    """One Kolada KPI beside one of our key figures."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    kpi: KpiId
    namn: str
    vu: list[str] = Field(min_length=1)
    nyckeltal: str | None = None
    kluster: str = ""
    del_: str | None = Field(default=None, alias="del")
    enhet: str
    skala: float = Field(default=1.0, gt=0, description="our figure × skala is in Kolada's unit")
    decimaler: int = Field(default=0, ge=0, le=3)
    riktning: Literal["lagre_battre", "hogre_battre", "neutral"] = "neutral"
    kon: bool = False
    jamforelsegrupp: Grupp | None = None
    """Another group of similar municipalities for this KPI (Kolada's groups differ per activity)."""
    definitionsskillnad: str | None = None


class OrgEnhet(_Strict):
    """A Kolada organisational unit (``/v3/oudata``) mapped to one of our nivå 3 units."""

    ou: Annotated[str, Field(pattern=r"^V\d{2}[A-Z0-9]+$")]
    enhet: Annotated[str, Field(pattern=r"^\d{6}$", description="our unit's id_kod")]
    jamforelser: list[str] = Field(min_length=1)


class KoladaParams(_Strict):
    version: int
    klient: KoladaKlient = KoladaKlient()
    kommun: Omrade
    riket: Omrade
    jamforelsegrupp: Grupp | None = None
    antal_ar: int = Field(default=5, ge=1, le=25)
    jamforelser: list[Jamforelse]
    organisatoriska_enheter: list[OrgEnhet] = []

    def jamforelse(self, ident: str) -> Jamforelse:
        for j in self.jamforelser:
            if j.id == ident:
                return j
        raise KeyError(ident)

    def for_vu(self, vu_id: str) -> list[Jamforelse]:
        return [j for j in self.jamforelser if vu_id in j.vu]

    @property
    def kpi_ids(self) -> list[str]:
        return list(dict.fromkeys(j.kpi for j in self.jamforelser))

    def where(self, kpi: str) -> str:
        """Where in the file a KPI id is configured: ``'jamforelser[2].kpi (hemtjanst_kostnad)'``."""
        return ", ".join(f"jamforelser[{i}].kpi ({j.id})" for i, j in enumerate(self.jamforelser) if j.kpi == kpi)

    def groups(self) -> list[Grupp]:
        """Every comparison group: the default one and those of single comparisons."""
        out: dict[str, Grupp] = {}
        for g in [self.jamforelsegrupp, *(j.jamforelsegrupp for j in self.jamforelser)]:
            if g is not None:
                out.setdefault(g.id, g)
        return list(out.values())

    def areas(self, j: Jamforelse | None = None) -> list[tuple[str, str, str]]:
        """``(role, id, name)`` of the areas of comparison ``j``: kommun, grupp (if any), riket.

        Without ``j``: every area fetched (all groups).
        """
        out = [("kommun", self.kommun.id, self.kommun.namn)]
        if j is None:
            out += [("grupp", g.id, g.namn) for g in self.groups()]
        else:
            g = j.jamforelsegrupp or self.jamforelsegrupp
            if g is not None:
                out.append(("grupp", g.id, g.namn))
        out.append(("riket", self.riket.id, self.riket.namn))
        return out


def kolada_params_path(root: str | Path | None = None) -> Path:
    return Path(root if root is not None else params_dir()) / "kolada.yaml"


def load_kolada_params(params: Params | None = None, root: str | Path | None = None) -> KoladaParams:
    """``params/kolada.yaml``, validated and cross-checked against the registry and the catalogue.

    Raises
    ------
    ParamsError
        Naming the file, the key and what was expected.
    """
    from vu_lib.core.params import load_params

    params = params if params is not None else load_params(root)
    path = kolada_params_path(root if root is not None else params.root)
    kp = _parse(KoladaParams, path)
    problems = []
    ids = [j.id for j in kp.jamforelser]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"jamforelser: id {dup} förekommer två gånger")
    known_vu = {v.id: v for v in params.registry.alla}
    catalogue = {n.id: n for n in params.katalog.nyckeltal}
    for i, j in enumerate(kp.jamforelser):
        for v in j.vu:
            if v not in known_vu:
                problems.append(f"jamforelser[{i}].vu ({j.id}): okänt VU '{v}'")
        if j.nyckeltal is not None:
            n = catalogue.get(j.nyckeltal)
            if n is None:
                problems.append(f"jamforelser[{i}].nyckeltal ({j.id}): '{j.nyckeltal}' finns inte i nyckeltal.yaml")
            else:
                for v in j.vu:
                    if v in known_vu and v not in n.vu:
                        problems.append(f"jamforelser[{i}].nyckeltal ({j.id}): {j.nyckeltal} följs inte upp för {v}")
                if j.kluster:
                    for v in j.vu:
                        if v in known_vu and j.kluster not in {k.id for k in known_vu[v].kluster}:
                            problems.append(f"jamforelser[{i}].kluster ({j.id}): '{j.kluster}' finns inte i {v}")
        elif j.kluster or j.del_:
            problems.append(f"jamforelser[{i}] ({j.id}): kluster och del kräver nyckeltal")
    units = {e.id_kod for v in params.registry.alla for e in v.enheter}
    for i, o in enumerate(kp.organisatoriska_enheter):
        if o.enhet not in units:
            problems.append(f"organisatoriska_enheter[{i}].enhet: '{o.enhet}' är ingen enhet i registry.yaml")
        for ref in o.jamforelser:
            if ref not in ids:
                problems.append(f"organisatoriska_enheter[{i}].jamforelser: '{ref}' är ingen jämförelse i filen")
    if problems:
        raise ParamsError(f"Fel i parameterfilen {path}:\n" + "\n".join(f"  {p}" for p in problems))
    return kp


# --------------------------------------------------------------------------- client
def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _offline(reason: Any) -> bool:
    """True when an URLError means "no network" (name resolution or no route), not a server problem."""
    if isinstance(reason, socket.gaierror):
        return True
    if isinstance(reason, OSError) and reason.errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
        return True
    return False


@dataclass
class KoladaClient:
    """Kolada's HTTP API v3 over ``urllib``.

    Parameters
    ----------
    base_url : str
        ``https://api.kolada.se/v3`` or a test server.
    timeout : float
        Seconds per request (connect and each read).
    attempts : int
        Tries per request; retried are HTTP 5xx and 429, timeouts and dropped connections.
    backoff, max_wait : float
        Wait ``backoff × 2**(attempt-1)`` seconds between tries, or what ``Retry-After`` says,
        at most ``max_wait``.
    per_page, max_pages : int
        Page size asked for; the most pages one query may span.
    sleep : callable
        ``time.sleep``; tests pass a recorder.
    """

    base_url: str = "https://api.kolada.se/v3"
    timeout: float = 30
    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 60
    per_page: int = 5000
    max_pages: int = 200
    sleep: Callable[[float], None] = time.sleep
    requests: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, kp: KoladaParams, base_url: str | None = None, **kw) -> "KoladaClient":
        k = kp.klient
        return cls(base_url=base_url or k.bas_url, timeout=k.timeout_s, attempts=k.forsok, backoff=k.vantetid_s,
                   max_wait=k.max_vantetid_s, per_page=k.per_sida, max_pages=k.max_sidor, **kw)

    # ---- URLs
    def url(self, path: str, query: dict | None = None) -> str:
        base = self.base_url.rstrip("/")
        q = dict(query or {})
        return f"{base}/{path.lstrip('/')}" + (("?" + urllib.parse.urlencode(q)) if q else "")

    # ---- one request
    def get(self, url: str, *, missing_ok: bool = False) -> dict | None:
        """GET ``url`` and parse its JSON, with retries; None for a 404 when ``missing_ok``."""
        last = ""
        for attempt in range(1, self.attempts + 1):
            wait: float | None = None
            self.requests.append(url)
            try:
                req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    body = resp.read()
                return self._parse(url, body)
            except urllib.error.HTTPError as e:
                if e.code == 404 and missing_ok:
                    return None
                if e.code == 429 or e.code >= 500:
                    last = f"HTTP {e.code}" + (" (för många anrop)" if e.code == 429 else " (serverfel)")
                    wait = _retry_after(e.headers.get("Retry-After") if e.headers else None)
                else:
                    raise KoladaError(f"Kolada svarade HTTP {e.code} på {url}: {_reason(e)}") from None
            except urllib.error.URLError as e:
                if _offline(e.reason):
                    raise KoladaError(
                        f"Kolada ({self.base_url}) kan inte nås: ingen nätverksanslutning eller okänd värd "
                        f"({e.reason}). Inget har ändrats; rapporterna använder den tidigare ögonblicksbilden.") from None
                if isinstance(e.reason, (TimeoutError, socket.timeout)):
                    last = f"inget svar inom {self.timeout:g} s"
                else:
                    last = f"anslutningen misslyckades ({e.reason})"
            except (TimeoutError, socket.timeout):
                last = f"inget svar inom {self.timeout:g} s"
            except (ConnectionError, http.client.HTTPException) as e:
                last = f"anslutningen bröts ({e.__class__.__name__})"
            if attempt < self.attempts:
                delay = self.backoff * 2 ** (attempt - 1) if wait is None else wait
                self.sleep(min(delay, self.max_wait))
        raise KoladaError(f"Kolada svarade inte på {url} efter {self.attempts} försök (senast: {last}). "
                          "Inget har ändrats; rapporterna använder den tidigare ögonblicksbilden.")

    @staticmethod
    def _parse(url: str, body: bytes) -> dict:
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise KoladaError(f"Kolada svarade med text som inte är UTF-8 på {url} (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise KoladaError(f"Kolada svarade med ogiltig JSON på {url} (rad {e.lineno}, kolumn {e.colno}: {e.msg})") from None
        if not isinstance(data, dict) or not isinstance(data.get("values"), list):
            raise KoladaError(f"Kolada svarade på {url} utan listan 'values'; är bas-URL:en rätt ({url})?")
        return data

    # ---- paginated queries
    def pages(self, url: str) -> list[dict]:
        """Every page of a query: ``[{"url": ..., "json": ...}, ...]``, following ``next_url``."""
        out: list[dict] = []
        seen: set[str] = set()
        host = urllib.parse.urlsplit(self.base_url)[:2]
        while url:
            key = _canonical(url)
            if key in seen:
                raise KoladaError(f"Kolada:s next_url pekar tillbaka på en sida som redan hämtats ({url}); "
                                  "hämtningen avbröts och inget har ändrats")
            if len(out) >= self.max_pages:
                raise KoladaError(f"Kolada:s svar är längre än {self.max_pages} sidor (klient.max_sidor); "
                                  "hämtningen avbröts och inget har ändrats")
            seen.add(key)
            data = self.get(url)
            out.append({"url": url, "json": data})
            nxt = data.get("next_url") or data.get("next_page")
            if nxt:
                nxt = urllib.parse.urljoin(url, nxt)
                if urllib.parse.urlsplit(nxt)[:2] != host:
                    raise KoladaError(f"Kolada:s next_url leder till en annan värd ({nxt}); hämtningen avbröts")
            url = nxt or ""
        return out

    def _ids(self, ids) -> str:
        return ",".join(urllib.parse.quote(str(i), safe="") for i in ids)

    def kpi_search(self, title: str) -> list[dict]:
        """KPI metadata whose title contains ``title`` (``/kpi?title=``)."""
        return [v for p in self.pages(self.url("kpi", {"title": title, "per_page": self.per_page}))
                for v in p["json"]["values"]]

    def kpi_pages(self, ids) -> list[dict]:
        return self.pages(self.url(f"kpi/{self._ids(ids)}", {"per_page": self.per_page}))

    def group_search(self, title: str) -> list[dict]:
        return [v for p in self.pages(self.url("municipality_groups", {"title": title, "per_page": self.per_page}))
                for v in p["json"]["values"]]

    def group_pages(self, ids) -> list[dict]:
        return self.pages(self.url(f"municipality_groups/{self._ids(ids)}", {"per_page": self.per_page}))

    def data_pages(self, kpis, municipalities, years) -> list[dict]:
        path = f"data/kpi/{self._ids(kpis)}/municipality/{self._ids(municipalities)}/year/{self._ids(years)}"
        return self.pages(self.url(path, {"per_page": self.per_page}))

    def oudata_pages(self, kpis, ous, years) -> list[dict]:
        path = f"oudata/kpi/{self._ids(kpis)}/ou/{self._ids(ous)}/year/{self._ids(years)}"
        return self.pages(self.url(path, {"per_page": self.per_page}))


def _reason(e: urllib.error.HTTPError) -> str:
    try:
        text = e.read(300).decode("utf-8", "replace").strip()
    except Exception:  # noqa: BLE001 - only for the message
        text = ""
    return text or str(e.reason)


def _canonical(url: str) -> str:
    """A URL with sorted query parameters, so a reordered next_url still counts as seen."""
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True)))
    return urllib.parse.urlunsplit((u.scheme.lower(), u.netloc.lower(), u.path.rstrip("/"), q, ""))


# --------------------------------------------------------------------------- snapshots
def default_years(kp: KoladaParams, today: dt.date | None = None) -> list[int]:
    """The last ``antal_ar`` complete years before today (Kolada publishes a year afterwards)."""
    today = today or dt.date.today()
    last = today.year - 1
    return list(range(last - kp.antal_ar + 1, last + 1))


def fetch_snapshot(kp: KoladaParams, client: KoladaClient, years: list[int], *,
                   now: dt.datetime | None = None) -> dict:
    """Fetch everything ``params/kolada.yaml`` declares for ``years``; nothing is written.

    Raises
    ------
    KoladaError
        The network, the server or the answer failed; or a configured KPI id
        or group is unknown to Kolada (named, with where it is configured).
    """
    years = sorted(set(int(y) for y in years))
    if not years:
        raise KoladaError("inga år angivna för Kolada-hämtningen")
    kpis = kp.kpi_ids
    kpi_pages = client.kpi_pages(kpis)
    known = {v.get("id") for p in kpi_pages for v in p["json"]["values"]}
    unknown = [k for k in kpis if k not in known]
    if unknown:
        lines = [f"  {k}: {kp.where(k)}" for k in unknown]
        raise KoladaError("Kolada känner inte till " + ("KPI-id " if len(unknown) == 1 else "KPI-id:na ")
                          + ", ".join(unknown) + f" i {kolada_params_path()} (utgånget, ersatt eller felstavat):\n"
                          + "\n".join(lines) + "\nSök ersättaren med: vu kolada kpi SÖKORD. "
                          "Inget har ändrats; rapporterna använder den tidigare ögonblicksbilden.")
    group_pages: list[dict] = []
    if kp.groups():
        gids = [g.id for g in kp.groups()]
        group_pages = client.group_pages(gids)
        found = {v.get("id") for p in group_pages for v in p["json"]["values"]}
        missing = [g for g in kp.groups() if g.id not in found]
        if missing:
            raise KoladaError("Kolada känner inte till " + ", ".join(f"kommungruppen {g.id} ({g.namn})" for g in missing)
                              + f" i {kolada_params_path()}; sök med: vu kolada grupper SÖKORD. "
                              "Inget har ändrats; rapporterna använder den tidigare ögonblicksbilden.")
    areas = [a[1] for a in kp.areas()]
    data_pages = client.data_pages(kpis, areas, years)
    ou_pages: list[dict] = []
    if kp.organisatoriska_enheter:
        ou_kpis = list(dict.fromkeys(kp.jamforelse(r).kpi for o in kp.organisatoriska_enheter for r in o.jamforelser))
        ou_pages = client.oudata_pages(ou_kpis, [o.ou for o in kp.organisatoriska_enheter], years)
    n_values = sum(len(p["json"]["values"]) for p in data_pages + ou_pages)
    if n_values == 0:
        raise KoladaError(f"Kolada svarade utan värden för {', '.join(kpis)} åren {years[0]}–{years[-1]} "
                          f"({', '.join(areas)}); inget har ändrats. Finns åren publicerade än?")
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    return {
        "format": SNAPSHOT_FORMAT,
        "formatversion": SNAPSHOT_VERSION,
        "exempel": False,
        "kalla": KALLA,
        "hamtad": now.isoformat().replace("+00:00", "Z"),
        "bas_url": client.base_url,
        "fraga": {"kpi": kpis, "omraden": [{"roll": r, "id": i, "namn": n} for r, i, n in kp.areas()],
                  "ar": years, "ou": [o.ou for o in kp.organisatoriska_enheter]},
        "svar": {"kpi": kpi_pages, "municipality_groups": group_pages, "data": data_pages, "oudata": ou_pages},
    }


def snapshot_name(snapshot: dict) -> str:
    stamp = snapshot["hamtad"].replace("-", "").replace(":", "").replace("Z", "Z")
    return f"kolada-{stamp}.json"


def save_snapshot(snapshot: dict, directory: str | Path | None = None) -> Path:
    """Write a snapshot atomically as ``<directory>/kolada-<UTC time>.json``; returns the path."""
    directory = Path(directory) if directory is not None else SNAPSHOT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / snapshot_name(snapshot)
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(snapshot, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_snapshot(path: str | Path) -> dict:
    """A snapshot file, checked for its format; InputError naming the file otherwise."""
    path = Path(path)
    try:
        snap = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad_file(path, "ögonblicksbilden finns inte") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad_file(path, f"ögonblicksbilden är inte giltig JSON: {e}") from None
    if not isinstance(snap, dict) or snap.get("format") != SNAPSHOT_FORMAT:
        raise _bad_file(path, "ingen Kolada-ögonblicksbild från vu (fältet format saknas eller är fel)")
    if snap.get("formatversion") != SNAPSHOT_VERSION:
        raise _bad_file(path, f"formatversion {snap.get('formatversion')}; denna vu läser {SNAPSHOT_VERSION}")
    return snap


def snapshot_rows(snap: dict) -> tuple[list[tuple], list[tuple]]:
    """``(values, kpis)`` of a snapshot as rows.

    values: ``(kpi, omrade, typ, ar, kon, varde, antal, status)``, typ ``'kommun'`` or ``'ou'``;
    kpis: ``(id, titel, beskrivning, kon_uppdelad, enhet)``.
    """
    vals = []
    for typ, key, area in (("kommun", "data", "municipality"), ("ou", "oudata", "ou")):
        for page in snap["svar"].get(key, []):
            for rec in page["json"]["values"]:
                for v in rec.get("values") or []:
                    value = v.get("value")
                    vals.append((str(rec["kpi"]), str(rec.get(area, rec.get("out", ""))), typ, int(rec["period"]),
                                 str(v.get("gender") or "T"), None if value is None else float(value),
                                 v.get("count"), v.get("status") or ""))
    kpis = []
    for page in snap["svar"].get("kpi", []):
        for m in page["json"]["values"]:
            kpis.append((m["id"], m.get("title", ""), m.get("description", ""),
                         bool(m.get("is_divided_by_gender")), m.get("unit") or ""))
    return vals, kpis


_KOLADA_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS kolada_hamtningar (
        id INTEGER PRIMARY KEY, laddning INTEGER NOT NULL, fil VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        hamtad VARCHAR NOT NULL, exempel BOOLEAN NOT NULL, bas_url VARCHAR NOT NULL, fraga VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kolada_kpi (
        hamtning INTEGER NOT NULL, id VARCHAR NOT NULL, titel VARCHAR NOT NULL, beskrivning VARCHAR NOT NULL,
        kon_uppdelad BOOLEAN NOT NULL, enhet VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS kolada_varden (
        hamtning INTEGER NOT NULL, kpi VARCHAR NOT NULL, omrade VARCHAR NOT NULL, typ VARCHAR NOT NULL,
        ar INTEGER NOT NULL, kon VARCHAR NOT NULL, varde DOUBLE, antal INTEGER, status VARCHAR NOT NULL)""",
]


@dataclass(frozen=True)
class SnapshotLoad:
    path: Path
    hamtad: str
    values: int
    unchanged: bool

    def summary(self) -> str:
        head = f"{self.path.name}: Kolada-ögonblicksbild hämtad {self.hamtad}, {self.values} värden"
        return head + (": oförändrad – redan inläst" if self.unchanged else ": inläst och aktiv")


def load_snapshot(path: str | Path, store_path: str | Path, *, require_data: bool = True) -> SnapshotLoad:
    """Load a snapshot file into the store in one transaction and make it the active one.

    The store must exist (and, with ``require_data``, hold exports): a store
    holding only a Kolada snapshot would hide the sample. The load is logged in
    ``laddningar`` (typ ``kolada``) with scope ``('kolada', '')`` in ``omfang``,
    so the next snapshot replaces it and the store's fingerprint changes.
    """
    from vu_lib.data.store import _store_lock, _remember, _compute_fingerprint, connect, is_empty

    path = Path(path)
    store_path = Path(store_path)
    snap = read_snapshot(path)
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    vals, kpis = snapshot_rows(snap)
    if not store_path.exists() or (require_data and is_empty(store_path)):
        raise _bad_file(store_path, f"lagret har inga inlästa exportfiler än; läs in ögonblicksbilden {path} "
                                    f"efter vu ingest med: vu kolada load {path}")
    with _store_lock(store_path):
        with connect(store_path, read_only=False) as con:
            for sql in _KOLADA_SCHEMA:
                con.execute(sql)
            active = con.execute("""SELECT h.sha256 FROM kolada_hamtningar h JOIN laddningar l ON l.id = h.laddning
                                    WHERE l.aktiv""").fetchall()
            if active and active[0][0] == sha:
                return SnapshotLoad(path, snap["hamtad"], len(vals), True)
            con.execute("BEGIN TRANSACTION")
            try:
                _write_snapshot(con, path, snap, sha, vals, kpis)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        _remember(store_path, _compute_fingerprint(store_path))
    return SnapshotLoad(path, snap["hamtad"], len(vals), False)


def _write_snapshot(con: duckdb.DuckDBPyConnection, path: Path, snap: dict, sha: str, vals, kpis) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    load_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM laddningar").fetchall()[0][0]
    hid = con.execute("SELECT coalesce(max(id), 0) + 1 FROM kolada_hamtningar").fetchall()[0][0]
    years = sorted({v[3] for v in vals})
    span = f"{years[0]}\u2013{years[-1]}" if years else ""
    con.execute("DELETE FROM omfang WHERE typ = 'kolada'")
    con.execute("INSERT INTO laddningar VALUES (?, ?, 'kolada', ?, ?, ?, ?, true)",
                [load_id, path.name, sha, len(vals), span, now])
    con.execute("INSERT INTO omfang VALUES (?, 'kolada', 'kolada', '')", [load_id])
    con.execute("UPDATE laddningar SET aktiv = false WHERE aktiv AND id NOT IN (SELECT DISTINCT laddning FROM omfang)")
    con.execute("INSERT INTO kolada_hamtningar VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [hid, load_id, path.name, sha, snap["hamtad"], bool(snap.get("exempel")), snap.get("bas_url", ""),
                 json.dumps(snap.get("fraga", {}), ensure_ascii=False)])
    if kpis:
        con.executemany("INSERT INTO kolada_kpi VALUES (?, ?, ?, ?, ?, ?)", [(hid, *k) for k in kpis])
    if vals:
        con.executemany("INSERT INTO kolada_varden VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [(hid, *v) for v in vals])


@dataclass(frozen=True)
class KoladaData:
    """The active snapshot of a store, as the reports read it.

    Attributes
    ----------
    varden : DataFrame
        kpi, omrade, typ ('kommun' | 'ou'), ar, kon ('T' | 'K' | 'M'), varde, antal, status.
    kpi : DataFrame
        id, titel, beskrivning, kon_uppdelad, enhet.
    hamtad : str
        The fetch time, ISO 8601 UTC (``''`` when there is no snapshot).
    fil : str
    exempel : bool
        True for the sample's example values.
    """

    varden: pd.DataFrame
    kpi: pd.DataFrame
    hamtad: str = ""
    fil: str = ""
    exempel: bool = False

    @property
    def finns(self) -> bool:
        return bool(self.hamtad)

    @property
    def datum(self) -> dt.date | None:
        return dt.date.fromisoformat(self.hamtad[:10]) if self.hamtad else None


def empty_kolada() -> KoladaData:
    import pandas as pd

    return KoladaData(
        varden=pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("kpi", object), ("omrade", object), ("typ", object), ("ar", "int64"), ("kon", object),
            ("varde", "float64"), ("antal", "float64"), ("status", object))}),
        kpi=pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("id", object), ("titel", object), ("beskrivning", object), ("kon_uppdelad", bool), ("enhet", object))}))


def read_kolada(con: duckdb.DuckDBPyConnection) -> KoladaData:
    """The active snapshot in an open store; an empty :class:`KoladaData` when there is none."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "kolada_hamtningar" not in tables:
        return empty_kolada()
    row = con.execute("""SELECT h.id, h.hamtad, h.fil, h.exempel FROM kolada_hamtningar h
                         JOIN laddningar l ON l.id = h.laddning WHERE l.aktiv ORDER BY h.id DESC LIMIT 1""").fetchall()
    if not row:
        return empty_kolada()
    hid, hamtad, fil, exempel = row[0]
    varden = con.execute("""SELECT kpi, omrade, typ, CAST(ar AS BIGINT) AS ar, kon, varde,
                            CAST(antal AS DOUBLE) AS antal, status
                            FROM kolada_varden WHERE hamtning = ? ORDER BY kpi, typ, omrade, ar, kon""", [hid]).df()
    kpi = con.execute("SELECT id, titel, beskrivning, kon_uppdelad, enhet FROM kolada_kpi WHERE hamtning = ? ORDER BY id",
                      [hid]).df()
    return KoladaData(varden=varden, kpi=kpi, hamtad=hamtad, fil=fil, exempel=bool(exempel))


def snapshot_sha(path: Path = EXAMPLE_SNAPSHOT) -> str:
    """16 hex characters of the snapshot file's sha256 (keys the sample store)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except FileNotFoundError:
        return "ingen"


def update(kp: KoladaParams, client: KoladaClient, years: list[int], store_path: str | Path,
           directory: str | Path | None = None, *, now: dt.datetime | None = None) -> tuple[Path, SnapshotLoad | None]:
    """Fetch, save the snapshot file, and load it into the store: ``vu kolada fetch``.

    Every step must succeed before the next: a failed fetch writes no file and
    leaves the store as it was; the file is written before the store changes.

    Returns
    -------
    (path, load)
        ``load`` is None when the store holds no exports yet (the file is kept;
        ``vu kolada load`` loads it later).
    """
    from vu_lib.data.store import is_empty

    snap = fetch_snapshot(kp, client, years, now=now)
    path = save_snapshot(snap, directory)
    if is_empty(store_path):
        return path, None
    return path, load_snapshot(path, store_path)
