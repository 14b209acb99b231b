"""What a rebuild run reports: its exit code for schedulers and its figures for the audit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """What a scheduler sees; documented in the README."""

    PUBLISHED = 0
    FAILED = 1
    INVALID = 2  # bad parameters: refused before touching anything
    REFUSED = 3
    LOCKED = 75


@dataclass
class RebuildResult:
    code: ExitCode
    message: str
    version: int | None = None
    orders: int = 0
    baskets: int = 0
    items: int = 0
    rules: int = 0
    min_count: int = 0
    checksum: str | None = None
    engine: str = "numpy"  # who counted the baskets (RebuildOptions.engine)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "code": int(self.code), "status": self.code.name.lower()}
