"""Deterministic CSV output: the same rows give the same bytes, plain or gzip."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TextIO

import numpy as np
from numpy.typing import NDArray

GZIP_LEVEL = 6


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """Open `path` for writing UTF-8 text, gzip-compressed when its name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.name.endswith(".gz"):
        with path.open("w", encoding="utf-8", newline="") as text:
            yield text
        return
    # No file name and a zero mtime in the gzip header keep the bytes reproducible.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL) as gz,
        io.TextIOWrapper(gz, encoding="utf-8", newline="") as text,
    ):
        yield text


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write a header and rows with csv quoting; returns the number of data rows."""
    count = 0
    with open_text(path) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_lines(out: TextIO, lines: list[str]) -> None:
    """Write pre-formatted lines that need no quoting (numbers, ids, timestamps)."""
    if lines:
        out.write("\n".join(lines))
        out.write("\n")


def iso_utc(start: date, minutes: NDArray[np.int64]) -> list[str]:
    """ISO 8601 UTC timestamps for minutes since midnight of `start`."""
    base = np.datetime64(start.isoformat(), "m")
    stamps = np.datetime_as_string(base + minutes.astype("timedelta64[m]"), unit="s")
    return [f"{stamp}+00:00" for stamp in stamps.tolist()]
