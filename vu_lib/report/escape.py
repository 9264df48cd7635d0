"""Escaping of data text for every output format, in one place.

Every text that comes from an export file or a commentary file (medel ids
and descriptions, ledger texts, controllers' comments, ...) is *data*: it must
reach the reader as the same characters, never as markup. Each output format
has its own function here, and every section, table and writer uses them:

=======================  ==============================================================
:func:`html`             text inside an HTML element or a quoted attribute value
:func:`markdown`         text woven into Markdown that goes to the HTML page (mistune)
                         and to the PDF (pandoc -> typst): every character that could
                         start markup is backslash-escaped, so it is printed as it is
:func:`xlsx`             a cell value for openpyxl: ``(value, as_text)``; text starting
                         with ``= + - @`` or a tab/CR is written as text (never a formula)
:func:`typst_string`     a typst string literal (``"..."``) for the renderer's own code
:func:`plain`            the text with line breaks and control characters made safe for
                         a single line (every function above starts from it)
=======================  ==============================================================

The functions are pure (no heavy imports), so any layer may call them.
"""
from __future__ import annotations

import html as _html
import re
from typing import Any

from vu_lib.core import text as _text

__all__ = ["plain", "html", "markdown", "markdown_paragraphs", "markdown_cell", "xlsx", "typst_string",
           "CONTROL_CHARS"]

#: The control characters no text value may hold (one definition, see vu_lib.core.text):
#: the readers refuse them; :func:`plain` turns line breaks and tabs into spaces and
#: drops the rest, for text that did not come through the readers.
CONTROL_CHARS = _text.CONTROL_CHARS
_LINE_BREAKS = re.compile("\r\n|[\t\n\r\u2028\u2029\x0b\x0c\x85]")

# ASCII punctuation that starts or ends markup in CommonMark, GFM, mistune or pandoc's
# Markdown (emphasis, code, links, raw HTML/attributes, entities, math, citations,
# super/subscript, tables, smart quotes, headings, list markers, bare-URL autolinks). Escaping any ASCII
# punctuation with a backslash is valid in all of them and shows the character itself.
_MD_ALWAYS = re.compile(r"""([\\`*_{}\[\]<>()#+!|$@~^&"':=%])""")
_MD_CELL = re.compile(r"""([\\`*_{}\[\]<>()#+!|$@~^&"'=%])""")
_URL_COLON = re.compile(r":(?=//)")
# '-' and '.' only where they could mean something: '--'/'...' (smart dashes and
# ellipsis), a list marker at the start ('- x', '1. x'); so 'MED-2026-03' stays readable.
_MD_DASHES = re.compile(r"(?<=-)-|-(?=-)|^-|(?<=\.)\.|\.(?=\.)|^(\d+)\.")


def plain(value: Any) -> str:
    """``value`` as one line of text: line breaks and tabs become spaces, other control characters go.

    ``None`` gives ``''``.
    """
    if value is None:
        return ""
    s = str(value)
    s = _LINE_BREAKS.sub(" ", s)
    return CONTROL_CHARS.sub("", s)


def html(value: Any) -> str:
    """Text for an HTML element or a quoted attribute (``& < > " '`` as entities)."""
    return _html.escape(plain(value), quote=True)


def markdown(value: Any) -> str:
    """Text for Markdown (the HTML page and the PDF): shown literally, never markup.

    >>> markdown('<img src=x onerror="alert(1)">')
    '\\\\<img src\\\\=x onerror\\\\=\\\\"alert\\\\(1\\\\)\\\\"\\\\>'
    """
    return _markdown(value, _MD_ALWAYS)


def _markdown(value: Any, always: re.Pattern) -> str:
    s = always.sub(r"\\\1", plain(value))
    if always is _MD_CELL:  # ':' only where it could start a bare-URL autolink ("http://")
        s = _URL_COLON.sub(r"\\:", s)

    def dash(m: re.Match) -> str:
        if m.group(1) is not None:  # '1.' at the start: escape the dot
            return m.group(1) + "\\."
        return "\\" + m.group(0)

    return _MD_DASHES.sub(dash, s)


def markdown_paragraphs(value: Any) -> str:
    """Multi-line text (a controller's comment) for Markdown: paragraphs kept, each as :func:`markdown`.

    Blank lines separate paragraphs; the lines of a paragraph are joined with spaces.
    """
    paragraphs = re.split(r"\n\s*\n", "" if value is None else str(value).strip())
    out = []
    for para in paragraphs:
        joined = " ".join(line.strip() for line in para.splitlines() if line.strip())
        if joined:
            out.append(markdown(joined))
    return "\n\n".join(out)


def markdown_cell(value: Any) -> str:
    """Text for a table cell, caption or note (as :func:`markdown`, ``|`` included), but ``:`` is
    escaped only before ``//`` (the autolink case), so "2025: samma period" reads as written."""
    return _markdown(value, _MD_CELL)


#: Leading characters that make a spreadsheet treat a cell as a formula (or that
#: are used to smuggle one past a check): '=', '+', '-', '@', tab, CR, LF.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_XLSX_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx(value: Any) -> tuple[Any, bool]:
    """A cell value for openpyxl and whether it must be written as text.

    Numbers, dates and None pass through. Text loses the control characters
    XML cannot hold; text that starts like a formula (:data:`_FORMULA_START`)
    is returned with ``as_text=True``: the writer then stores it as a string
    with Excel's quote prefix, so Excel shows the characters and never
    evaluates them.
    """
    if not isinstance(value, str):
        return value, False
    s = _XLSX_ILLEGAL.sub("", value)
    return s, s.startswith(_FORMULA_START)


def typst_string(value: Any) -> str:
    """A typst string literal holding ``value`` (control characters as spaces)."""
    s = re.sub(r"[\x00-\x1f\x7f]", " ", plain(value))
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
