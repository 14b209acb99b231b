"""Server-level statements (CREATE/DROP DATABASE) that must run outside a transaction."""

from __future__ import annotations

from sqlalchemy import text

from app.db.engine import make_engine


async def run_admin_sql(server_url: str, sql: str) -> None:
    """Run one statement in autocommit mode on the server `server_url` points at."""
    engine = make_engine(server_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()
