"""Write one complete version to the store, then flip `current` to it."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any

from app.jobs.entries import Entries
from app.jobs.progress import Reporter
from app.published import keys, snapshot
from app.store.base import RuleStore

PUBLISH_BATCH = 20_000


async def publish_version(
    store: RuleStore,
    entries: Entries,
    meta: Callable[[], dict[str, Any]],
    *,
    keep: int,
    reporter: Reporter,
    batch: int = PUBLISH_BATCH,
) -> int:
    """The new version's number once `current` points at it.

    `meta` goes in last: a version without it is incomplete, and `current` flips only
    after every entry is written, so a failure at any point leaves the old version live.
    It is asked for once the entries are written, as they may stream in (and the checksum
    over them be known only then).
    """
    version = await store.allocate_version()
    reporter.phase("publishing", total=len(entries))
    stream = iter(entries)
    while chunk := list(islice(stream, batch)):
        await store.write_entries(version, chunk)
        reporter.advance(len(chunk))
    meta_entry = (keys.META, snapshot.encode_meta({**meta(), "version": version}))
    await store.write_entries(version, [meta_entry])
    await store.activate(version, keep=keep)
    return version
