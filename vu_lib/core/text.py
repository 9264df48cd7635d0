"""Rules for the characters of a text value, shared by the readers and every output.

One definition, used everywhere: the readers refuse a value holding one of
:data:`CONTROL_CHARS` (naming file, row, column and the character), and the
report's escaping (:mod:`vu_lib.report.escape`) removes the same characters from
any text that did not come through the readers.
"""
from __future__ import annotations

import re
import unicodedata

#: Characters that are never part of a text value: C0 controls except tab and line
#: feed, DEL, C1 controls, and the Unicode line and paragraph separators. (A carriage
#: return inside a value is one too: line ends are read before the values are.)
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

#: A decimal digit that is not 0-9 (full-width '１', Arabic-Indic '٣', ...).
NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")


def char_name(ch: str) -> str:
    """``'U+0007 (BEL)'``: the code point and, where Unicode has one, a name or alias."""
    names = {"\x00": "NUL", "\x07": "BEL", "\x08": "BACKSPACE", "\x0b": "VT", "\x0c": "FF", "\r": "CR",
             "\x1b": "ESC", "\x7f": "DEL", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}
    name = names.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def control_message(value: str) -> str | None:
    """The Swedish message for a value holding a control character, or None."""
    m = CONTROL_CHARS.search(value)
    if m is None:
        return None
    return (f"otillåtet styrtecken {char_name(m.group())} i värdet; ta bort det i källsystemet "
            "eller exportera om filen")


def non_ascii_digit_message(value: str) -> str | None:
    """The Swedish message for a value written with digits other than 0-9, or None."""
    m = NON_ASCII_DIGIT.search(value)
    if m is None:
        return None
    return (f'"{value}" innehåller siffran "{m.group()}" ({char_name(m.group())}), inte en vanlig siffra 0–9 '
            "(helbreddssiffror från t.ex. en japansk eller kinesisk inmatning?); skriv om värdet med 0–9")


def public_path(path, root=None) -> str:
    """How a path may appear in anything published: relative to the project, else the file name.

    Reports, run logs and executed notebooks go to other people; an absolute path
    shows the user's home directory and machine layout. ``root`` defaults to the
    project root (:data:`vu_lib.core.params.PROJECT_ROOT`).
    """
    import os
    from pathlib import Path

    if root is None:
        from vu_lib.core.params import PROJECT_ROOT as root
    p = Path(snapshot_original(path))
    try:
        return Path(os.path.abspath(p)).relative_to(Path(os.path.abspath(root))).as_posix()
    except ValueError:
        return p.name


#: Set by a report batch for its processes: ``<snapshot path><os.pathsep><store path>``
#: (see :func:`vu_lib.data.store.snapshot`), so the snapshot is shown as the store.
SNAPSHOT_ENV = "VU_LAGER_OGONBLICK"


def snapshot_original(path):
    """The store a batch's snapshot stands for (``path`` itself when it is not the snapshot)."""
    import os

    pair = os.environ.get(SNAPSHOT_ENV, "")
    if pair and os.pathsep in pair:
        snap, original = pair.split(os.pathsep, 1)
        if os.path.abspath(str(path)) == os.path.abspath(snap):
            return original
    return path
