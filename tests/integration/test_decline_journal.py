"""The file store's decline journal: one small write per decline, compacted, shared by workers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from app.store import decline_journal
from app.store.file_store import FileRuleStore

HOUR = 3600.0


def _bytes_written() -> int:
    """Bytes this process handed to write(2) so far, every thread included (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "wchar":
            return int(value)
    raise AssertionError("/proc/self/io has no wchar line")


def _append_raw(path: Path, data: bytes) -> None:
    with open(path, "ab") as journal:
        journal.write(data)


async def test_5000_declines_cost_one_small_write_each(tmp_path: Path) -> None:
    store = FileRuleStore(tmp_path)
    before = _bytes_written()
    for number in range(5_000):
        await store.record_decline(f"customer-{number}", "plus-2tb", keep_seconds=HOUR)
    written = _bytes_written() - before

    # ~70 bytes a line; rewriting the whole file per decline would write ~1,000 times more.
    assert written < 5_000 * 200, written
    assert len((await store.declines_since(float("-inf"))).declines) == 5_000


async def test_compaction_keeps_the_journal_to_the_declines_in_their_cooldown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decline_journal, "COMPACT_MIN_BYTES", 4_096)
    store = FileRuleStore(tmp_path)
    for number in range(2_000):  # ~120 KB of declines, each past its cooldown at once
        await store.record_decline(f"gone-{number}", "plus", keep_seconds=0.0)
    await store.record_decline("kept", "plus", keep_seconds=HOUR)

    assert (tmp_path / decline_journal.JOURNAL).stat().st_size < 3 * 4_096
    held = await store.declines_since(float("-inf"))
    assert "kept" in {decline.customer_id for decline in held.declines}


async def test_workers_sharing_the_directory_follow_each_other_across_compactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decline_journal, "COMPACT_MIN_BYTES", 2_048)
    writer, reader = FileRuleStore(tmp_path), FileRuleStore(tmp_path)
    seen: set[str] = set()
    last = float("-inf")
    for batch in range(20):
        names = [f"c{batch}-{number}" for number in range(30)]
        await asyncio.gather(*(writer.record_decline(n, "pro", keep_seconds=HOUR) for n in names))
        answer = await reader.declines_since(last - 5)
        seen |= {decline.customer_id for decline in answer.declines}
        last = answer.now
        assert set(names) <= seen, f"batch {batch} not seen by the other worker"
    # A second decline of the same plan moves its time; compaction keeps only the latest.
    again = await writer.record_decline("c0-0", "pro", keep_seconds=HOUR)
    latest = await reader.declines_since(again)
    assert [(d.customer_id, d.at) for d in latest.declines] == [("c0-0", again)]


async def test_a_torn_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = FileRuleStore(tmp_path)
    await store.record_decline("before", "plus", keep_seconds=HOUR)
    _append_raw(tmp_path / decline_journal.JOURNAL, b'["half", "pl\n')  # a crash mid-write
    await store.record_decline("after", "plus", keep_seconds=HOUR)

    held = await FileRuleStore(tmp_path).declines_since(float("-inf"))
    assert [decline.customer_id for decline in held.declines] == ["before", "after"]


async def test_declines_of_the_earlier_single_file_are_carried_over(tmp_path: Path) -> None:
    earlier = {'["c1","plus"]': 1_700_000_000.5, '["c2","pro"]': 1_700_000_100.25}
    (tmp_path / decline_journal.EARLIER_FORMAT).write_bytes(orjson.dumps(earlier))

    held = await FileRuleStore(tmp_path).declines_since(float("-inf"))

    assert [(d.customer_id, d.plan_id, d.at) for d in held.declines] == [
        ("c1", "plus", 1_700_000_000.5),
        ("c2", "pro", 1_700_000_100.25),
    ]
    assert not (tmp_path / decline_journal.EARLIER_FORMAT).exists()
