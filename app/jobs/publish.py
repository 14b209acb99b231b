"""Write one complete version to the store, then flip `current` to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.jobs.entries import Entry
from app.jobs.progress import Reporter
from app.serving import snapshot
from app.store import keys
from app.store.base import RuleStore

PUBLISH_BATCH = 20_000


async def publish_version(
    store: RuleStore,
    entries: Sequence[Entry],
    meta: dict[str, Any],
    *,
    keep: int,
    reporter: Reporter,
    batch: int = PUBLISH_BATCH,
) -> int:
    """The new version's number once `current` points at it.

    `meta` goes in last: a version without it is incomplete, and `current` flips only
    after every entry is written, so a failure at any point leaves the old version live.
    """
    version = await store.allocate_version()
    reporter.phase("publishing", total=len(entries))
    for start in range(0, len(entries), batch):
        chunk = entries[start : start + batch]
        await store.write_entries(version, chunk)
        reporter.advance(len(chunk))
    meta_entry = (keys.META, snapshot.encode_meta({**meta, "version": version}))
    await store.write_entries(version, [meta_entry])
    await store.activate(version, keep=keep)
    return version
