"""The published plan catalog: its entry bytes, and the decoded catalog of the held version."""

from __future__ import annotations

import orjson

from app.offers import PlanCatalog, plans_from_json, plans_to_json
from app.serving.reader import LoadedVersion
from app.store import keys

EMPTY = PlanCatalog(())


def encode_plans(catalog: PlanCatalog) -> bytes:
    return orjson.dumps(plans_to_json(catalog))


def decode_plans(raw: bytes) -> PlanCatalog:
    """Raises ValueError naming the broken part of the entry."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"plans entry is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("plans entry must be a JSON object")
    return plans_from_json(data)


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


PLAN_CATALOGS = PlanCatalogCache()
