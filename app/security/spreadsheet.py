"""CSV cells a spreadsheet would run as a formula, made inert."""

from __future__ import annotations

# A leading = + - @ makes Excel, LibreOffice and Sheets evaluate the cell; tab and carriage
# return are read as such a start by some of them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """`text` with a leading ' when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
