"""Exceptions raised by vu_lib.

Every error that reaches a user names where the problem is: the file, and for
tabular input the row and the column. The CLI maps them to exit codes:
``InputError``, ``ParamsError`` and ``BatchUsageError`` give 2 (bad input),
``VuError`` gives 1.
"""
from __future__ import annotations

from dataclasses import dataclass


class VuError(Exception):
    """Base class of all vu errors."""


class ParamsError(VuError):
    """A parameter file in ``params/`` is missing, malformed or inconsistent."""


class BatchUsageError(VuError):
    """Bad usage or bad input for a batch (``vu run``, ``vu budget``); the CLI exits with code 2."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    file : str
        File name as given by the user.
    row : int or None
        1-based line (CSV: the header is line 1) or sheet row; None for the file as a whole.
    column : str or None
        Column name, or None when the problem is not tied to a column.
    message : str
        What is wrong, in Swedish, for the user.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", rad {self.row}"
        if self.column is not None:
            where += f", kolumn {self.column}"
        return f"{where}: {self.message}"


class InputError(VuError):
    """Input data was refused; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        head = f"{len(self.problems)} fel i indata" if len(self.problems) != 1 else "1 fel i indata"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))
