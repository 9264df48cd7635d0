"""Reading one export file: decoding, structure, values and cross-references.

:func:`read_file` reads one CSV or ``.xlsx`` export (see :mod:`vu_lib.contract`
for the four kinds) and returns a :class:`ParsedFile` with a normalized frame,
or raises :class:`~vu_lib.exceptions.InputError` listing every problem found,
each naming the file, the row as the user sees it (CSV: the header is row 1;
``.xlsx``: the sheet row) and the column.

Decisions beyond the contract's docstring:

* Numbers: decimal comma; thousands separated by space, no-break space or
  narrow no-break space (in groups of three) or not at all; ``-`` or ``−``.
  **A dot is always refused**, both as decimal point (``1234.50``) and as
  thousands separator (``1.234,50``): Swedish exports never use it, and
  ``1.234`` is ambiguous. Amounts in kronor may have at most two decimals.
* Values of coded columns (``kodtyp``, ``vu``, ``kluster``, ``matt``,
  ``utforare``, ``typ``, ``utbildningsniva``) are compared case-insensitively
  and stored in their canonical spelling; surrounding spaces are removed from
  every value.
* Blank lines (or lines with only separators) are skipped.
* Quotes, as in Python's csv module: a value that starts with ``"`` is quoted (it
  may hold ``;``, line breaks and ``""`` for a quote) and must end with ``"``; a
  ``"`` elsewhere in a value is a character like any other (``Skärm 24" Dell``).
  A quote left open is refused at the row where it opens, never read as one long
  value.
* UTF-16 is refused with a hint; a file that decodes as UTF-8 is read as
  UTF-8, otherwise as Windows-1252.

Speed: the checks run once per distinct value (``pandas.factorize``) or as
numpy operations, so a CSV huvudbok of a million rows reads in a few seconds.
"""
from __future__ import annotations

import array
import csv
import datetime as dt
import difflib
import hashlib
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from vu_lib.data.contract import KINDS, MEASURES, Column, FileKind
from vu_lib.core.exceptions import InputError, Problem
from vu_lib.core.text import CONTROL_CHARS, control_message, non_ascii_digit_message
from vu_lib.core.params import Params, load_params

#: At most this many problems are listed per file; the rest are counted.
MAX_LISTED = 50

CSV_SUFFIXES = (".csv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")

_BOM = b"\xef\xbb\xbf"
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# UTF-8 read as Windows-1252 (or Latin-1): 'Ã' followed by what was the second byte.
_MOJIBAKE = re.compile(
    "[ÃÂ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|\ufffd"
)
_MOJIBAKE_LEADS = ("Ã", "Â", "\ufffd")  # cheap pre-check: str.__contains__ is fast, the regex scan is not
_SPACES = (" ", "\u00a0", "\u202f")
_NUMBER_RE = r"[-\u2212]?(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)(?:,(\d+))?"
_NUMBER = re.compile(_NUMBER_RE, re.A)  # re.A: \d is 0-9 only (not full-width digits)
# Lines of a newline-joined column that are NOT valid numbers (any decimals / at most two).
_INVALID_NUMBER_LINE = re.compile(r"^(?![ \t]*%s[ \t]*$).*$" % _NUMBER_RE.replace(r"(\d+)", r"\d+"), re.M | re.A)
_INVALID_KR_LINE = re.compile(r"^(?![ \t]*%s[ \t]*$).*$" % _NUMBER_RE.replace(r"(\d+)", r"\d{1,2}"), re.M | re.A)
_DOT_DECIMAL = re.compile(r"[-\u2212]?\d+\.\d+", re.A)
_DOT_THOUSANDS = re.compile(r"[-\u2212]?\d{1,3}(?:\.\d{3})+(?:,\d+)?", re.A)
_PERIOD = re.compile(r"(\d{4})-?(\d{2})", re.A)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.A)

#: Format of coded columns: (kind, column) -> (allowed numbers of digits, how to say it).
#: Unit codes accept 5 digits at this stage so that the registry check can say
#: "that is a komplement_kod" instead of a bare format error.
CODE_DIGITS: dict[tuple[str, str], tuple[tuple[int, ...], str]] = {
    ("huvudbok", "kod"): ((5, 6), "6 siffror (id_kod) eller 5 siffror (komplement_kod)"),
    ("huvudbok", "konto"): ((4,), "4 siffror"),
    ("volymer", "enhet"): ((5, 6), "6 siffror (enhetens id_kod)"),
    ("bemanning", "kod"): ((5, 6), "6 siffror (enhetens id_kod)"),
}


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class ParsedFile:
    """One export file, read and validated.

    Attributes
    ----------
    path : Path
        The file as given.
    kind : FileKind
        Which of the four kinds it is.
    frame : pandas.DataFrame
        The rows, columns in contract order, values normalized: periods
        ``'YYYY-MM'``, codes in canonical spelling, numbers as float, absent
        optional columns and empty optional cells as ``''``.
    rows : int
        Number of data rows.
    sha256 : str
        Hex digest of the file's bytes.
    periods : list of str
        Sorted distinct months of the file.
    encoding : str
        ``'utf-8'``, ``'utf-8-sig'``, ``'cp1252'`` or ``'xlsx'``.
    """

    path: Path
    kind: FileKind
    frame: pd.DataFrame = field(repr=False)
    rows: int
    sha256: str
    periods: list[str]
    encoding: str = ""
    rownums: np.ndarray = field(default=None, repr=False, compare=False)
    """Row number in the file (as in problems) of each frame row."""
    delomfang: str = ""
    """Part of a period the file replaces besides kodtyp: ``'BUDGET'`` for a SIE file's
    budgeted volumes (only the budget measures of ``volymer``), else ``''`` (everything)."""

    @property
    def period_range(self) -> str:
        """``'2026-01–2026-08'``, or the single month, or ``''`` for no rows."""
        if not self.periods:
            return ""
        first, last = self.periods[0], self.periods[-1]
        return first if first == last else f"{first}\u2013{last}"


