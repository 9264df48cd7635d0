"""Back tests: figures read from the rendered reports against hand-checked ground truth.

The reports are produced by the real batch (``vu run``) for delår 2026-08 of the
embedded sample: the VU reports AN-OMR-NV and AN-VB, and the SON overview (with
SON-OPPNA-VUX, which has the sample's timing difference in the transfers).
Every figure is read back from the HTML and from the PDF's text (pypdf), never
from vu_lib, and compared with ``tests/ground_truth/expected_2026-08.json``,
which ``tests/ground_truth/compute.py`` worked out from the raw sample CSV
files with plain pandas (see ``tests/ground_truth/README.md``).
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "ground_truth" / "expected_2026-08.json").read_text(encoding="utf-8"))
PERIOD = "2026-08"
NBSP = "\u00a0"
MINUS = "\u2212"
YTD = "januari–augusti 2026"
MONTHS = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti"]


# --------------------------------------------------------------------------- rendering
@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    """Run ``vu run`` twice into one directory: two VU reports, then the SON overview with SON-OPPNA-VUX."""
    out = tmp_path_factory.mktemp("backtest")
    store = out / "ingen" / "vu.duckdb"  # does not exist: the batch and the notebooks use the sample
    env = {**os.environ, "VU_STORE": str(store)}
    for extra in (["--vu", "AN-OMR-NV", "AN-VB"], ["--namnd", "SON", "--vu", "SON-OPPNA-VUX"]):
        cmd = [sys.executable, "-m", "vu_lib.cli", "run", "--period", PERIOD, "--out", str(out), "--store", str(store),
               "--to", "html,pdf", *extra]
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"vu run misslyckades:\n{res.stdout}\n{res.stderr}"
    d = out / PERIOD
    for name in ("AN-OMR-NV", "AN-VB", "SON"):
        for ext in ("html", "pdf"):
            assert (d / f"{name}.{ext}").is_file(), f"{name}.{ext} saknas i {d}"
    return d


# --------------------------------------------------------------------------- reading the documents
def _clean(s: str) -> str:
    """Collapse ordinary whitespace (line breaks of the PDF) but keep the no-break spaces of numbers."""
    return re.sub(r"[ \t\r\n]+", " ", s).strip()


class Html:
    """Tables (caption -> rows of cell texts) and plain text of a rendered HTML report."""

    def __init__(self, path: Path):
        raw = path.read_text(encoding="utf-8")
        self.tables: dict[str, list[list[str]]] = {}
        for m in re.finditer(r"<table class=\"vu-table\".*?</table>", raw, re.S):
            t = m.group(0)
            cap = re.search(r"<caption[^>]*>(.*?)</caption>", t, re.S)
            rows = []
            for tr in re.findall(r"<tr>(.*?)</tr>", t, re.S):
                cells = [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                         for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
                rows.append(cells)
            self.tables[htmllib.unescape(cap.group(1)) if cap else f"tabell {len(self.tables)}"] = rows
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
        self.text = _clean(htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))

    def row(self, caption: str, *labels: str) -> list[str]:
        """The cells of the first row of the table whose caption starts with ``caption`` and whose first cells are ``labels``."""
        cap = next(c for c in self.tables if c.startswith(caption))
        for r in self.tables[cap]:
            if r[: len(labels)] == list(labels):
                return r[len(labels):]
        raise AssertionError(f"raden {labels} saknas i tabellen '{cap}'")


NUM = r"[+\u2212-]?\d{1,3}(?:\u00a0\d{3})*(?:,\d+)?(?:\u00a0(?:kr|tkr|mnkr|%))?|\u2013"


class Pdf:
    """The text of a rendered PDF, with whitespace collapsed."""

    def __init__(self, path: Path):
        from pypdf import PdfReader

        raw = "\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages)
        # typst hyphenates Swedish words at line ends ("Le-\nanlink"): join them again; pypdf reads a
        # hyphen as U+00AD on some pages (the colophon on the last page): read it as a hyphen
        raw = re.sub(r"(?<=[a-zåäö])[-\u00ad]\n(?=[a-zåäö])", "", raw)
        self.text = _clean(raw.replace("\u00ad", "-"))

    def section(self, caption: str) -> str:
        i = self.text.find(caption)
        assert i >= 0, f"tabellrubriken '{caption}' saknas i PDF:en"
        nxt = self.text.find("Tabell ", i + len(caption))
        return self.text[i: nxt if nxt > 0 else None]

    def row(self, caption: str, *labels: str) -> list[str]:
        """The numbers that follow the row label(s) in the table after ``caption``."""
        sec = self.section(caption)
        m = re.search(re.escape(" ".join(labels)) + r" ((?:(?:" + NUM + r") ?)+)", sec)
        assert m, f"raden {labels} saknas efter '{caption}' i PDF:en"
        return re.findall(NUM, m.group(1))


@pytest.fixture(scope="module")
def docs(reports):
    out = {}
    for name in ("AN-OMR-NV", "AN-VB", "SON"):
        out[name] = (Html(reports / f"{name}.html"), Pdf(reports / f"{name}.pdf"))
    return out


# --------------------------------------------------------------------------- parsing figures
def value(cell: str) -> Decimal:
    s = cell.replace(NBSP, "").replace(MINUS, "-").replace(",", ".")
    s = re.sub(r"(tkr|mnkr|kr|%)$", "", s).strip()
    return Decimal(s)


def kr(x) -> int:
    return int(Decimal(str(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def both(docs, name: str, caption: str, *labels: str) -> list[list[Decimal]]:
    """The row's numbers from the HTML and from the PDF (the same values in both)."""
    h, p = docs[name]
    hv = [value(c) for c in h.row(caption, *labels) if re.fullmatch(NUM, c) and c != "\u2013"]
    pv = [value(c) for c in p.row(caption, *labels) if c != "\u2013"]
    assert hv == pv[: len(hv)], f"HTML {hv} och PDF {pv} skiljer sig för {labels} i '{caption}'"
    return [hv, pv]


