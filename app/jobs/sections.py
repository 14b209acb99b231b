"""Extra parts of a published version beyond the co-purchase rules (plans, sequences, ...).

Each section reads what it needs from the database and returns entries; the rebuild
writes them into the same version, so they are published and rolled back together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from app.jobs.entries import Entries
from app.jobs.next_sale_section import next_sale_section
from app.jobs.plans_section import plans_section
from app.jobs.section_context import SectionContext

# A list, or a sized stream yielding its entries in name order (see app.jobs.entries).
Section = Callable[[AsyncEngine, SectionContext], Awaitable[Entries]]

SECTIONS: tuple[Section, ...] = (plans_section, next_sale_section)
