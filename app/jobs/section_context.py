"""What a version section is given (the run's catalog and window) and what it yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.published.snapshot import ProductFacts

Entry = tuple[str, bytes]


@dataclass(frozen=True)
class SectionContext:
    """What every section may use: the catalog by SKU and the time window of the run."""

    catalog: dict[str, ProductFacts]
    since: datetime | None
    now: datetime