# --------------------------------------------------------------------------- problems
class _Problems:
    """Collects problems of one file; keeps the listing short, counts the rest."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []
        self.hidden = 0

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.items.append(Problem(self.file, row, column, message))

    def add_rows(self, rownums: np.ndarray, idx: np.ndarray, column: str | None,
                 message: str | Callable[[int], str]) -> None:
        """Add one problem per row index in ``idx`` (positions into ``rownums``)."""
        for i in idx[:MAX_LISTED]:
            text = message(int(i)) if callable(message) else message
            self.add(int(rownums[i]), column, text)
        self.hidden += max(0, len(idx) - MAX_LISTED)

    def __bool__(self) -> bool:
        return bool(self.items) or self.hidden > 0

    def listing(self) -> list[Problem]:
        """The problems in row order, at most :data:`MAX_LISTED` plus a count line."""
        items = sorted(self.items, key=lambda p: (p.row or 0, p.column or ""))
        rest = self.hidden + max(0, len(items) - MAX_LISTED)
        items = items[:MAX_LISTED]
        if rest:
            items.append(Problem(self.file, None, None,
                                 f"ytterligare {_fmt_int(rest)} fel (bara de första {MAX_LISTED} visas)", rest))
        return items


def _fmt_int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


# --------------------------------------------------------------------------- raw tables
@dataclass
class _Raw:
    """A table as text cells: header, body (positional columns) and row numbers."""

    header: list[str]
    body: pd.DataFrame
    rownums: np.ndarray
    encoding: str
    crlf_values: bool = False
    """Some value may hold CRLF (a quoted value over several lines): made LF, as the exact reader does."""


def _row_of(data, pos: int, newline) -> int:
    return data.count(newline, 0, pos) + 1


def _require_file(path: Path, probs: _Problems) -> None:
    """Refuse (``InputError``) a path that is no file: missing, or a folder."""
    if not path.exists():
        probs.add(None, None, "filen finns inte")
    elif path.is_dir():
        probs.add(None, None, "är en katalog, inte en fil")
    else:
        return
    raise InputError(probs.listing())


def _decode(data: bytes, probs: _Problems) -> tuple[str, str] | None:
    """Decode strictly: UTF-8 (with or without BOM), else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        probs.add(None, None, "filen är kodad som UTF-16, vilket inte stöds; exportera som UTF-8 eller Windows-1252")
        return None
    if data.startswith(_BOM):
        try:
            return data[len(_BOM):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as e:
            row = _row_of(data, e.start + len(_BOM), b"\n")
            probs.add(row, None, f"filen börjar med UTF-8-märke (BOM) men byte 0x{data[e.start + 3]:02X} "
                                 "är inte giltig UTF-8; exportera om filen som UTF-8")
            return None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        mixed = _mixed_encoding(data)
        if mixed:
            probs.add(None, None, mixed)
            return None
        return text, "cp1252"
    bad = list(_CP1252_UNDEFINED.finditer(data))
    row, last = 1, 0
    for m in bad[:MAX_LISTED]:
        row += data.count(b"\n", last, m.start())
        last = m.start()
        probs.add(row, None, f"okänd teckenkodning: byte 0x{m.group()[0]:02X} är varken giltig UTF-8 eller "
                             "Windows-1252; exportera som UTF-8 eller Windows-1252")
    probs.hidden += max(0, len(bad) - MAX_LISTED)
    return None


_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]+")


def _mixed_encoding(data: bytes, examples: int = 5) -> str | None:
    """A message when some lines are UTF-8 and others Windows-1252 (the file is not UTF-8).

    Each run of non-ASCII bytes is either valid UTF-8 (``Ã¥`` read as Windows-1252)
    or not; a file with both kinds was put together from two exports. Naming rows of
    both kinds points at the cause instead of calling the UTF-8 rows garbled.
    """
    utf8_rows: list[int] = []
    cp_rows: list[int] = []
    n_utf8 = n_cp = 0
    row, last = 1, 0
    for m in _NON_ASCII_RUN.finditer(data):
        row += data.count(b"\n", last, m.start())
        last = m.start()
        try:
            m.group().decode("utf-8")
            kind_rows, is_utf8 = utf8_rows, True
        except UnicodeDecodeError:
            kind_rows, is_utf8 = cp_rows, False
        if kind_rows and kind_rows[-1] == row:
            continue
        if is_utf8:
            n_utf8 += 1
        else:
            n_cp += 1
        if len(kind_rows) < examples:
            kind_rows.append(row)
    if not utf8_rows or not cp_rows:
        return None

    def rows_text(rows: list[int], n: int) -> str:
        text = ", ".join(map(str, rows))
        return text + (f" (och {_fmt_int(n - len(rows))} rader till)" if n > len(rows) else "")

    return (f"filen blandar teckenkodningar: rad {rows_text(utf8_rows, n_utf8)} är UTF-8 men rad "
            f"{rows_text(cp_rows, n_cp)} är Windows-1252 (filen är troligen ihopsatt av två exporter); "
            "exportera om hela filen i en och samma kodning, UTF-8 eller Windows-1252")


def _separator_problem(header_line: str) -> str | None:
    """A message when the header does not use ';' but another separator."""
    if ";" in header_line:
        return None
    counts = {",": header_line.count(","), "\t": header_line.count("\t"), "|": header_line.count("|")}
    sep, n = max(counts.items(), key=lambda kv: kv[1])
    if n == 0:
        return None
    shown = "tabb" if sep == "\t" else f'"{sep}"'
    return f"filen verkar använda {shown} som avgränsare; exportera med semikolon (;)"


#: The file is searched this many bytes at a time, so no byte mask is as large as the file.
_BLOCK = 1 << 24