# --------------------------------------------------------------------------- AN-VB
def test_an_vb_transfers_each_month_and_total(docs):
    e = EXPECTED["AN-VB"]
    cap = f"Månatliga överföringar {YTD}, Vårdbostad och korttidsplatser"
    for i, name in enumerate(MONTHS):
        fast, model, booked, diff = both(docs, "AN-VB", cap, f"{name} 2026")[0]
        assert fast == model == booked == e["overforing_manad"][f"2026-{i + 1:02d}"]
        assert diff == 0
    fast, model, booked, diff = both(docs, "AN-VB", cap, f"Summa {YTD}")[0]
    assert model == e["overforing_ack"] and booked == kr(e["bokfort_ack"]) and diff == 0


def test_an_vb_fixed_compensation_in_bridge(docs):
    vals = both(docs, "AN-VB", "Ersättningsbrygga 2026, Vårdbostad och korttidsplatser", "Ersättning 2026")[0]
    assert vals[-1] == EXPECTED["AN-VB"]["fast_ersattning_ar"]


def test_an_vb_result_year_to_date(docs):
    e = EXPECTED["AN-VB"]["resultat_tkr"]
    cap = f"Intäkter, kostnad och resultat per månad {YTD}, Vårdbostad och korttidsplatser"
    ers, ovr, kost, res, res_ack = both(docs, "AN-VB", cap, f"Summa {YTD}")[0]
    assert (ers, ovr, kost, res, res_ack) == (e["ersattning"], e["ovrig_intakt"], e["kostnad"], e["resultat"], e["resultat"])


def test_an_vb_occupancy(docs):
    e = EXPECTED["AN-VB"]["belaggningsgrad"]
    cap = f"Beläggningsgrad, Vårdbostad och korttidsplatser, {YTD}"
    for label, key in (("Somatik", "somatik"), ("Demens", "demens"), ("Korttidsplats", "korttid"), ("Hela uppdraget", "hela")):
        for avser, k in (("Månaden", "manad"), ("Hittills i år", "ack")):
            # the same period of 2023, 2024 and 2025 come first (issue 8), then 2026
            v = both(docs, "AN-VB", cap, label, avser, "procent")[0][3]
            assert v == Decimal(e[key][k]), (label, avser)


