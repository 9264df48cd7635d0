"""Report tables: a pandas frame with Swedish formats and headers.

A :class:`Table` displayed in a notebook gives a mime bundle with

``text/html``
    an accessible table (``<caption>``, ``<th scope>``, numbers right-aligned
    with tabular figures) for the HTML report and JupyterLab;
``text/markdown``
    a pipe table of the same formatted strings (and a pandoc ``Table:``
    caption) for the PDF path;
``text/plain``
    an aligned text table;
``application/vnd.vu.table+json``
    name, caption, columns and the raw values as records, so the batch can
    write every report table to an .xlsx without computing it again.

The strings in the HTML and Markdown are exactly those of :mod:`vu_lib.fmt`,
so a figure can be read back from the rendered HTML and PDF.

Examples
--------
>>> t = Table(df, formats={"belopp": "kr", "andel": "pct"},
...           headers={"vu": "Verksamhetsuppdrag", "belopp": "Ersättning"},
...           caption="Ersättning per VU, augusti 2026", name="Ersättning")
>>> t  # in a notebook cell
"""
from __future__ import annotations

import datetime as dt
import html
import math
import re
from typing import Any, Callable, Mapping

import pandas as pd

from vu_lib.report import _mimebundle, fmt

__all__ = ["Table", "TABLE_MIME", "TABLE_MIME_VERSION"]

TABLE_MIME = "application/vnd.vu.table+json"
TABLE_MIME_VERSION = 1

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]<>()#+!|$@~^])")


def _json_value(v: Any) -> Any:
    """A JSON-safe raw value (numpy and pandas scalars to Python, NaN to None)."""
    if fmt.is_missing(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(v, float) and math.isinf(v):
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, pd.Period):
        return str(v)
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


