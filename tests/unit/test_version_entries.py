"""Version entries stream in name order and are hashed as they pass, with the same checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import orjson
import pytest

from app.jobs.entries import Entry, VersionEntries
from app.jobs.next_sale_section import NextSaleEntries, RecentPurchases


class Streamed:
    """A section's sized stream, as the next-sale section returns one."""

    def __init__(self, entries: list[Entry]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)


def sorted_checksum(entries: list[Entry]) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(entries):
        digest.update(name.encode() + b"\0" + value + b"\n")
    return digest.hexdigest()


def test_streamed_entries_come_out_in_name_order_with_the_checksum_of_the_sorted_entries() -> None:
    rules: list[Entry] = [("r:b", b"2"), ("catalog", b"c"), ("r:a", b"1")]
    section: list[Entry] = [("cust:a", b"x"), ("cust:c", b"y"), ("seq:a", b"z")]
    version = VersionEntries([rules, Streamed(section)], antecedents=2)
    assert len(version) == 6
    written = list(version)
    assert written == sorted(rules + section)
    assert version.checksum == sorted_checksum(rules + section)


def test_the_checksum_is_unknown_until_every_entry_has_been_read() -> None:
    version = VersionEntries([[("r:a", b"1")]], antecedents=1)
    with pytest.raises(RuntimeError):
        _ = version.checksum


def test_a_section_streaming_out_of_name_order_is_refused() -> None:
    version = VersionEntries([Streamed([("seq:b", b"1"), ("cust:a", b"2")])], antecedents=0)
    with pytest.raises(ValueError, match="came after"):
        list(version)


def test_next_sale_customer_entries_stream_by_name_with_their_embedded_sequences() -> None:
    recent = RecentPurchases(
        names=["zoe", "adam"],
        bounds=[0, 2, 3],
        skus=["tea", "cup", "tea"],
        dates=["2026-03-02", "2026-03-01", "2026-02-01"],
    )
    sequences: list[Entry] = [("seq:tea", b'{"w":90,"f":[],"r":null}')]
    entries = NextSaleEntries(sequences, {"tea": b'{"w":90,"f":[],"r":null}'}, recent)
    written = list(entries)
    assert [name for name, _ in written] == ["cust:adam", "cust:zoe", "seq:tea"]
    assert len(entries) == len(written)
    zoe = orjson.loads(written[1][1])
    assert zoe["p"] == [["tea", "2026-03-02"], ["cup", "2026-03-01"]]
    assert zoe["s"] == {"tea": {"w": 90, "f": [], "r": None}}
