"""How a rebuild reports its progress: named phases, and a count while it publishes."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Told about each phase as it starts, then about the entries written in it."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, amount: int) -> None: ...


class Silent:
    """The reporter of unattended runs: the summary line says everything afterwards."""

    def phase(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None