# --------------------------------------------------------------------------- AN-OMR-NV
def test_an_omr_nv_transfers(docs):
    e = EXPECTED["AN-OMR-NV"]
    cap = f"Månatliga överföringar {YTD}, Områdesansvar Nordväst"
    for i, name in enumerate(MONTHS):
        fast, rorlig, model, booked, diff = both(docs, "AN-OMR-NV", cap, f"{name} 2026")[0]
        assert model == kr(e["overforing_manad"][f"2026-{i + 1:02d}"]) == booked
        assert diff == 0
    fast, rorlig, model, booked, diff = both(docs, "AN-OMR-NV", cap, f"Summa {YTD}")[0]
    assert model == kr(e["overforing_ack"]) and booked == kr(e["bokfort_ack"]) and diff == 0


def test_an_omr_nv_rates(docs):
    e = EXPECTED["AN-OMR-NV"]["priser"]
    cap = "Rörliga priser 2026, Områdesansvar Nordväst"
    for label, key in (("Hemtjänst", "hemtjanst"), ("Hemsjukvård", "hemsjukvard"), ("Hemrehabilitering", "hemrehabilitering")):
        h, p = docs["AN-OMR-NV"]
        cells = h.row(cap, label)
        assert f"{e[key].replace('.', ',')}{NBSP}kr" in cells
        assert f"{e[key].replace('.', ',')}{NBSP}kr" in p.section(cap)


def test_an_omr_nv_result_year_to_date(docs):
    e = EXPECTED["AN-OMR-NV"]["resultat_tkr"]
    cap = f"Intäkter, kostnad och resultat per månad {YTD}, Områdesansvar Nordväst"
    ers, ovr, kost, res, res_ack = both(docs, "AN-OMR-NV", cap, f"Summa {YTD}")[0]
    assert (ers, ovr, kost, res) == (e["ersattning"], e["ovrig_intakt"], e["kostnad"], e["resultat"])


def test_an_omr_nv_home_care_hours(docs):
    e = EXPECTED["AN-OMR-NV"]["hemtjanst_timmar"]
    cap = f"Utförda hemtjänsttimmar, Områdesansvar Nordväst, {YTD}"
    for utf, key in (("Totalt", "totalt"), ("Leanlink", "leanlink"), ("Privata utförare", "privat")):
        for avser, k in (("Månaden", "manad"), ("Hittills i år", "ack")):
            vals = both(docs, "AN-OMR-NV", cap, "Hemtjänst", utf, avser, "timmar")[0]
            # the same period of 2023, 2024 and 2025 come first (issue 8), then 2026
            assert vals[3] == Decimal(e[key][k]), (utf, avser)
            if key == "leanlink":
                assert vals[4] == Decimal(e["budget"][k])  # jämförelse: budgeterade timmar


# --------------------------------------------------------------------------- SON overview
SON_NAMES = {"SON-OPPNA-BUF": "SoL, LSS barn, unga och familj", "SON-OPPNA-VUX": "SoL, LSS vuxna",
             "SON-BO-BU": "Bostad (SoL, LSS) barn och unga", "SON-BO-VUX": "Bostad (SoL, LSS) vuxna",
             "EKB": "Ensamkommande barn (EKB) (separat reglerad)"}


def test_son_result_per_vu_and_total(docs):
    e = EXPECTED["SON"]
    cap = f"Verksamhetsuppdragen {YTD}, Social- och omsorgsnämnden (tkr)"
    for vu, name in SON_NAMES.items():
        vals = both(docs, "SON", cap, name)[0]
        assert vals[4] == e["resultat_tkr"][vu], vu  # Fast helår, Ersättning, Medel, Kostnad, Resultat hittills
    vals = both(docs, "SON", cap, "Summa Social- och omsorgsnämnden")[0]
    t = e["summa_nämnd_tkr"]
    assert (vals[1], vals[3], vals[4]) == (t["ersattning"], t["kostnad"], t["resultat"])


