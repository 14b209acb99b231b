"""What a version section is given (the run's catalog and window) and what it yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.analytics.history import History
from app.published.snapshot import ProductFacts

Entry = tuple[str, bytes]


class Handover:
    """The order history the rebuild already read, for the one section that takes it: the
    orders are read once, and freed as soon as that section is done with them."""

    def __init__(self, history: History | None = None) -> None:
        self._history = history

    def take(self) -> History | None:
        history, self._history = self._history, None
        return history


@dataclass(frozen=True)
class SectionContext:
    """What every section may use: the catalog by SKU, the time window of the run and,
    once, the history of that window (None: read it)."""

    catalog: dict[str, ProductFacts]
    since: datetime | None
    now: datetime
    history: Handover = field(default_factory=Handover)
