"""Loading an empty table: its secondary indexes and foreign keys built once, after the rows.

Postgres checks a foreign key and inserts into every index once per row; for millions of
rows into an empty table one index build and one validating join at the end cost a fraction
of that. Everything happens in the import's transaction (Postgres DDL is transactional): a
failed import leaves the schema as it was, and other sessions wait on the tables' locks
rather than see them without their indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Index builds and the final validating joins sort and hash millions of rows.
WORK_MEMORY = ("SET LOCAL maintenance_work_mem = '512MB'", "SET LOCAL work_mem = '256MB'")

FOREIGN_KEYS = """
SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)
FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[]))
ORDER BY 1, 2
"""
SECONDARY_INDEXES = """
SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid = ANY(CAST(:tables AS regclass[])) AND NOT indisprimary AND NOT indisunique
ORDER BY 1
"""


async def set_aside(conn: AsyncConnection, tables: Sequence[str]) -> list[str]:
    """Drop the foreign keys and non-unique indexes of `tables` (Postgres only) and return
    the statements that put them back, in order. Unique indexes stay: they decide conflicts."""
    names = {"tables": list(tables)}
    keys = (await conn.execute(text(FOREIGN_KEYS), names)).all()
    indexes = (await conn.execute(text(SECONDARY_INDEXES), names)).all()
    for statement in WORK_MEMORY:
        await conn.execute(text(statement))
    for table, name, _ in keys:
        await conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
    for index, _ in indexes:
        await conn.execute(text(f"DROP INDEX {index}"))
    constraints = [f"ALTER TABLE {tbl} ADD CONSTRAINT {name} {rule}" for tbl, name, rule in keys]
    return [definition for _, definition in indexes] + constraints
