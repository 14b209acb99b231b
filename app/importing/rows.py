"""Pure parsing and validation of import rows; every problem carries its line number."""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

MAX_ERRORS = 20
MAX_ID_LENGTH = 128
PAIR_SEPARATOR = "|"


class RowError(ValueError):
    """One bad row: `line N: reason`."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class ImportRejected(Exception):
    """The file was refused as a whole; nothing was written."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        self.source = source
        self.errors = errors
        listed = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing imported\n{listed}")


@dataclass(frozen=True)
class Columns:
    """The header a file kind must have: required columns first, then optional ones."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def check(self, header: list[str]) -> None:
        names = [name.strip() for name in header]
        unknown = [name for name in names if name not in self.required + self.optional]
        if unknown:
            raise RowError(1, f"unknown column(s) {', '.join(map(repr, unknown))}")
        missing = [name for name in self.required if name not in names]
        if missing:
            raise RowError(1, f"missing column(s) {', '.join(map(repr, missing))}")


@contextmanager
def open_text(path: str) -> Iterator[IO[str]]:
    """Open a .csv, .csv.gz or '-' (stdin) as text, streaming."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        return
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
            yield handle
    else:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield handle


def iter_records(handle: IO[str], columns: Columns) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) after checking the header; blank lines are skipped."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise RowError(1, "empty file, expected a header")
    columns.check(header)
    names = [name.strip() for name in header]
    for row in reader:
        if not row or row == [""]:
            continue
        if len(row) != len(names):
            raise RowError(reader.line_num, f"expected {len(names)} fields, got {len(row)}")
        yield reader.line_num, dict(zip(names, row, strict=True))


def identifier(value: str, field: str, line: int, *, required: bool = True) -> str | None:
    text = value.strip()
    if not text:
        if required:
            raise RowError(line, f"empty {field}")
        return None
    if len(text) > MAX_ID_LENGTH:
        raise RowError(line, f"{field} longer than {MAX_ID_LENGTH} characters")
    if not text.isprintable():
        raise RowError(line, f"{field} contains control characters (tab, newline, ...)")
    if field.endswith("sku") and PAIR_SEPARATOR in text:
        # `|` joins the two items of a pair antecedent in store keys and exports.
        raise RowError(line, f"{field} must not contain {PAIR_SEPARATOR!r}")
    return text


def timestamp(value: str, field: str, line: int) -> datetime:
    """ISO 8601; a time without offset is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RowError(line, f"bad {field} {value!r}, expected ISO 8601") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_timestamp(value: str, field: str, line: int) -> datetime | None:
    return timestamp(value, field, line) if value.strip() else None


def money(value: str, field: str, line: int) -> Decimal | None:
    text = value.strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise RowError(line, f"bad {field} {value!r}, expected a number") from None
    if not amount.is_finite() or amount < 0:
        raise RowError(line, f"{field} must be a non-negative number, got {value!r}")
    return amount


def quantity(value: str, line: int) -> int:
    text = value.strip()
    if not text:
        return 1
    try:
        amount = int(text)
    except ValueError:
        raise RowError(line, f"bad quantity {value!r}, expected a whole number") from None
    if amount <= 0:
        raise RowError(line, f"quantity must be positive, got {amount}")
    return amount


def boolean(value: str, field: str, line: int, *, default: bool = True) -> bool:
    text = value.strip().lower()
    if not text:
        return default
    if text in {"true", "1", "yes", "y", "t"}:
        return True
    if text in {"false", "0", "no", "n", "f"}:
        return False
    raise RowError(line, f"bad {field} {value!r}, expected true or false")


def integer(value: str, field: str, line: int) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise RowError(line, f"bad {field} {value!r}, expected a whole number") from None


def number(value: str, field: str, line: int) -> float | None:
    text = value.strip()
    if not text:
        return None
    try:
        amount = float(text)
    except ValueError:
        raise RowError(line, f"bad {field} {value!r}, expected a number") from None
    if amount < 0 or amount != amount:
        raise RowError(line, f"{field} must be a non-negative number, got {value!r}")
    return amount
