"""Stream non-null integer columns out of Postgres or SQLite into numpy arrays.

Postgres streams COPY BINARY decoded with a fixed dtype, SQLite the driver cursor in
chunks; neither builds a Python object per row, so a million orders read in seconds.
Every difference between the two databases that the order queries meet lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncConnection

Int64s = NDArray[np.int64]
FETCH_ROWS = 100_000
DECODE_BYTES = 4 << 20
COPY_HEADER = 19
COPY_TRAILER = 2


@dataclass(frozen=True)
class Dialect:
    """How one database spells what the order queries need."""

    postgres: bool

    def column(self, expression: str) -> str:
        # COPY BINARY is decoded with a fixed layout, so Postgres casts every column to bigint.
        return f"({expression})::bigint" if self.postgres else expression

    def epoch(self, column: str) -> str:
        """Whole seconds since 1970 of a timestamp column."""
        if self.postgres:
            return f"FLOOR(EXTRACT(EPOCH FROM {column}))"
        return f"CAST(strftime('%s', {column}) AS INTEGER)"

    def marker(self, position: int) -> str:
        """The placeholder of the `position`-th (1-based) parameter for the raw driver."""
        return f"${position}" if self.postgres else "?"

    def moment(self, stamp: datetime) -> datetime | str:
        """SQLite keeps datetimes as naive UTC text (SQLAlchemy's form), so strings compare."""
        if self.postgres:
            return stamp
        return (
            stamp.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )


def dialect_of(conn: AsyncConnection) -> Dialect:
    return Dialect(postgres=conn.dialect.name == "postgresql")


async def read_columns(
    conn: AsyncConnection, query: str, params: Sequence[object], width: int
) -> list[Int64s]:
    """The `width` integer columns of `query`, each one int64 array."""
    driver = (await conn.get_raw_connection()).driver_connection
    if dialect_of(conn).postgres:
        decoder = _CopyDecoder(width)
        await driver.copy_from_query(query, *params, output=decoder.feed, format="binary")  # type: ignore[union-attr]
        return decoder.finish()
    cursor = await driver.execute(query, tuple(params))  # type: ignore[union-attr]
    parts: list[list[Int64s]] = []
    while rows := await cursor.fetchmany(FETCH_ROWS):
        block = np.array(rows, dtype=np.int64).reshape(-1, width)
        parts.append([block[:, k].copy() for k in range(width)])
    await cursor.close()
    return _concat(parts, width)


class _CopyDecoder:
    """Turns the COPY byte stream into int64 columns without a Python object per row.

    Every tuple is `width` non-null bigints, so one dtype describes it. Network chunks are
    small; decoding them in batches of DECODE_BYTES keeps the numpy calls few, and the
    pending buffer bounded.
    """

    def __init__(self, width: int) -> None:
        fields = [("fields", ">i2")]
        for k in range(width):
            fields += [(f"len{k}", ">i4"), (f"c{k}", ">i8")]
        self._layout = np.dtype(fields)
        self._width = width
        self._pending = bytearray()
        self._header_skipped = False
        self._parts: list[list[Int64s]] = []

    async def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        if len(self._pending) >= DECODE_BYTES:
            self._decode()

    def finish(self) -> list[Int64s]:
        self._decode()
        if len(self._pending) != COPY_TRAILER:
            raise RuntimeError(f"unexpected COPY stream tail of {len(self._pending)} bytes")
        return _concat(self._parts, self._width)

    def _decode(self) -> None:
        if not self._header_skipped:
            if len(self._pending) < COPY_HEADER:
                return
            del self._pending[:COPY_HEADER]
            self._header_skipped = True
        count = len(self._pending) // self._layout.itemsize
        if count == 0:
            return
        records = np.frombuffer(self._pending, dtype=self._layout, count=count)
        if not (records["fields"] == self._width).all():
            raise RuntimeError(f"unexpected COPY tuple layout (expected {self._width} BIGINTs)")
        self._parts.append([records[f"c{k}"].astype(np.int64) for k in range(self._width)])
        del records  # release the view so the buffer may shrink
        del self._pending[: count * self._layout.itemsize]


def _concat(parts: list[list[Int64s]], width: int) -> list[Int64s]:
    if not parts:
        return [np.empty(0, dtype=np.int64) for _ in range(width)]
    return [np.concatenate([part[k] for part in parts]) for k in range(width)]
