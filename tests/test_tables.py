"""vu_lib.report.tables.Table: formatted strings in every mime type, raw values in the JSON."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from vu_lib.report.tables import TABLE_MIME, Table


@pytest.fixture
def table():
    df = pd.DataFrame(
        {
            "vu": ["Nordväst", "Öppna | verksamheter", "Vårdbostad"],
            "belopp": [1234567.0, -2345678.0, np.nan],
            "andel": [0.943, 1.021, 0.5],
            "antal": [3, 12, 0],
        }
    )
    df.loc[len(df)] = ["Summa", -1111111.0, np.nan, 15]
    return Table(
        df,
        formats={"belopp": "+kr", "andel": "pct", "antal": "count"},
        headers={"vu": "Verksamhetsuppdrag", "belopp": "Resultat", "andel": "Andel", "antal": "Brukare"},
        caption="Resultat per VU, augusti 2026",
        name="Resultat/VU [augusti]",
        total_row=True,
        note="Källa: ekonomisystemet.",
    )


def test_formatted_strings(table):
    f = table.formatted()
    assert f["belopp"].tolist() == ["+1\u00a0234\u00a0567\u00a0kr", "\u22122\u00a0345\u00a0678\u00a0kr", "\u2013", "\u22121\u00a0111\u00a0111\u00a0kr"]
    assert f["andel"].tolist() == ["94,3\u00a0%", "102,1\u00a0%", "50,0\u00a0%", "\u2013"]
    assert f["antal"].tolist() == ["<5", "12", "0", "15"]
    assert f["vu"].tolist()[0] == "Nordväst"


def test_default_formats():
    t = Table(pd.DataFrame({"a": ["x"], "n": [1234.6], "i": [7]}))
    assert t.formats == {"a": "text", "n": "num(0)", "i": "num(0)"}
    assert t.formatted().iloc[0].tolist() == ["x", "1\u00a0235", "7"]


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells = []
        self._tag = None
        self.attrs = []

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td", "caption"):
            self._tag = (tag, dict(attrs))
            self.cells.append([tag, dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag in ("th", "td", "caption"):
            self._tag = None

    def handle_data(self, data):
        if self._tag and self.cells:
            self.cells[-1][2] += data


def test_html_is_accessible_and_exact(table):
    html = table.to_html()
    p = _Cells()
    p.feed(html)
    caption = [c for c in p.cells if c[0] == "caption"]
    assert caption and caption[0][2] == "Resultat per VU, augusti 2026"
    col_heads = [c for c in p.cells if c[0] == "th" and c[1].get("scope") == "col"]
    assert [c[2] for c in col_heads] == ["Verksamhetsuppdrag", "Resultat", "Andel", "Brukare"]
    row_heads = [c for c in p.cells if c[0] == "th" and c[1].get("scope") == "row"]
    assert [c[2] for c in row_heads] == ["Nordväst", "Öppna | verksamheter", "Vårdbostad", "Summa"]
    tds = [c for c in p.cells if c[0] == "td"]
    assert all("text-align:right" in c[1]["style"] for c in tds)
    assert "+1\u00a0234\u00a0567\u00a0kr" in [c[2] for c in tds]
    assert "<tfoot" in html and html.index("Summa") > html.index("<tfoot")
    assert "Källa: ekonomisystemet." in html


def test_html_escapes():
    t = Table(pd.DataFrame({"a": ["<b>&"]}), caption="x < y")
    html = t.to_html()
    assert "&lt;b&gt;&amp;" in html and "x &lt; y" in html


def test_markdown_pipe_table(table):
    md = table.to_markdown()
    lines = md.splitlines()
    assert lines[0].startswith("| Verksamhetsuppdrag")
    sep = lines[1]
    cols = sep.strip("|").split("|")
    assert cols[0].startswith(":") and all(c.endswith(":") for c in cols[1:])
    assert "\u22122\u00a0345\u00a0678\u00a0kr" in md
    assert "Öppna \\| verksamheter" in md  # a pipe in a cell is escaped
    assert "\\<5" in md  # '<' escaped for pandoc/CommonMark
    assert "**\u22121\u00a0111\u00a0111\u00a0kr**" in md  # total row bold
    assert "\nTable: Resultat per VU, augusti 2026\n" in md
    # all table lines have the same number of cells
    table_lines = [l for l in lines if l.startswith("|")]
    assert len({len(re.split(r"(?<!\\)\|", l)) for l in table_lines}) == 1


def test_markdown_through_pandoc_keeps_strings(table):
    pypandoc = pytest.importorskip("pypandoc")
    out = pypandoc.convert_text(table.to_markdown(), "plain", format="markdown")
    assert "\u22122\u00a0345\u00a0678\u00a0kr" in out or "\u22122 345 678 kr" in out.replace("\u00a0", " ")
    assert "<5" in out
    assert "Öppna | verksamheter" in out


def test_plain_text(table):
    txt = table.to_text()
    assert txt.splitlines()[0] == "Resultat per VU, augusti 2026"
    assert "94,3\u00a0%" in txt


def test_json_payload(table):
    payload = table.to_json()
    json.dumps(payload)  # serialisable
    assert payload["name"] == "Resultat/VU [augusti]"
    assert payload["sheet_name"] == "Resultat VU augusti"
    assert len(payload["sheet_name"]) <= 31
    assert payload["caption"] == "Resultat per VU, augusti 2026"
    assert [c["key"] for c in payload["columns"]] == ["vu", "belopp", "andel", "antal"]
    assert [c["header"] for c in payload["columns"]] == ["Verksamhetsuppdrag", "Resultat", "Andel", "Brukare"]
    assert [c["format"] for c in payload["columns"]] == ["text", "+kr", "pct", "count"]
    assert payload["data"][0] == {"vu": "Nordväst", "belopp": 1234567.0, "andel": 0.943, "antal": 3}
    assert payload["data"][2]["belopp"] is None
    assert payload["total_row"] is True


def test_json_dates_and_numpy():
    df = pd.DataFrame({"d": pd.to_datetime(["2026-08-31"]), "n": np.array([5], dtype="int64"), "p": [pd.Period("2026-08", "M")]})
    rec = Table(df).to_json()["data"][0]
    assert rec == {"d": "2026-08-31T00:00:00", "n": 5, "p": "2026-08"}
    json.dumps(rec)


def test_mimebundle(table):
    bundle = table._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/markdown", "text/plain", TABLE_MIME}
    assert set(table._repr_mimebundle_(include=["text/html"])) == {"text/html"}
    assert TABLE_MIME not in table._repr_mimebundle_(exclude=[TABLE_MIME])


def test_ipython_display_formatter_uses_bundle(table):
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(table)
    assert TABLE_MIME in data and "text/markdown" in data


def test_validation():
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(KeyError):
        Table(df, formats={"b": "kr"})
    with pytest.raises(KeyError):
        Table(df, headers={"b": "B"})
    with pytest.raises(ValueError):
        Table(df, formats={"a": "euro"})
    with pytest.raises(TypeError):
        Table([1, 2])
    assert Table(df).sheet_name == "Tabell"