class Table:
    """A report table: data, column formats, Swedish headers and a caption.

    Parameters
    ----------
    data : pandas.DataFrame
        The values, one column per table column (reset a meaningful index
        first). Values stay raw (kronor, shares); formatting is done here.
    formats : mapping of column to spec, optional
        Format per column, see :func:`vu_lib.fmt.formatter`: ``'kr'``,
        ``'tkr'``, ``'mnkr'``, ``'pct'``, ``'num(1)'``, ``'count'``,
        ``'period'``, ``'text'``; a ``+`` prefix signs positive values
        (``'+tkr'`` for deviations). Default: ``'num(0)'`` for numeric
        columns, ``'text'`` otherwise.
    headers : mapping of column to str, optional
        Swedish column headers; default the column name.
    caption : str, optional
        Caption shown above the table (HTML ``<caption>``, PDF table caption).
    name : str, optional
        Short name, used as the sheet name when the batch writes the tables
        to Excel (see :attr:`sheet_name`).
    row_header : bool, default True
        The first column names the row (``<th scope="row">``).
    total_row : bool, default False
        The last row is a total (bold, rule above).
    note : str, optional
        A note shown under the table (source, definitions).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        formats: Mapping[str, str | Callable[[Any], str]] | None = None,
        headers: Mapping[str, str] | None = None,
        caption: str | None = None,
        name: str | None = None,
        *,
        row_header: bool = True,
        total_row: bool = False,
        note: str | None = None,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError("Table kräver en pandas.DataFrame")
        if data.columns.duplicated().any():
            raise ValueError("kolumnnamnen måste vara unika")
        self.data = data
        formats = dict(formats or {})
        unknown = set(formats) - set(data.columns)
        if unknown:
            raise KeyError(f"format för okända kolumner: {sorted(map(str, unknown))}")
        unknown = set(headers or {}) - set(data.columns)
        if unknown:
            raise KeyError(f"rubriker för okända kolumner: {sorted(map(str, unknown))}")
        self.formats: dict[Any, str | Callable[[Any], str]] = {}
        for col in data.columns:
            if col in formats:
                spec = formats[col]
            elif pd.api.types.is_bool_dtype(data[col]):
                spec = "text"
            elif pd.api.types.is_numeric_dtype(data[col]):
                spec = "num(0)"
            else:
                spec = "text"
            fmt.formatter(spec)  # validate early
            self.formats[col] = spec
        self.headers = {col: str((headers or {}).get(col, col)) for col in data.columns}
        self.caption = caption
        self.name = name
        self.row_header = row_header
        self.total_row = total_row
        self.note = note

    # ------------------------------------------------------------------ helpers
    @property
    def columns(self) -> list:
        """The column keys in order."""
        return list(self.data.columns)

    def is_numeric(self, col: Any) -> bool:
        """Whether a column holds numbers (right-aligned)."""
        return fmt.is_numeric_spec(self.formats[col])

    @property
    def sheet_name(self) -> str:
        """A valid Excel sheet name: :attr:`name` (or the caption), at most 31 characters."""
        raw = self.name or self.caption or "Tabell"
        clean = re.sub(r"\s+", " ", _SHEET_BAD.sub(" ", raw)).strip().strip("'") or "Tabell"
        return clean[:31]

    def formatted(self) -> pd.DataFrame:
        """The table as strings, exactly as shown in HTML and PDF.

        Returns
        -------
        pandas.DataFrame
            Same shape and columns as :attr:`data`, every cell a str.
        """
        out = {}
        for col in self.columns:
            f = fmt.formatter(self.formats[col])
            out[col] = [f(v) for v in self.data[col].tolist()]
        return pd.DataFrame(out, index=range(len(self.data)), columns=self.columns)

    def _spec_name(self, col: Any) -> str:
        spec = self.formats[col]
        return spec if isinstance(spec, str) else getattr(spec, "__name__", "egen")

    # ------------------------------------------------------------------ renderings
    def to_html(self) -> str:
        """An accessible HTML table.

        Returns
        -------
        str
            ``<table class="vu-table">`` with caption, ``scope`` on header
            cells, right-aligned numeric cells (inline style, so it also
            looks right in JupyterLab) and a ``<tfoot>`` total row.
        """
        esc = html.escape
        cells = self.formatted()
        num = [self.is_numeric(c) for c in self.columns]
        right = ' class="vu-num" style="text-align:right"'
        left = ' class="vu-label" style="text-align:left"'
        parts = ['<table class="vu-table" style="border-collapse:collapse;font-variant-numeric:tabular-nums">']
        if self.caption:
            parts.append(f'<caption style="text-align:left;font-weight:600">{esc(self.caption)}</caption>')
        parts.append("<thead><tr>")
        for col, isnum in zip(self.columns, num):
            parts.append(f'<th scope="col"{right if isnum else left}>{esc(self.headers[col])}</th>')
        parts.append("</tr></thead>")
        rows = cells.values.tolist()
        body, foot = (rows[:-1], rows[-1:]) if self.total_row and rows else (rows, [])

        def row_html(row: list[str]) -> str:
            out = ["<tr>"]
            for j, (val, isnum) in enumerate(zip(row, num)):
                attrs = right if isnum else left
                if j == 0 and self.row_header:
                    out.append(f'<th scope="row"{attrs}>{esc(val)}</th>')
                else:
                    out.append(f"<td{attrs}>{esc(val)}</td>")
            out.append("</tr>")
            return "".join(out)

        parts.append("<tbody>")
        parts.extend(row_html(r) for r in body)
        parts.append("</tbody>")
        if foot:
            parts.append('<tfoot class="vu-total" style="font-weight:700">')
            parts.extend(row_html(r) for r in foot)
            parts.append("</tfoot>")
        parts.append("</table>")
        if self.note:
            parts.append(f'<p class="vu-table-note">{esc(self.note)}</p>')
        return "".join(parts)

    @staticmethod
    def _md_cell(s: str) -> str:
        s = s.replace("\r", " ").replace("\n", " ")
        return _MD_ESCAPE.sub(r"\\\1", s)

    def to_markdown(self) -> str:
        """A pandoc/GFM pipe table of the formatted strings.

        Returns
        -------
        str
            Alignment row with ``---:`` for numeric columns, the total row in
            bold, the caption as a pandoc ``Table:`` line and the note as a
            paragraph.
        """
        cells = self.formatted()
        num = [self.is_numeric(c) for c in self.columns]
        header = [self._md_cell(self.headers[c]) for c in self.columns]
        rows = [[self._md_cell(v) for v in r] for r in cells.values.tolist()]
        if self.total_row and rows:
            rows[-1] = [f"**{v}**" if v else v for v in rows[-1]]
        widths = [max([3, len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]

        def line(vals: list[str]) -> str:
            padded = [v.rjust(w) if n else v.ljust(w) for v, w, n in zip(vals, widths, num)]
            return "| " + " | ".join(padded) + " |"

        sep = "|" + "|".join((("-" * (w + 1)) + ":") if n else (":" + "-" * (w + 1)) for w, n in zip(widths, num)) + "|"
        out = [line(header), sep] + [line(r) for r in rows]
        text = "\n".join(out)
        if self.caption:
            text += "\n\nTable: " + self._md_cell(self.caption)
        if self.note:
            text += "\n\n" + self._md_cell(self.note)
        return text + "\n"

    def to_text(self) -> str:
        """An aligned plain-text table (no-break spaces kept)."""
        cells = self.formatted()
        num = [self.is_numeric(c) for c in self.columns]
        header = [self.headers[c] for c in self.columns]
        rows = cells.values.tolist()
        widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]

        def line(vals: list[str]) -> str:
            return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(vals, widths, num)).rstrip()

        out = []
        if self.caption:
            out.append(self.caption)
        out.append(line(header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(r) for r in rows)
        if self.note:
            out.append(self.note)
        return "\n".join(out)

    def to_json(self) -> dict:
        """The payload of ``application/vnd.vu.table+json``.

        Returns
        -------
        dict
            ``version``, ``name``, ``sheet_name``, ``caption``, ``note``,
            ``total_row``, ``columns`` (``key``, ``header``, ``format``,
            ``numeric``) and ``data``: the raw values as records keyed by
            ``str(column)`` (NaN as null, dates as ISO strings).
        """
        keys = [str(c) for c in self.columns]
        records = [
            {k: _json_value(v) for k, v in zip(keys, row)}
            for row in self.data.itertuples(index=False, name=None)
        ]
        return {
            "version": TABLE_MIME_VERSION,
            "name": self.name,
            "sheet_name": self.sheet_name,
            "caption": self.caption,
            "note": self.note,
            "total_row": self.total_row,
            "columns": [
                {"key": k, "header": self.headers[c], "format": self._spec_name(c), "numeric": self.is_numeric(c)}
                for k, c in zip(keys, self.columns)
            ],
            "data": records,
        }

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = {
            "text/html": self.to_html(),
            "text/markdown": self.to_markdown(),
            "text/plain": self.to_text(),
            TABLE_MIME: self.to_json(),
        }
        return _mimebundle.select(bundle, include, exclude)

    def __repr__(self) -> str:
        return self.to_text()
