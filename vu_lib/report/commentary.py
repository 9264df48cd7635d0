"""The controller's commentary: one Markdown file per period and report.

``kommentarer/<period>/<report>.md`` (``<report>`` a VU id, ``AN``, ``SON`` or
``Leanlink``), written by the controller, included in the report (HTML and
PDF) and in the batch's cache key. The file has level-2 sections::

    ## Analys

    Fri text: varför resultatet avviker.

    ## Åtgärder

    - Vad: Se över bemanningen på korttidsplatserna
      Vem: Verksamhetschef vårdboende
      Senast: 2026-12-31

    ## Prognos

    Belopp: -6,5 mnkr
    Motivering: Varför controllerns prognos skiljer sig från modellens.

``Analys`` is free text; ``Åtgärder`` a list of actions (both may be empty,
as in the template ``vu kommentar`` writes), each with ``Vad``
(what), ``Vem`` (who) and ``Senast`` (by when, ``ÅÅÅÅ-MM-DD``); ``Prognos``
(optional) the controller's own full-year figure (kr, tkr or mnkr) with its
reason, shown beside the model's. A level-1 heading and HTML comments
(``<!-- … -->`` on lines of their own) are ignored. Anything else is refused
with a Swedish message naming the file and the line (:class:`CommentaryError`,
an :class:`~vu_lib.core.exceptions.InputError`).

The text is the user's: :func:`escape_text` makes every character literal
before it is put into the report's Markdown, so nothing in it is read as
Markdown, HTML, typst or a spreadsheet formula. (Issue 12 plans a shared
``vu_lib/report/escape.py``; until it exists, this is the one escaping
function for commentary.)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from vu_lib.core.exceptions import InputError, Problem

SECTIONS = ("Analys", "Åtgärder", "Prognos")
ACTION_KEYS = {"vad": "Vad", "vem": "Vem", "senast": "Senast"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$@~^=&:%\"'])")


def escape_text(text: str) -> str:
    """``text`` as literal Markdown: every Markdown, HTML, typst and formula character backslash-escaped.

    CommonMark and pandoc both read a backslash before any ASCII punctuation as
    that character itself, so ``<script>`` stays text in the HTML, ``#set``
    stays text in typst and ``=1+1`` cannot start a formula. Paragraphs (blank
    lines) are kept; the lines of a paragraph are joined with spaces.

    >>> escape_text("<b>=1+1</b>")
    '\\\\<b\\\\>\\\\=1\\\\+1\\\\</b\\\\>'
    """
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    out = []
    for para in paragraphs:
        joined = " ".join(line.strip() for line in para.splitlines() if line.strip())
        out.append(_MD_SPECIAL.sub(r"\\\1", joined))
    return "\n\n".join(p for p in out if p)


class CommentaryError(InputError):
    """A commentary file was refused."""


@dataclass
class Action:
    vad: str
    vem: str
    senast: dt.date
    rad: int


@dataclass
class Commentary:
    """A parsed commentary file."""

    path: Path
    analys: str = ""
    atgarder: list[Action] = field(default_factory=list)
    prognos: Decimal | None = None
    prognos_motivering: str = ""
    sections: tuple[str, ...] = ()

    @property
    def has_actions(self) -> bool:
        return bool(self.atgarder)


def kommentarer_dir() -> Path:
    """Where the commentary lives: ``$VU_KOMMENTARER`` or ``<project>/kommentarer``."""
    from vu_lib.core.params import PROJECT_ROOT

    env = os.environ.get("VU_KOMMENTARER")
    return Path(env) if env else PROJECT_ROOT / "kommentarer"


def commentary_path(report: str, period: str, directory: str | os.PathLike | None = None) -> Path:
    """``<directory>/<period>/<report>.md`` (default directory :func:`kommentarer_dir`)."""
    base = Path(directory) if directory not in (None, "") else kommentarer_dir()
    return base / str(period) / f"{report}.md"


def commentary_sha256(report: str, period: str, directory=None) -> str:
    """sha256 of the commentary file's bytes, ``''`` when there is none (for the batch's cache key)."""
    p = commentary_path(report, period, directory)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""


def _amount(s: str) -> Decimal:
    """``'-6,5 mnkr'``, ``'−480 tkr'``, ``'1 250 000 kr'`` or a bare number of kronor."""
    t = s.strip().lower().replace("\u2212", "-").replace("\u00a0", " ")
    mult = Decimal(1)
    for unit, m in (("mnkr", Decimal(1_000_000)), ("tkr", Decimal(1000)), ("kr", Decimal(1))):
        if t.endswith(unit):
            t, mult = t[: -len(unit)].strip(), m
            break
    t = t.replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", t):
        raise ValueError(s)
    return Decimal(t) * mult


def parse_commentary(path: str | os.PathLike, text: str | None = None) -> Commentary:
    """Read and validate a commentary file.

    Raises
    ------
    CommentaryError
        Listing every problem with the file and line: an unknown or repeated
        section, text outside a section, an action without what, who or by when,
        a date that is not a date, a prognosis without an amount or a reason.
    """
    path = Path(path)
    name = str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommentaryError([Problem(name, None, None, "filen är inte UTF-8")]) from None
    problems: list[Problem] = []

    def bad(line: int, msg: str) -> None:
        problems.append(Problem(name, line, None, msg))

    # (section, [(line_no, text)])
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] | None = None
    in_comment = False
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        s = line.strip()
        if in_comment:
            if "-->" in s:
                in_comment = False
            continue
        if s.startswith("<!--"):
            in_comment = "-->" not in s
            continue
        m = re.match(r"^(#{1,6})\s*(.*?)\s*#*$", s)
        if m and len(m.group(1)) == 1 and not blocks:
            continue  # the file's title
        if m and len(m.group(1)) == 2:
            title = m.group(2)
            match = next((x for x in SECTIONS if x.lower() == title.lower()), None)
            if match is None:
                bad(no, f"okänt avsnitt '{title}' (tillåtna avsnitt: {', '.join(SECTIONS)})")
                current = None
                continue
            if any(b[0] == match for b in blocks):
                bad(no, f"avsnittet '{match}' förekommer två gånger")
                current = None
                continue
            current = []
            blocks.append((match, no, current))
            continue
        if m:
            bad(no, f"rubriken '{s}' är inte tillåten här; avsnitten skrivs '## Analys', '## Åtgärder' och '## Prognos'")
            continue
        if current is None:
            if s:
                if not blocks and not problems:
                    bad(no, "text före första avsnittet; börja med '## Analys'")
            continue
        current.append((no, line))

    c = Commentary(path=path, sections=tuple(b[0] for b in blocks))
    for sec, sec_line, lines in blocks:
        if sec == "Analys":
            c.analys = "\n".join(t for _n, t in lines).strip()  # may be empty: a template not yet filled in
        elif sec == "Åtgärder":
            c.atgarder = _actions(lines, sec_line, bad)
        elif sec == "Prognos":
            _prognosis(c, lines, sec_line, bad)
    if problems:
        raise CommentaryError(problems)
    return c


def _actions(lines, sec_line: int, bad) -> list[Action]:
    items: list[tuple[int, dict[str, tuple[int, str]]]] = []
    for no, line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith(("- ", "* ")) or s in ("-", "*"):
            items.append((no, {}))
            s = s[1:].strip()
            if not s:
                continue
        elif not items:
            bad(no, "en åtgärd ska börja med '- Vad: …'")
            continue
        m = re.match(r"^([A-Za-zÅÄÖåäö]+)\s*:\s*(.*)$", s)
        if not m or m.group(1).lower() not in ACTION_KEYS:
            bad(no, f"okänd rad i åtgärden: '{s}' (en åtgärd har raderna Vad:, Vem: och Senast:)")
            continue
        key = m.group(1).lower()
        if key in items[-1][1]:
            bad(no, f"'{ACTION_KEYS[key]}' står två gånger i samma åtgärd")
        items[-1][1][key] = (no, m.group(2).strip())
    out = []
    for start, d in items:
        missing = [ACTION_KEYS[k] for k in ACTION_KEYS if not d.get(k, (0, ""))[1]]
        if len(missing) == 3:
            bad(start, "tom åtgärd: ange Vad, Vem och Senast")
            continue
        for k in missing:
            bad(d.get(k, (start, ""))[0], f"åtgärden saknar '{k}'")
        when = None
        if "senast" in d and d["senast"][1]:
            no, v = d["senast"]
            try:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                    raise ValueError
                when = dt.date.fromisoformat(v)
            except ValueError:
                bad(no, f"'Senast' ska vara ett datum ÅÅÅÅ-MM-DD, inte '{v}'")
        if not missing and when is not None:
            out.append(Action(d["vad"][1], d["vem"][1], when, start))
    return out


def _prognosis(c: Commentary, lines, sec_line: int, bad) -> None:
    fields: dict[str, tuple[int, str]] = {}
    for no, line in lines:
        s = line.strip()
        if not s:
            continue
        m = re.match(r"^(Belopp|Motivering)\s*:\s*(.*)$", s, flags=re.I)
        if m:
            fields[m.group(1).lower()] = (no, m.group(2).strip())
        elif "motivering" in fields:
            no0, v = fields["motivering"]
            fields["motivering"] = (no0, (v + " " + s).strip())
        else:
            bad(no, f"okänd rad i prognosen: '{s}' (skriv 'Belopp: …' och 'Motivering: …')")
    if "belopp" not in fields or not fields["belopp"][1]:
        bad(sec_line, "prognosen saknar 'Belopp' (t.ex. 'Belopp: -6,5 mnkr')")
    else:
        no, v = fields["belopp"]
        try:
            c.prognos = _amount(v)
        except (ValueError, InvalidOperation):
            bad(no, f"'Belopp' ska vara ett belopp som '-6,5 mnkr', '-480 tkr' eller '-480000', inte '{v}'")
    if "motivering" not in fields or not fields["motivering"][1]:
        bad(sec_line, "prognosen saknar 'Motivering': en egen prognos ska motiveras")
    else:
        c.prognos_motivering = fields["motivering"][1]


def load_commentary(report: str, period: str, directory=None) -> Commentary | None:
    """The commentary of ``report`` for ``period``, or None when there is no file."""
    p = commentary_path(report, period, directory)
    return parse_commentary(p) if p.is_file() else None


def check_period(period: str, directory=None) -> list[Path]:
    """Validate every commentary file of ``period``; the files checked.

    Raises
    ------
    CommentaryError
        With the problems of every refused file.
    """
    base = (Path(directory) if directory not in (None, "") else kommentarer_dir()) / str(period)
    files = sorted(base.glob("*.md")) if base.is_dir() else []
    problems = []
    for f in files:
        try:
            parse_commentary(f)
        except CommentaryError as e:
            problems.extend(e.problems)
    if problems:
        raise CommentaryError(problems)
    return files
