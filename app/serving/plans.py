"""The plan catalog of the held version, decoded once per version."""

from __future__ import annotations

from app.offers import PlanCatalog
from app.published import keys
from app.published.plans import decode_plans
from app.serving.reader import LoadedVersion

EMPTY = PlanCatalog(())


class PlanCatalogCache:
    """Decodes the plans entry once per loaded version.

    The reader fetches a version's entries once and keeps the same bytes object
    until the pointer moves, so that object identifies the version; holding it
    keeps its identity from being reused.
    """

    def __init__(self) -> None:
        self._raw: bytes | None = None
        self._catalog = EMPTY

    def catalog(self, loaded: LoadedVersion) -> PlanCatalog:
        """The version's plans; EMPTY when it was published without any."""
        raw = loaded.extras.get(keys.PLANS)
        if raw is None:
            return EMPTY
        if raw is not self._raw:
            self._catalog = decode_plans(raw)
            self._raw = raw
        return self._catalog