def test_son_reconciliation_differences_named(docs):
    diffs = EXPECTED["SON"]["avvikelser_SON-OPPNA-VUX"]
    assert sorted(diffs) == ["2026-06", "2026-07"]
    h, p = docs["SON"]
    for month, amount in diffs.items():
        d = Decimal(amount)
        txt = f"{'+' if d > 0 else MINUS}{abs(d):,.2f}".replace(",", " ").replace(".", ",").replace(" ", NBSP) + f"{NBSP}kr"
        label = f"SoL, LSS vuxna i {'juni' if month.endswith('06') else 'juli'} 2026 ({txt})"
        assert label in h.text
        assert label in p.text


def test_trace_printed_in_every_report(docs):
    for name, (h, p) in docs.items():
        for text in (h.text, p.text):
            assert "Beräknad med modellversion 4.1 för perioden 2026-08" in text
            assert re.search(r"kodversion [0-9A-Za-z.+_-]+", text), name


# --------------------------------------------------------------------------- Kolada comparison (issue 11)
# Ground truth: the sample's snapshot file itself (Kolada's JSON as the API answers it), read here
# with plain json, never through vu_lib. KPI U21468 is the comparison of AN-VB's vårddygnskostnad
# and U28408 that of SON-BO-VUX's LSS gruppbostad in params/kolada.yaml.
SNAPSHOT = json.loads((ROOT / "vu_lib" / "data" / "kolada_exempel.json").read_text(encoding="utf-8"))
KALLA = "Källa: Kolada (RKA), CC BY 4.0. Ögonblicksbild hämtad 2 november 2026"


def _snapshot_values(kpi: str, area: str, gender: str = "T") -> dict[int, Decimal]:
    out = {}
    for page in SNAPSHOT["svar"]["data"]:
        for r in page["json"]["values"]:
            if r["kpi"] == kpi and r["municipality"] == area:
                for v in r["values"]:
                    if v["gender"] == gender:
                        out[int(r["period"])] = Decimal(str(v["value"]))
    return out


def _sv(d: Decimal) -> str:
    """Whole number, Swedish: no-break space between thousands."""
    return f"{int(d):,}".replace(",", NBSP)


def test_kolada_comparison_in_vu_report(docs):
    cap = "Kostnad per dygn i särskilt boende, äldreomsorg, Vårdbostad och korttidsplatser"
    h, p = docs["AN-VB"]
    for label, area in (("Linköping", "0580"), ("Liknande kommuner, äldreomsorg", "G124026"), ("Riket", "0000")):
        want = _snapshot_values("U21468", area)
        assert sorted(want) == [2021, 2022, 2023, 2024, 2025]
        expected = [_sv(want[y]) for y in sorted(want)]
        assert h.row(cap, label)[:5] == expected, label  # 2021..2025, then 2026 (t.o.m. aug): '–'
        assert p.row(cap, label)[:5] == expected, label
    # latest year in the narrative, Swedish format with the unit
    lk = _snapshot_values("U21468", "0580")[2025]
    assert f"År 2025 var Koladas värde för Linköping {_sv(lk)}{NBSP}kr/dygn" in h.text
    for text in (h.text, p.text):
        assert KALLA in text
        assert "Skillnad i definition:" in text and "Koladas kostnad per brukare (KPB)" in text
    # the gender split of the survey KPI (kvinnor/män rows)
    k = _snapshot_values("U23471", "0580", "K")
    assert h.row("Brukarbedömning särskilt boende", "Linköping, kvinnor")[:5] == [_sv(k[y]) for y in sorted(k)]


def test_kolada_comparison_in_overview(docs):
    h, p = docs["SON"]
    cap = "Jämförelse med Kolada, senaste år, Social- och omsorgsnämnden"
    row = h.row(cap, "Kostnad per brukare i LSS gruppbostad, vuxna")
    want = [_snapshot_values("U28408", a)[2025] for a in ("0580", "G124055", "0000")]
    assert row[0] == "SON-BO-VUX" and row[1] == "2025"
    assert row[3:6] == [f"{_sv(v)}{NBSP}kr/brukare" for v in want]
    for v in want:
        assert _sv(v) in p.section(cap)
    for text in (h.text, p.text):
        assert KALLA in text
    # only SON's comparisons in SON's overview
    assert "Kostnad per dygn i särskilt boende" not in h.text
