"""The keys file: hashed secrets, reread while serving so keys rotate without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.logs import get_logger
from app.security.keys import ApiKey, InvalidKey, KeyRing, parse_keys_file

log = get_logger(__name__)


def read_keys_file(path: Path) -> tuple[ApiKey, ...]:
    """Every key in the file; InvalidKey when it cannot be read or a line is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidKey(f"the keys file cannot be read ({type(error).__name__})") from None
    return parse_keys_file(text)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    # Inode too: a Kubernetes secret volume swaps a symlink, which may keep mtime and size.
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


class KeysFileWatcher:
    """Loads the file into a key ring, then again each time it changes on disk."""

    def __init__(self, path: Path, ring: KeyRing) -> None:
        self.path = path
        self.ring = ring
        self._seen: tuple[int, int, int] | None = None

    def reload_if_changed(self) -> bool:
        """True when the ring now holds the file's new keys; a broken file keeps the old ones."""
        stamp = _stamp(self.path)
        if stamp == self._seen:
            return False
        self._seen = stamp
        try:
            keys = read_keys_file(self.path)
        except InvalidKey as error:
            log.error("keys_file_rejected", reason=str(error), kept="the keys loaded before")
            return False
        self.ring.replace_file_keys(keys)
        log.info("keys_file_loaded", keys=len(keys), ids=[key.key_id for key in keys])
        return True

    async def poll_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            # A small file: reading it costs less than a thread hop.
            self.reload_if_changed()
