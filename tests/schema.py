"""How a database's schema differs from the models (alembic's autogenerate comparison)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    """Every index, key, column or type the database has and the models lack, or the reverse."""
    async with engine.connect() as conn:
        return await conn.run_sync(_differences)
