"""The migrations build exactly the schema the models describe, on Postgres and SQLite."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.schema import schema_differences


async def test_a_migrated_database_matches_the_models(engine: AsyncEngine) -> None:
    differences = await schema_differences(engine)
    assert differences == [], "a model changed without a migration (or the reverse)"
