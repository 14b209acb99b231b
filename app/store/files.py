"""Whole-file replacement that readers never see half-done, shared by the file backends."""

from __future__ import annotations

import os
import time
from pathlib import Path


def replace_file(path: Path, content: bytes) -> None:
    """Write `content` to `path` atomically (os.replace is atomic on POSIX)."""
    # A name per writer, so two workers writing at once never share a half-written file.
    temporary = path.with_suffix(f"{path.suffix}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