def _positions(arr: np.ndarray, byte: int) -> np.ndarray:
    """Positions of ``byte`` in ``arr`` (found block by block)."""
    parts = [np.flatnonzero(arr[i:i + _BLOCK] == byte) + i for i in range(0, len(arr), _BLOCK)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _per_line(arr: np.ndarray, byte: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many times ``byte`` occurs on each line."""
    pos = _positions(arr, byte)
    return np.searchsorted(pos, ends) - np.searchsorted(pos, starts)


def _line_bounds(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nl = _positions(arr, 10)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(arr)]))
    if starts[-1] == len(arr):  # the file ends with a newline
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _read_csv(data: bytes, probs: _Problems) -> _Raw | None:
    if b"\n" not in data and b"\r" in data:
        # Line ends with CR only (classic Mac OS): each CR ends a line, so the row
        # numbers stay those the user sees.
        data = data.replace(b"\r", b"\n")
    decoded = _decode(data, probs)
    if decoded is None:
        return None
    text, encoding = decoded
    if not text.strip():
        probs.add(None, None, "filen är tom")
        return None
    if "\x00" in text:
        probs.add(None, None, "filen innehåller NUL-tecken; är det verkligen en CSV-fil (UTF-16 stöds inte)?")
        return None
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip(" \t;"):
        probs.add(1, None, "rad 1 ska vara rubrikraden med kolumnnamnen men är tom")
        return None
    sep_msg = _separator_problem(first_line)
    if sep_msg:
        probs.add(1, None, sep_msg)
        return None
    body = data[len(_BOM):] if encoding == "utf-8-sig" else data
    if "\r" in text and _lone_cr(text, probs):
        return None
    mojibake = any(c in text for c in _MOJIBAKE_LEADS)
    quoted = '"' in text
    # Memory: the decoded text is not needed to parse the bytes; free it before pandas
    # builds its columns, and decode again only to name mojibake.
    del text, decoded
    raw = _read_csv_fast(body, encoding, probs, quoted)
    if raw is _SLOW:
        raw = _read_csv_quoted(body, encoding, probs)
    if raw is not None:
        raw.encoding = encoding
        if mojibake:
            _check_mojibake(body.decode(encoding.replace("-sig", "")), raw, probs)
    return raw


_LONE_CR = re.compile("\r(?!\n)")


def _lone_cr(text: str, probs: _Problems) -> bool:
    """Refuse carriage returns that do not end a line (CR inside a line of an LF or CRLF file).

    Both CSV parsers would take such a CR as a line end and shift the row numbers;
    it is a control character in a value (see vu_lib.core.text), named at its row
    and column like any other.
    """
    found = 0
    header = None
    row, last = 1, 0
    for m in _LONE_CR.finditer(text):
        row += text.count("\n", last, m.start())
        last = m.start()
        if header is None:
            header = [h.strip().strip("\ufeff").lower() for h in text.split("\n", 1)[0].rstrip("\r").split(";")]
        found += 1
        if found > MAX_LISTED:
            probs.hidden += 1
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        j = text.count(";", line_start, m.start())
        probs.add(row, header[j] if j < len(header) and header[j] else None, control_message("\r"))
    return found > 0


def _field_count_message(n: int, expected: int) -> str:
    if n < expected:
        return f"raden har {n} fält men rubrikraden har {expected} (avkortad rad?)"
    return (f"raden har {n} fält men rubrikraden har {expected} "
            "(semikolon i ett värde? omge då värdet med citattecken)")


#: Returned by :func:`_read_csv_fast` when the file needs the exact, slower reader.
_SLOW = object()


def _read_csv_fast(body: bytes, encoding: str, probs: _Problems, quoted: bool = False):
    """Fast path: field counts with numpy, values with pandas' C parser, on the bytes.

    Handles every file the exact reader would accept: the lines that hold a quote
    are read with the csv module (:func:`_quoted_records`), which gives their field
    counts and groups the lines of a value over several lines; the values are
    parsed by pandas, whose C parser reads quotes as the csv module does (special
    only at the start of a field). A quote left open, text after a closing quote,
    or a value over several lines that may have swallowed rows returns
    :data:`_SLOW`: :func:`_read_csv_quoted` then reads the file and names the row
    where the quote opens. Memory: no Python object per line besides pandas'
    values; the byte masks are made block by block.
    """
    enc = encoding.replace("-sig", "")
    arr = np.frombuffer(body, np.uint8)
    starts, ends = _line_bounds(arr)
    counts = _per_line(arr, 59, starts, ends)
    records = None  # line index where each record starts, when some record spans lines
    empty = np.zeros(len(starts), dtype=bool)  # records with quotes whose values are all blank
    if quoted:
        cont = _quoted_records(body, enc, starts, ends, counts, _per_line(arr, 34, starts, ends) > 0, empty)
        if cont is _SLOW:
            return _SLOW
        if cont.any():
            records = np.flatnonzero(~cont)
            last = np.concatenate((records[1:] - 1, [len(starts) - 1]))
            starts, ends, counts, empty = starts[records], ends[last], counts[records], empty[records]
            del last
        del cont
    del arr
    expected = int(counts[0])
    # Candidates for blank lines: wrong field count, or short enough to hold only separators.
    odd = np.flatnonzero((counts != expected) | (ends - starts <= 2 * expected + 3) | empty)
    blank: list[int] = []
    bad: list[int] = []
    for i in odd[odd > 0]:
        line = body[starts[i]:ends[i]]
        if empty[i] or (b'"' not in line and _blank(line.decode(enc).split(";"))):
            blank.append(int(i))
        elif counts[i] != expected:
            bad.append(int(i))
    del empty
    for i in bad[:MAX_LISTED]:
        row = (i if records is None else int(records[i])) + 1
        probs.add(row, None, _field_count_message(int(counts[i]) + 1, expected + 1))
    probs.hidden += max(0, len(bad) - MAX_LISTED)
    if blank or bad:
        keep = np.setdiff1d(np.arange(len(starts)), np.array(blank + bad, dtype=np.int64))
        body = b"\n".join(body[starts[i]:ends[i]] for i in keep)
        linenos = keep + 1
    else:
        linenos = np.arange(1, len(starts) + 1)
    if records is not None:  # row numbers are those of the lines where the records start
        linenos = records[linenos - 1] + 1
    del starts, ends, counts, odd
    frame = pd.read_csv(io.BytesIO(body), sep=";", header=None, dtype=object, na_filter=False,
                        skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
                        quotechar='"', doublequote=True, encoding=enc)
    if len(frame) != len(linenos):  # pragma: no cover - defensive: records are lines here
        return _SLOW
    header = [str(h) for h in frame.iloc[0].tolist()]
    frame = frame.iloc[1:].reset_index(drop=True)
    raw = _Raw(header, frame, linenos[1:], encoding)
    raw.crlf_values = records is not None  # see _validate: CRLF inside a value becomes LF
    return raw


def _swallows_rows(rec: list[str], width: int) -> bool:
    """Whether a record read over several lines may hold rows swallowed by an open quote.

    It does when its field count is not the header's, or when a value's later lines
    hold a separator: then the quote that opens the value was most likely never meant
    to be closed there, and the exact reader refuses the record.
    """
    return len(rec) != width or any(";" in c.split("\n", 1)[-1] for c in rec if "\n" in c)


def _blank(cells: Iterable[str]) -> bool:
    """Whether a record holds nothing but white space (it is skipped, like an empty line)."""
    return not any(c.strip() for c in cells)


def _quoted_records(body: bytes, encoding: str, starts: np.ndarray, ends: np.ndarray,
                    counts: np.ndarray, has_quote: np.ndarray, empty: np.ndarray):
    """Read the lines that hold a quote with the csv module, in order.

    A quote opens a quoted value only at the start of a field; elsewhere it is a
    character like any other (``Skärm 24" Dell``, ``Lön 5"``), as in the csv module
    and pandas. A line whose quoted value is still open at its end continues on the
    next lines: the csv module reads on from that line until the record ends.

    Parameters
    ----------
    body : bytes
        The file without BOM.
    encoding : str
        ``'utf-8'`` or ``'cp1252'``.
    starts, ends : numpy.ndarray
        Start and end (position of the LF) of each line.
    counts : numpy.ndarray
        Separators on each line; set, for each record read here, to its fields less one.
    has_quote : numpy.ndarray
        Whether each line holds a ``"``.
    empty : numpy.ndarray
        Set to True for each record read here that is blank (:func:`_blank`, e.g. ``"";""``).

    Returns
    -------
    numpy.ndarray or object
        Which lines continue a record begun on an earlier line, or :data:`_SLOW` when
        the exact reader must decide: a quote left open to the end, text after a
        closing quote, or a record over several lines that may have swallowed rows
        (:func:`_swallows_rows`).
    """
    cont = np.zeros(len(starts), dtype=bool)
    done = -1  # the last line read so far
    for first in np.flatnonzero(has_quote).tolist():
        if first <= done:
            continue
        lines = (body[starts[i]:ends[i] + 1].decode(encoding) for i in range(first, len(starts)))
        reader = csv.reader(lines, delimiter=";", strict=True)
        try:
            rec = next(reader)
        except (csv.Error, StopIteration):
            return _SLOW
        done = first + reader.line_num - 1
        if done > first:
            width = len(rec) if first == 0 else int(counts[0]) + 1
            if _swallows_rows([c.replace("\r\n", "\n") for c in rec], width):
                return _SLOW
            cont[first + 1:done + 1] = True
        counts[first] = len(rec) - 1
        empty[first] = _blank(rec)
    return cont


def _lines(body: bytes, encoding: str) -> Iterator[str]:
    """The lines of ``body`` decoded one at a time, each with its line end.

    Lines end at LF (CR-only files are made LF and a lone CR is refused before
    reading), and a UTF-8 or Windows-1252 byte 0x0A is always a line feed, so
    splitting the bytes first is exact. Memory: one line at a time; the bytes
    are shared, not copied (``io.BytesIO`` over a ``bytes`` object).
    """
    enc = encoding.replace("-sig", "")
    for line in io.BytesIO(body):
        yield line.decode(enc)


def _nth_line(body: bytes, encoding: str, n: int) -> str:
    """Line ``n`` (1-based) of ``body``, decoded, without its line end."""
    line = next(itertools.islice(_lines(body, encoding), n - 1, None), "")
    return line.rstrip("\n").rstrip("\r")


def _quote_scan(line: str) -> tuple[int | None, int | None]:
    """(field of a quote still open at the end of the line, field with text after its closing quote).

    As in the csv module, a quote opens a quoted value only at the start of a field.
    """
    field, in_q, open_field, after = 0, False, None, None
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if in_q:
            if ch == '"':
                if i + 1 < n and line[i + 1] == '"':  # "" is a quote inside the value
                    i += 2
                    continue
                in_q = False
                if i + 1 < n and line[i + 1] != ";" and after is None:
                    after = field
        elif ch == ";":
            field += 1
        elif ch == '"' and (i == 0 or line[i - 1] == ";"):  # elsewhere a quote is a character
            in_q, open_field = True, field
        i += 1
    return (open_field if in_q else None), after


def _header_name(header: list[str] | None, j: int | None) -> str | None:
    if header is None or j is None or j >= len(header):
        return None
    return header[j].strip().strip("\ufeff").lower() or None


def _runaway_message(start: int, end: int) -> str:
    return (f"citattecknet som inleder värdet på rad {start} avslutas först på rad {end}, så raderna "
            f"{start}\u2013{end} har lästs som ett enda värde; ett värde som börjar med \" måste sluta med \" "
            "(skriv \"\" för ett citattecken i texten)")


def _read_csv_quoted(body: bytes, encoding: str, probs: _Problems) -> _Raw | None:
    """Slow path for files with quoted fields (may contain ';' or line breaks).

    A quote that is never closed, or closed only lines later after swallowing whole
    rows, is refused at the row where it opens (never read as one long value:
    that would lose rows silently). Memory: the csv module reads the lines one at
    a time (:func:`_lines`; no decoded copy of the file) and the values go straight
    into one list per column (no list of row lists).
    """
    reader = csv.reader(_lines(body, encoding), delimiter=";", strict=True)
    columns: list[list[str]] = []
    good_nums = array.array("q")  # memory: 8 bytes a row, not an int object
    prev = 0
    header: list[str] | None = None
    width = 0
    n_quote_problems = n_bad = 0
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if prev > start:  # a quoted value holds a line break: real, or a quote left open?
                rec = [c.replace("\r\n", "\n") for c in rec]
                if _swallows_rows(rec, width if header is not None else len(rec)):
                    j = next((j for j, c in enumerate(rec) if "\n" in c), None)
                    if n_quote_problems < MAX_LISTED:
                        probs.add(start, _header_name(header, j), _runaway_message(start, prev))
                    else:
                        probs.hidden += 1
                    n_quote_problems += 1
                    continue
            if header is None:
                if rec:
                    header, width = rec, len(rec)
                    columns = [[] for _ in range(width)]
                    # One object per distinct value while a column has few of them (periods,
                    # codes), as pandas' own parser does; a column of unique values stops it.
                    seen: list[dict | None] = [{} for _ in range(width)]
                continue
            if _blank(rec):
                continue
            if len(rec) == width:
                if n_quote_problems:  # memory: the file is refused, its values are never used
                    continue
                for j in range(width):
                    v = rec[j]
                    d = seen[j]
                    if d is not None:
                        v = d.setdefault(v, v)
                        if len(d) > 50_000:
                            seen[j] = None
                    columns[j].append(v)
                good_nums.append(start)
            else:
                if n_bad < MAX_LISTED:
                    probs.add(start, None, _field_count_message(len(rec), width))
                else:
                    probs.hidden += 1
                n_bad += 1
    except csv.Error as e:
        start = prev + 1
        if "unexpected end of data" in str(e) or "EOF" in str(e) or "field limit" in str(e):
            open_field, _ = _quote_scan(_nth_line(body, encoding, start))
            until = ("aldrig (filen tar slut inom citattecknen)" if "field limit" not in str(e) else
                     f"inte inom {_fmt_int(csv.field_size_limit())} tecken, så de följande raderna har lästs "
                     "som ett enda värde")
            probs.add(start, _header_name(header, open_field),
                      f"citattecknet som inleder värdet på rad {start} avslutas {until}; ett värde som "
                      "börjar med \" måste sluta med \"")
        elif reader.line_num > start:  # the quote that opens on row start is "closed" by a later value's quote
            open_field, _ = _quote_scan(_nth_line(body, encoding, start))
            probs.add(start, _header_name(header, open_field), _runaway_message(start, reader.line_num))
        else:
            row = reader.line_num
            _, after = _quote_scan(_nth_line(body, encoding, row))
            probs.add(row, _header_name(header, after),
                      "text efter det avslutande citattecknet i värdet; omge hela värdet med citattecken "
                      "och skriv \"\" för ett citattecken i texten")
        return None
    if n_quote_problems:
        return None
    if header is None:
        probs.add(None, None, "filen är tom")
        return None
    series = {}
    for j in range(width):  # memory: each list is freed as soon as its column is made
        series[j] = pd.Series(np.array(columns[j], dtype=object), dtype=object, copy=False)
        columns[j] = None
    return _Raw(header, pd.DataFrame(series, copy=False), np.frombuffer(good_nums, dtype=np.int64).copy(), "")


def _check_mojibake(text: str, raw: _Raw, probs: _Problems) -> None:
    """UTF-8 text decoded as Windows-1252 shows as 'Ã¥' for 'å': refuse it."""
    if not any(c in text for c in _MOJIBAKE_LEADS):
        return
    found = 0
    row, last, seen_row = 1, 0, -1
    for m in _MOJIBAKE.finditer(text):
        row += text.count("\n", last, m.start())
        last = m.start()
        if row == seen_row:
            continue
        seen_row = row
        found += 1
        if found > MAX_LISTED:
            probs.hidden += 1
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.start())
        line = text[line_start:line_end if line_end >= 0 else len(text)].rstrip("\r")
        column = None
        try:
            cells = next(csv.reader([line], delimiter=";"))
        except (csv.Error, StopIteration):  # pragma: no cover - defensive
            cells = []
        for j, c in enumerate(cells):
            if _MOJIBAKE.search(c):
                column = raw.header[j].strip().lower() if j < len(raw.header) else None
                break
        probs.add(row, column, _mojibake_message(m.group()))


def _mojibake_message(fragment: str) -> str:
    try:
        meant = fragment.encode("cp1252").decode("utf-8")
        hint = f' (troligen "{meant}")'
    except (UnicodeEncodeError, UnicodeDecodeError):
        hint = ""
    if fragment == "\ufffd":
        return "felaktig teckenkodning: ersättningstecknet \ufffd visar att tecken förstörts vid exporten; exportera om filen"
    return (f'felaktig teckenkodning: "{fragment}"{hint}; filen har UTF-8-text som '
            "lästs som Windows-1252. Exportera om som UTF-8 eller Windows-1252")


# --------------------------------------------------------------------------- xlsx
def _read_xlsx(path: Path, probs: _Problems) -> tuple[_Raw, FileKind, list[tuple]] | None:
    """The sheet named after a kind, as raw Python cell values (converted later)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException
    import zipfile

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as e:
        probs.add(None, None, f"filen kan inte läsas som Excel-arbetsbok (.xlsx): {e}")
        return None
    try:
        names = list(wb.sheetnames)
        hits = [n for n in names if n.strip().lower() in KINDS]
        expected = ", ".join(KINDS)
        if len(hits) != 1:
            found = ", ".join(f'"{n}"' for n in names)
            if not hits:
                probs.add(None, None, f"inget blad heter som en filtyp; bladen i filen: {found}; "
                                      f"ett av bladen ska heta {expected}")
            else:
                probs.add(None, None, f"flera blad heter som en filtyp ({', '.join(hits)}); "
                                      "lägg bara ett slags data i varje arbetsbok")
            return None
        kind = KINDS[hits[0].strip().lower()]
        rows = [tuple(r) for r in wb[hits[0]].iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and all(v is None or (isinstance(v, str) and not v.strip()) for v in rows[-1]):
        rows.pop()
    if not rows:
        probs.add(None, None, f'bladet "{hits[0]}" är tomt')
        return None
    width = max(len(r) for r in rows)
    header = ["" if v is None else str(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    while header and not header[-1].strip() and all(len(r) < len(header) or r[len(header) - 1] is None
                                                      for r in rows[1:]):
        header.pop()
    cells = []
    nums = []
    for i, r in enumerate(rows[1:], start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in r):
            continue
        extra = [j for j in range(len(header), len(r)) if r[j] is not None and str(r[j]).strip()]
        if extra:
            probs.add(i, None, f"värde i kolumn {_xlsx_col(extra[0])} som saknar rubrik")
        cells.append(tuple(r[: len(header)]) + (None,) * (len(header) - len(r)))
        nums.append(i)
    return _Raw(header, pd.DataFrame(), np.array(nums, dtype=np.int64), "xlsx"), kind, cells


def _xlsx_col(j: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(j + 1)


def _xlsx_text(v, col: Column | None) -> str:
    """A cell value as the text a CSV export would have."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.replace("\r\n", "\n") if "\r" in v else v
    if isinstance(v, bool):
        return "SANT" if v else "FALSKT"
    if isinstance(v, dt.datetime) and col is not None:
        if col.type == "period" and v.day == 1 and v.time() == dt.time(0):
            return f"{v.year:04d}-{v.month:02d}"
        if col.type == "date" and v.time() == dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        text = repr(round(v, 9))
        if "e" in text:
            text = format(v, "f").rstrip("0")
        return text.replace(".", ",") if col is not None and col.type == "decimal" else text
    return str(v)


# --------------------------------------------------------------------------- header and kind
def _normalize_header(raw: _Raw, probs: _Problems, column_empty: Callable[[int], bool]) -> list[str]:
    """Lower-case, stripped column names; an unnamed column must be empty."""
    names = [h.strip().strip("\ufeff").lower() for h in raw.header]
    for j, name in enumerate(names):
        if not name and not column_empty(j):
            probs.add(1, None, f"kolumn {j + 1} saknar rubrik men har värden")
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name and name in seen:
            probs.add(1, name, f"kolumnen förekommer två gånger (kolumn {seen[name] + 1} och {j + 1})")
        seen.setdefault(name, j)
    return names


def _detect_kind(names: list[str], path: Path, probs: _Problems) -> FileKind | None:
    """The kind whose required columns are all in the header (file name breaks ties)."""
    present = {n for n in names if n}
    full = [k for k in KINDS.values() if set(k.required_columns) <= present]
    exact = [k for k in full if present <= {c.name for c in k.columns}]
    if len(full) == 1:
        return full[0]
    if len(exact) == 1:
        return exact[0]
    stem = path.stem.lower()
    by_name = [k for k in KINDS.values() if stem.startswith(k.name)]
    scored = sorted(KINDS.values(), key=lambda k: (-len(present & {c.name for c in k.columns}),
                                                   k not in by_name))
    best = scored[0]
    overlap = len(present & {c.name for c in best.columns})
    if best in by_name or (overlap >= 2 and overlap > len(present & {c.name for c in scored[1].columns})):
        return best
    expected = "; ".join(f"{k.name}: {', '.join(k.required_columns)}" for k in KINDS.values())
    probs.add(1, None, f"kan inte avgöra vilken sorts fil det är av rubrikraden ({', '.join(names)}); "
                       f"obligatoriska kolumner per filtyp: {expected}")
    return None


def _check_columns(names: list[str], kind: FileKind, probs: _Problems) -> None:
    known = [c.name for c in kind.columns]
    for name in names:
        if name and name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f' menade du "{close[0]}"?' if close else ""
            probs.add(1, name, f"okänd kolumn för {kind.name} (stavfel?{hint}); "
                               f"tillåtna kolumner: {', '.join(known)}")
    for col in kind.columns:
        if col.required and col.name not in names:
            probs.add(1, col.name, f"obligatorisk kolumn saknas i {kind.name}")


# --------------------------------------------------------------------------- value converters
class _Column:
    """The outcome of checking one column: values, a per-row error mask and, when
    known, integer codes of the values (equal codes = equal values) for grouping."""

    def __init__(self, values: np.ndarray, bad: np.ndarray, codes: np.ndarray | None = None):
        self.values = values
        self.bad = bad
        self._codes = codes

    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._codes = pd.factorize(self.values)[0]
        return self._codes

    def set_values(self, rows: np.ndarray, values: np.ndarray) -> None:
        self.values[rows] = values
        self._codes = None


def _by_unique(values: np.ndarray, fn: Callable[[str], tuple[object, str | None]],
               out_dtype, rownums: np.ndarray, column: str, probs: _Problems) -> _Column:
    """Apply ``fn`` once per distinct value; report rows whose value gives a message."""
    codes, uniq = pd.factorize(values)
    results = [fn(u) for u in uniq]
    norm_u = np.array([r[0] for r in results], dtype=out_dtype)
    normalized = norm_u[codes] if len(uniq) else np.array([], dtype=out_dtype)
    msgs = [r[1] for r in results]
    bad_u = np.array([m is not None for m in msgs], dtype=bool)
    bad = bad_u[codes] if len(uniq) else np.zeros(0, dtype=bool)
    idx = np.flatnonzero(bad)
    if len(idx):
        probs.add_rows(rownums, idx, column, lambda i: msgs[codes[i]])
    # codes of the normalized values ('202603' and '2026-03' are one value)
    norm_codes = pd.factorize(norm_u)[0][codes] if len(uniq) else codes
    return _Column(normalized, bad, norm_codes)


def _period_fn(first_year: int, today: dt.date, required: bool):
    current = f"{today.year:04d}-{today.month:02d}"

    def fn(u: str):
        s = u.strip()
        if not s:
            return "", "värde saknas" if required else None
        m = _PERIOD.fullmatch(s)
        if not m and non_ascii_digit_message(s):
            return s, non_ascii_digit_message(s)
        if not m or not 1 <= int(m.group(2)) <= 12:
            return s, f'ogiltig period "{s}"; skriv ÅÅÅÅ-MM (t.ex. 2026-08) eller ÅÅÅÅMM (202608)'
        p = f"{m.group(1)}-{m.group(2)}"
        if p > current:
            return p, f"framtida period {p}: senare än innevarande månad {current}"
        if int(m.group(1)) < first_year:
            return p, f"perioden {p} ligger före första modellåret {first_year} (params/modell)"
        return p, None

    return fn


def _enum_fn(col: Column):
    canonical = {c.lower(): c for c in col.choices}
    allowed = ", ".join(col.choices)

    def fn(u: str):
        s = u.strip()
        if not s:
            return "", "värde saknas" if col.required else None
        c = canonical.get(s.lower())
        if c is None:
            return s, f'ogiltigt värde "{s}"; tillåtna värden: {allowed}'
        return c, None

    return fn


def _code_fn(col: Column, digits: tuple[int, ...], shown: str):

    def fn(u: str):
        s = u.strip()
        if not s:
            return "", "värde saknas" if col.required else None
        if not (s.isdigit() and s.isascii() and len(s) in digits):
            return s, non_ascii_digit_message(s) or f'ogiltig kod "{s}"; ska vara {shown}'
        return s, None

    return fn


#: The largest magnitude (exclusive) of a number in the store. Amounts in kronor are
#: DECIMAL(18,2) in the store and float in the Dataset: below 10^13 kr a float holds
#: every öre exactly, so the stored value is the exported one. Other numbers (hours,
#: places, årsarbetare) are DOUBLE; 10^12 is far above any real volume and keeps
#: sums of them finite.
MAX_ABS_KR = 1e13
MAX_ABS_OTHER = 1e12


def max_abs(col: Column) -> float:
    """The exclusive magnitude limit of a decimal column (see :data:`MAX_ABS_KR`)."""
    return MAX_ABS_KR if col.unit == "kr" else MAX_ABS_OTHER


def _fmt_limit(limit: float, col: Column) -> str:
    text = f"{int(limit):,}".replace(",", " ")
    return f"{text} kr" if col.unit == "kr" else text


def _decimal_fn(col: Column):
    max_decimals = 2 if col.unit == "kr" else None

    def fn(u: str):
        s = u.strip()
        if not s:
            return np.nan, "värde saknas" if col.required else None
        m = _NUMBER.fullmatch(s)
        if m is None:
            if non_ascii_digit_message(s):
                return np.nan, non_ascii_digit_message(s)
            if _DOT_DECIMAL.fullmatch(s):
                return np.nan, f'decimalpunkt i "{s}"; använd decimalkomma: {s.replace(".", ",")}'
            if _DOT_THOUSANDS.fullmatch(s):
                return np.nan, (f'punkt som tusentalsavgränsare i "{s}" godtas inte; skriv siffrorna '
                                "utan avgränsare eller med mellanslag, och decimalkomma (1 234,50)")
            return np.nan, f'"{s}" är inte ett tal (skriv t.ex. 1 234,50)'
        if max_decimals is not None and m.group(1) is not None and len(m.group(1)) > max_decimals:
            return np.nan, f'"{s}" har för många decimaler; belopp anges i kronor med högst två decimaler'
        t = s
        for sp in _SPACES:
            if sp in t:
                t = t.replace(sp, "")
        v = float(t.replace("\u2212", "-").replace(",", "."))
        limit = max_abs(col)
        if not abs(v) < limit:  # also catches inf from hundreds of digits
            shown = s if len(s) <= 40 else s[:20] + "\u2026" + s[-10:] + f" ({len(s)} tecken)"
            return np.nan, (f'"{shown}" är för stort: {col.name} ska vara mindre än {_fmt_limit(limit, col)}; '
                            "för många siffror, eller värdet i fel kolumn?")
        if col.min_value is not None and v < col.min_value:
            if col.min_value == 0:
                return v, f"negativt värde ({s}) är inte tillåtet i {col.name}"
            return v, f"värdet {s} är mindre än det minsta tillåtna ({col.min_value:g})"
        return v, None

    return fn


def _decimal_column(values: np.ndarray, col: Column, rownums: np.ndarray, probs: _Problems) -> _Column:
    """Numbers of one column, checked and converted on the newline-joined text (fast)."""
    n = len(values)
    joined = "\n".join(values.tolist())
    if n == 0 or joined.count("\n") != n - 1:  # a value holds a line break: do it value by value
        return _by_unique(values, _decimal_fn(col), np.float64, rownums, col.name, probs)
    pattern = _INVALID_KR_LINE if col.unit == "kr" else _INVALID_NUMBER_LINE
    bad_starts = [m.start() for m in pattern.finditer(joined)]
    bad = np.zeros(n, dtype=bool)
    fn = _decimal_fn(col)
    bad_idx = np.zeros(0, dtype=np.int64)
    if bad_starts:
        line_starts = np.concatenate(([0], np.cumsum([len(v) + 1 for v in values.tolist()])[:-1]))
        bad_idx = np.searchsorted(line_starts, np.array(bad_starts), side="right") - 1
        patched = values.copy()
        patched[bad_idx] = "nan"
        joined = "\n".join(patched.tolist())
        del patched
    cleaned = joined
    del joined
    for old, new in ((" ", ""), ("\t", ""), ("\u00a0", ""), ("\u202f", ""), ("\u2212", "-"), (",", ".")):
        if old in cleaned:
            cleaned = cleaned.replace(old, new)
    # Memory: parsed straight from the text (no Python string per value); every line
    # is a valid number or "nan" here, so the count is exact (checked all the same).
    numbers = np.fromstring(cleaned, dtype=np.float64, sep="\n") if n else np.zeros(0)
    del cleaned
    if len(numbers) != n:  # pragma: no cover - defensive
        return _by_unique(values, _decimal_fn(col), np.float64, rownums, col.name, probs)
    for i in bad_idx:  # the slow, exact check decides (e.g. no-break space around a number)
        v, msg = fn(values[i])
        numbers[i] = v
        bad[i] = msg is not None
    if col.min_value is not None:
        bad |= numbers < col.min_value
    with np.errstate(invalid="ignore"):
        bad |= ~(np.abs(numbers) < max_abs(col)) & ~np.isnan(numbers)  # too large or infinite
    idx = np.flatnonzero(bad)
    if len(idx):
        probs.add_rows(rownums, idx, col.name, lambda i: fn(values[i])[1] or "ogiltigt tal")
        numbers[idx] = np.nan
    return _Column(numbers, bad)


def _date_fn(col: Column):
    def fn(u: str):
        s = u.strip()
        if not s:
            return "", "värde saknas" if col.required else None
        try:
            if not _DATE.fullmatch(s):
                if non_ascii_digit_message(s):
                    return s, non_ascii_digit_message(s)
                raise ValueError
            dt.date.fromisoformat(s)
        except ValueError:
            return s, f'ogiltigt datum "{s}"; skriv ÅÅÅÅ-MM-DD (t.ex. 2027-01-31)'
        return s, None

    return fn


def _text_column(values: np.ndarray, col: Column, rownums, probs: _Problems) -> _Column:
    """Stripped text; a required cell may not be empty (vectorised, no factorize)."""
    stripped = np.array([v.strip() for v in values], dtype=object)
    bad = stripped == "" if col.required else np.zeros(len(stripped), dtype=bool)
    bad = np.asarray(bad, dtype=bool)
    idx = np.flatnonzero(bad)
    if len(idx):
        probs.add_rows(rownums, idx, col.name, "värde saknas")
    return _Column(stripped, bad)


def _check_column(kind: FileKind, col: Column, values: np.ndarray, rownums: np.ndarray,
                  params: Params, today: dt.date, probs: _Problems) -> _Column:
    name = col.name
    if col.type == "period":
        return _by_unique(values, _period_fn(params.forsta_ar, today, col.required), object, rownums, name, probs)
    if col.type == "decimal":
        return _decimal_column(values, col, rownums, probs)
    if col.type == "code":
        digits, shown = CODE_DIGITS.get((kind.name, name), ((1, 2, 3, 4, 5, 6, 7, 8), "bara siffror"))
        return _by_unique(values, _code_fn(col, digits, shown), object, rownums, name, probs)
    if col.type == "date":
        return _by_unique(values, _date_fn(col), object, rownums, name, probs)
    if col.type == "enum" and col.choices:
        return _by_unique(values, _enum_fn(col), object, rownums, name, probs)
    if col.type == "enum":  # checked against the registry by the kind's cross-checks
        return _by_unique(values, lambda u: (u.strip(), "värde saknas" if col.required and not u.strip() else None),
                          object, rownums, name, probs)
    return _text_column(values, col, rownums, probs)


# --------------------------------------------------------------------------- cross-references
def _combined_codes(cols: list[_Column], idx: np.ndarray) -> np.ndarray:
    """Codes 0..k-1 (in order of first appearance) of the value combinations on rows ``idx``."""
    whole = len(idx) == len(cols[0].values)
    combined, size = np.zeros(len(idx), dtype=np.int64), 1
    for col in cols:
        codes = col.codes() if whole else col.codes()[idx]
        n = int(codes.max(initial=0)) + 1
        if size * n >= 2 ** 62:  # compact first, so the product cannot overflow
            combined, uniq = pd.factorize(combined)
            size = len(uniq)
        combined = combined * n + codes
        size *= n
    return pd.factorize(combined)[0]


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Position of the first occurrence of each code 0..k-1.

    ``codes`` come from :func:`pandas.factorize`, so code ``j`` first appears
    where the running maximum first reaches ``j``.
    """
    running = np.maximum.accumulate(codes)
    return np.flatnonzero(np.diff(running, prepend=-1) > 0)


def _check_groups(cols: dict[str, _Column], names: tuple[str, ...], target: str,
                  fn: Callable[..., tuple[str | None, str | None]], rownums, probs: _Problems) -> None:
    """Check each distinct combination of ``names`` once, on rows without earlier errors.

    ``fn(*values)`` returns ``(canonical value for target or None, message or None)``;
    rows with a message are marked bad in ``target`` and reported there.
    """
    if any(n not in cols for n in names):
        return
    ok = ~np.logical_or.reduce([cols[n].bad for n in names])
    idx = np.flatnonzero(ok)
    if not len(idx):
        return
    codes = _combined_codes([cols[n] for n in names], idx)
    first = idx[_first_rows(codes)]  # a row of each combination, in code order
    results = [fn(*(cols[n].values[r] for n in names)) for r in first]
    msgs = [r[1] for r in results]
    bad_u = np.array([m is not None for m in msgs], dtype=bool)
    fix_u = [r[0] for r in results]
    target_col = cols[target]
    if any(f is not None for f in fix_u):
        has = np.array([f is not None for f in fix_u], dtype=bool)[codes]
        fixed = np.array(fix_u, dtype=object)[codes]
        target_col.set_values(idx[has], fixed[has])
    bad_pos = np.flatnonzero(bad_u[codes])
    if len(bad_pos):
        target_col.bad[idx[bad_pos]] = True
        probs.add_rows(rownums[idx], bad_pos, target, lambda p: msgs[codes[p]])


class _Registry:
    """Lookups from params for the cross-reference checks (built once per Params)."""

    _cache: dict[int, "_Registry"] = {}

    def __init__(self, params: Params):
        self.params = params  # keeps the id() of the cache key from being reused
        reg = params.registry
        self.vu = {v.id.lower(): v.id for v in reg.alla}
        self.kluster = {v.id: {k.id.lower(): k.id for k in v.kluster} for v in reg.alla}
        self.id_kod = {e.id_kod: (v.id, e.kluster, e.namn) for v in reg.alla for e in v.enheter}
        self.komplement_kod = {e.komplement_kod: (v.id, e.kluster, e.namn) for v in reg.alla for e in v.enheter}
        self.kontoplan = {k: sorted((int(r.fran), int(r.till)) for r in rs) for k, rs in reg.kontoplan.items()}
        self.faktorer = {y: {f.lower(): f for f in m.schablon.faktorer} for y, m in params.ar.items()}

    @classmethod
    def of(cls, params: Params) -> "_Registry":
        hit = cls._cache.get(id(params))
        if hit is None or hit.params is not params:
            if len(cls._cache) >= 8:
                cls._cache.clear()
            hit = cls._cache[id(params)] = cls(params)
        return hit

    def konto_ranges(self, kodtyp: str) -> str:
        merged: list[list[int]] = []
        for a, b in self.kontoplan.get(kodtyp, []):
            if merged and a == merged[-1][1] + 1:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        return ", ".join(f"{a}\u2013{b}" for a, b in merged)

    def model_year(self, year: int) -> int:
        earlier = [y for y in self.faktorer if y <= year]
        return max(earlier) if earlier else min(self.faktorer)


def _vu_fn(reg: _Registry):
    known = ", ".join(reg.vu.values())

    def fn(v):
        c = reg.vu.get(v.lower())
        return (c, None) if c else (None, f'okänt verksamhetsuppdrag "{v}"; kända: {known}')

    return fn


def _cross_huvudbok(cols, rownums, reg: _Registry, probs):
    def kod(kodtyp, k):
        table, other, name = ((reg.id_kod, reg.komplement_kod, "id_kod") if kodtyp == "ID"
                              else (reg.komplement_kod, reg.id_kod, "komplement_kod"))
        if k in table:
            return None, None
        if k in other:
            other_name = "komplement_kod" if name == "id_kod" else "id_kod"
            return None, (f"koden {k} är en {other_name}, men raden har kodtyp {kodtyp} "
                          f"(kodtyp {kodtyp} ska ha en {name})")
        return None, f'okänd kod "{k}": ingen enhet har {name} {k} i params/registry.yaml'

    def konto(kodtyp, k):
        n = int(k)
        if any(a <= n <= b for a, b in reg.kontoplan.get(kodtyp, [])):
            return None, None
        return None, (f"kontot {k} ligger utanför kontoplanen för kodtyp {kodtyp} "
                      f"(tillåtna konton: {reg.konto_ranges(kodtyp)})")

    _check_groups(cols, ("kodtyp", "kod"), "kod", kod, rownums, probs)
    _check_groups(cols, ("kodtyp", "konto"), "konto", konto, rownums, probs)


def _cross_volymer(cols, rownums, reg: _Registry, probs):
    _check_groups(cols, ("vu",), "vu", _vu_fn(reg), rownums, probs)

    def kluster(vu, k):
        c = reg.kluster[vu].get(k.lower())
        if c:
            return c, None
        return None, f'klustret "{k}" finns inte i {vu} (kluster där: {", ".join(reg.kluster[vu].values())})'

    _check_groups(cols, ("vu", "kluster"), "kluster", kluster, rownums, probs)

    def enhet(vu, kl, e):
        if e == "":
            return None, None
        unit = reg.id_kod.get(e)
        if unit is None:
            hint = " (det är en komplement_kod; ange enhetens id_kod)" if e in reg.komplement_kod else ""
            return None, f'okänd enhet "{e}": ingen enhet har id_kod {e} i params/registry.yaml{hint}'
        if (unit[0], unit[1]) != (vu, kl):
            return None, f"enheten {e} ({unit[2]}) hör till {unit[0]}/{unit[1]}, inte till {vu}/{kl}"
        return None, None

    _check_groups(cols, ("vu", "kluster", "enhet"), "enhet", enhet, rownums, probs)

    def utforare(matt, u):
        split = MEASURES[matt]["utforare"]
        if split and u == "":
            return None, f"utforare saknas; måttet {matt} delas per utförare (leanlink eller privat)"
        if not split and u != "":
            return None, f'måttet {matt} delas inte per utförare; lämna utforare tom (fick "{u}")'
        return None, None

    _check_groups(cols, ("matt", "utforare"), "utforare", utforare, rownums, probs)

    def kon(matt, k):
        if k != "" and not MEASURES[matt].get("kon"):
            personal = ", ".join(m for m, d in MEASURES.items() if d.get("kon"))
            return None, f'måttet {matt} räknar inte personer och delas inte per kön; lämna kon tom (fick "{k}"; kon gäller {personal})'
        return None, None

    _check_groups(cols, ("matt", "kon"), "kon", kon, rownums, probs)


def _cross_bemanning(cols, rownums, reg: _Registry, probs, params: Params):
    def kod(k):
        if k in reg.id_kod:
            return None, None
        hint = " (det är en komplement_kod; ange enhetens id_kod)" if k in reg.komplement_kod else ""
        return None, f'okänd enhet "{k}": ingen enhet har id_kod {k} i params/registry.yaml{hint}'

    _check_groups(cols, ("kod",), "kod", kod, rownums, probs)

    def niva(period, n):
        year = reg.model_year(int(period[:4]))
        c = reg.faktorer[year].get(n.lower())
        if c:
            return c, None
        return None, (f'okänd utbildningsnivå "{n}"; tillåtna för {period[:4]} (schablon.faktorer i '
                      f"params/modell/{year}.yaml): {', '.join(reg.faktorer[year].values())}")

    _check_groups(cols, ("period", "utbildningsniva"), "utbildningsniva", niva, rownums, probs)


def _cross_medel(cols, rownums, reg: _Registry, probs):
    _check_groups(cols, ("vu",), "vu", _vu_fn(reg), rownums, probs)


def _check_duplicates(kind: FileKind, cols: dict[str, _Column], rownums, probs: _Problems) -> None:
    """Rows with the same key: name each later row and the first row with that key."""
    if any(k not in cols for k in kind.key):
        return
    ok = ~np.logical_or.reduce([cols[k].bad for k in kind.key])
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return
    codes = _combined_codes([cols[k] for k in kind.key], idx)
    dup = pd.Series(codes).duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    d = pd.DataFrame({"code": codes[dup], "rad": rownums[idx[dup]], "pos": idx[dup]})
    d["forsta"] = d.groupby("code", sort=False)["rad"].transform("first")
    later = d[d["rad"] != d["forsta"]]
    names = ", ".join(kind.key)
    for pos, rad, forsta in zip(later["pos"][:MAX_LISTED], later["rad"][:MAX_LISTED], later["forsta"][:MAX_LISTED]):
        values = ", ".join(str(cols[k].values[pos]) or "(tom)" for k in kind.key)
        probs.add(int(rad), None, f"dubblettrad: samma nyckel ({names}) = ({values}) som rad {int(forsta)}")
    probs.hidden += max(0, len(later) - MAX_LISTED)


# --------------------------------------------------------------------------- orchestration
def _validate(raw: _Raw, names: list[str], kind: FileKind, params: Params, today: dt.date,
              probs: _Problems, xlsx_cells: list[tuple] | None = None) -> pd.DataFrame:
    """Check every value; return the normalized frame (meaningful only without problems)."""
    n = len(raw.rownums)
    position = {name: j for j, name in enumerate(names) if name}
    cols: dict[str, _Column] = {}
    for col in kind.columns:
        j = position.get(col.name)
        if j is None:
            if not col.required:
                cols[col.name] = _Column(np.full(n, "", dtype=object), np.zeros(n, dtype=bool))
            continue
        if xlsx_cells is not None:
            values = np.array([_xlsx_text(r[j], col) for r in xlsx_cells], dtype=object)
        else:
            values = raw.body[j].to_numpy(dtype=object)
        if raw.crlf_values:
            hit = [i for i, v in enumerate(values.tolist()) if "\r\n" in v]
            if hit:
                values = values.copy()
                for i in hit:
                    values[i] = values[i].replace("\r\n", "\n")
        controls = _control_rows(values)
        if len(controls):
            probs.add_rows(raw.rownums, controls, col.name, lambda i: control_message(values[i]))
            values = values.copy()
            values[controls] = ""  # checked no further; the row is refused already
        cols[col.name] = _check_column(kind, col, values, raw.rownums, params, today, probs)
        if len(controls):
            cols[col.name].bad[controls] = True
    if xlsx_cells is not None:
        _check_xlsx_mojibake(xlsx_cells, names, raw.rownums, probs)
    # Memory: every column is checked and converted; the raw text cells (e.g. the amounts
    # as text) are not needed any more.
    raw.body = pd.DataFrame()
    values = None
    reg = _Registry.of(params)
    if kind.name == "huvudbok":
        _cross_huvudbok(cols, raw.rownums, reg, probs)
    elif kind.name == "volymer":
        _cross_volymer(cols, raw.rownums, reg, probs)
    elif kind.name == "bemanning":
        _cross_bemanning(cols, raw.rownums, reg, probs, params)
    elif kind.name == "medel":
        _cross_medel(cols, raw.rownums, reg, probs)
    _check_duplicates(kind, cols, raw.rownums, probs)
    if any(c.name not in cols for c in kind.columns):
        return pd.DataFrame()
    return pd.DataFrame({c.name: pd.Series(cols[c.name].values, dtype=object if c.type != "decimal" else np.float64,
                                           copy=False) for c in kind.columns})


def _control_rows(values: np.ndarray) -> np.ndarray:
    """Positions of the values holding a control character (:data:`vu_lib.core.text.CONTROL_CHARS`).

    One regex pass over the joined column finds whether there is any (fast path);
    only then is each value looked at.
    """
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    joined = "\n".join(values.tolist())
    if CONTROL_CHARS.search(joined) is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero([CONTROL_CHARS.search(v) is not None for v in values.tolist()])


def _check_xlsx_mojibake(cells: list[tuple], names: list[str], rownums, probs: _Problems) -> None:
    for r, num in zip(cells, rownums):
        for j, v in enumerate(r):
            if isinstance(v, str):
                m = _MOJIBAKE.search(v)
                if m:
                    probs.add(int(num), names[j] or None, _mojibake_message(m.group()))


def read_file(path: str | Path, *, params: Params | None = None, today: dt.date | None = None) -> ParsedFile:
    """Read and validate one export file.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (or ``.txt``) file with ``;`` separator, or an ``.xlsx``
        workbook with one sheet named after the kind.
    params : Params, optional
        Model parameters for the cross-references; default :func:`load_params`.
    today : datetime.date, optional
        The current date (periods after its month are refused); default today.

    Returns
    -------
    ParsedFile

    Raises
    ------
    InputError
        Listing every problem found (at most :data:`MAX_LISTED`, then a count),
        each with file, row and column.
    """
    path = Path(path)
    params = params if params is not None else load_params()
    today = today or dt.date.today()
    probs = _Problems(str(path))

    def fail():
        raise InputError(probs.listing())

    _require_file(path, probs)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        probs.add(None, None, "det gamla Excel-formatet .xls stöds inte; spara som .xlsx eller CSV (semikolon)")
        fail()
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        probs.add(None, None, f"okänd filtyp {suffix or '(ingen filändelse)'}; använd .csv, .xlsx eller SIE (.se)")
        fail()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    xlsx_cells = None
    if suffix in XLSX_SUFFIXES:
        got = _read_xlsx(path, probs)
        if got is None:
            fail()
        raw, kind, xlsx_cells = got
        names = _normalize_header(raw, probs, lambda j: all(r[j] is None or not str(r[j]).strip()
                                                            for r in xlsx_cells))
        _check_columns(names, kind, probs)
    else:
        raw = _read_csv(data, probs)
        del data  # memory: only the parsed columns are needed from here on
        if raw is None:
            fail()
        names = _normalize_header(raw, probs, lambda j: bool((raw.body[j].to_numpy(dtype=object) == "").all()))
        kind = _detect_kind(names, path, probs)
        if kind is None:
            fail()
        _check_columns(names, kind, probs)
    if len(raw.rownums) == 0:
        probs.add(None, None, "filen har en rubrikrad men inga datarader")
    frame = _validate(raw, names, kind, params, today, probs, xlsx_cells)
    if probs:
        fail()
    periods = sorted(pd.unique(frame["period"]).tolist())
    return ParsedFile(path=path, kind=kind, frame=frame, rows=len(frame), sha256=digest,
                      periods=periods, encoding=raw.encoding, rownums=raw.rownums)


def read_files(paths: Iterable[str | Path], *, params: Params | None = None,
               today: dt.date | None = None) -> tuple[list[ParsedFile], list[Problem]]:
    """Read several files, collecting the problems of all of them.

    (SIE files and import profiles: :func:`vu_lib.data.intake.read_any`.)

    Returns
    -------
    tuple
        ``(parsed files, problems)``; a file with problems is not in the first list.
    """
    params = params if params is not None else load_params()
    parsed, problems = [], []
    for p in paths:
        try:
            parsed.append(read_file(p, params=params, today=today))
        except InputError as e:
            problems.extend(e.problems)
    return parsed, problems
