"""Page 1 of the rendered reports against ground truth worked out from the raw sample CSV files.

For AN-VB, AN-OMR-NV and the Leanlink overview at delår 2026-08 and 2026-10, the real
batch renders HTML and PDF; page 1 of the PDF (its text, pypdf) and the top of the HTML
(the Sammanfattning, before the first section after it) must state the result to date,
the one prognosis and the largest cause, equal to ``tests/ground_truth/expected_summary.json``
(``tests/ground_truth/compute_summary.py``: plain pandas on the CSV files, no vu_lib model).
Amounts are compared as the report writes them (mnkr with one decimal from 1 mnkr, tkr from
10 tkr, signed), formatted here independently.

The same run shows the sample's commentary (AN-VB 2026-10) in both formats, and a
commentary with ``<script>``, a typst ``#`` command and ``=1+1`` as plain text.
"""
from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "tests" / "ground_truth" / "expected_summary.json").read_text(encoding="utf-8"))
NBSP, MINUS = "\u00a0", "\u2212"
YTD = {"2026-08": "januari–augusti 2026", "2026-10": "januari–oktober 2026"}
REPORTS = ("AN-VB", "AN-OMR-NV", "Leanlink")
EVIL = "<script>alert('x')</script> #set page(fill: red) =1+1"

RUN = """
import sys
from pathlib import Path
from vu_lib.core.params import load_params
from vu_lib.publish.batch import Batch
from vu_lib.publish.cache import collect_inputs
from vu_lib.publish.plan import plan_run

out, store, period = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
params = load_params()
jobs = [j for j in plan_run(params, period) if j.name in ("AN-VB", "AN-OMR-NV", "Leanlink")]
info = {"report_title": "Delårsuppföljning", "namnder": dict(params.registry.namnder)}
res = Batch(jobs, label=period, out=out, inputs=collect_inputs(params, store), formats=["html", "pdf"],
            n_jobs=2, renderer="builtin", info=info).run()
sys.exit(res.exit_code)
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("summary")
    kommentarer = out / "kommentarer"
    shutil.copytree(ROOT / "kommentarer", kommentarer)
    (kommentarer / "2026-08").mkdir(exist_ok=True)
    (kommentarer / "2026-08" / "AN-OMR-NV.md").write_text(f"## Analys\n\n{EVIL}\n", encoding="utf-8")
    store = out / "ingen" / "vu.duckdb"  # does not exist: the sample
    env = {**os.environ, "VU_STORE": str(store), "VU_KOMMENTARER": str(kommentarer)}
    for period in EXPECTED:
        res = subprocess.run([sys.executable, "-c", RUN, str(out), str(store), period], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"körningen misslyckades:\n{res.stdout}\n{res.stderr}"
    return out


def _clean(s: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", s).strip()


def _pdf_text(raw: str) -> str:
    """typst hyphenates at line ends ("Le\xad\nanlink") and pypdf reads a hyphen as U+00AD: undo both."""
    raw = re.sub(r"(?<=[a-zåäö])[-\u00ad]\n(?=[a-zåäö])", "", raw)
    return _clean(raw.replace("\u00ad", "-"))


def pdf_page1(path: Path) -> str:
    from pypdf import PdfReader

    return _pdf_text(PdfReader(str(path)).pages[0].extract_text() or "")


def pdf_all(path: Path) -> str:
    from pypdf import PdfReader

    return _pdf_text("\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))


def html_top(path: Path) -> str:
    """The text of the HTML from the Sammanfattning heading to the next level-2 heading."""
    raw = path.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    i = body.find(">Sammanfattning<")
    assert i > 0, f"Sammanfattning saknas i {path}"
    j = body.find("<h2", i)
    return _clean(htmllib.unescape(re.sub(r"<[^>]+>", " ", body[i + 1: j if j > 0 else None])))


def belopp(x: str) -> str:
    """The report's running-text amount, signed: mnkr (1 decimal) from 1 mnkr, tkr from 10 tkr, else kr."""
    d = Decimal(x)
    sign = MINUS if d < 0 else "+" if d > 0 else ""
    a = abs(d)
    if a >= 1_000_000:
        return sign + str((a / 1_000_000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)).replace(".", ",") + NBSP + "mnkr"
    if a >= 10_000:
        n = int((a / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return sign + f"{n:,}".replace(",", NBSP) + NBSP + "tkr"
    n = int(a.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return sign + f"{n:,}".replace(",", NBSP) + NBSP + "kr"


def _check(text: str, period: str, name: str, where: str) -> None:
    e = EXPECTED[period][name]
    ytd = YTD[period]
    if name == "Leanlink":
        result = f"Resultat {ytd}, netto för de nio verksamhetsuppdragen: {belopp(e['resultat'])}"
    else:
        result = f"Resultat {ytd}: {belopp(e['resultat'])}"
    assert result in text, f"{where}: '{result}' saknas"
    prognos = f"Helårsprognos 2026: {belopp(e['prognos'])}"
    assert prognos in text, f"{where}: '{prognos}' saknas"
    # the first item of the list of causes (numbered "1." in the PDF's text, an <ol> item in the HTML)
    head = "Största orsaker till resultatet "
    assert head in text, f"{where}: '{head}' saknas"
    first = text[text.index(head) + len(head):]
    cause = re.match(r"(?:1\. )?" + re.escape(e["orsak"]) + r": [^:]*?:? ?" + re.escape(belopp(e["orsak_belopp"])), first)
    assert cause, f"{where}: största orsaken '{e['orsak']}' med {belopp(e['orsak_belopp'])} saknas"


@pytest.mark.parametrize("period", list(EXPECTED))
@pytest.mark.parametrize("name", REPORTS)
def test_page1_has_result_prognosis_and_largest_cause(reports, period, name):
    d = reports / period
    _check(pdf_page1(d / f"{name}.pdf"), period, name, f"{name}.pdf sida 1 ({period})")
    _check(html_top(d / f"{name}.html"), period, name, f"{name}.html överst ({period})")


def test_sample_commentary_in_html_and_pdf(reports):
    d = reports / "2026-10"
    for text in (html_top(d / "AN-VB.html"), pdf_all(d / "AN-VB.pdf")):
        assert "Controllerns analys." in text and "Underskottet ligger till största delen på korttidsplatserna." in text
        assert "Anpassa nattbemanningen på korttidsplatserna till 36 platser" in text
        assert "senast 2026-12-31" in text
    # AN-VB has its actions; AN-OMR-NV (deficit, no commentary) is marked in the index
    index = (d / "index.html").read_text(encoding="utf-8")
    row = lambda n: re.search(r"<tr><td class=\"id\">" + n + r"</td>.*?</tr>", index, re.S).group(0)  # noqa: E731
    assert "Åtgärder saknas" in row("AN-OMR-NV") and "Åtgärder saknas" not in row("AN-VB")


def test_commentary_markup_is_plain_text(reports):
    d = reports / "2026-08"
    raw = (d / "AN-OMR-NV.html").read_text(encoding="utf-8")
    assert "<script>alert('x')</script>" not in raw
    assert EVIL in html_top(d / "AN-OMR-NV.html")
    assert EVIL in pdf_page1(d / "AN-OMR-NV.pdf").replace("\u2019", "'")
