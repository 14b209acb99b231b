"""Import the catalog side: products, upgrade paths, plans and subscriptions (upserts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.models import Base, Subscription
from app.importing import rows
from app.importing.rows import Columns, ImportRejected, RowError

Parser = Callable[[int, dict[str, str]], dict[str, Any]]

PRODUCT_COLUMNS = Columns(
    required=("sku", "name", "category", "price", "cost", "in_stock"),
    optional=("active", "currency"),
)
UPGRADE_COLUMNS = Columns(required=("from_sku", "to_sku"))
PLAN_BASE = ("plan_id", "name", "tier", "monthly_price")
SUBSCRIPTION_COLUMNS = Columns(required=("customer_id", "plan_id", "started_at", "ended_at"))


def parse_product(line: int, record: dict[str, str]) -> dict[str, Any]:
    return {
        "sku": rows.identifier(record["sku"], "sku", line),
        "name": record["name"].strip() or record["sku"].strip(),
        "category": record["category"].strip(),
        "price": rows.money(record["price"], "price", line),
        "cost": rows.money(record["cost"], "cost", line),
        "in_stock": rows.boolean(record["in_stock"], "in_stock", line),
        "active": rows.boolean(record.get("active", ""), "active", line),
        "currency": (record.get("currency", "").strip() or "EUR").upper()[:3],
    }


def parse_upgrade(line: int, record: dict[str, str]) -> dict[str, Any]:
    source = rows.identifier(record["from_sku"], "from_sku", line)
    target = rows.identifier(record["to_sku"], "to_sku", line)
    if source == target:
        raise RowError(line, "from_sku and to_sku are the same item")
    return {"line": line, "from_sku": source, "to_sku": target}


def parse_plan(line: int, record: dict[str, str]) -> dict[str, Any]:
    """Columns beyond the fixed ones are quotas (storage_gb, seats, ...)."""
    fixed = {"plan_id", "name", "tier", "monthly_price", "currency", "active"}
    quotas = {
        name: value
        for name, raw in record.items()
        if name not in fixed and (value := rows.number(raw, name, line)) is not None
    }
    price = rows.money(record["monthly_price"], "monthly_price", line)
    if price is None:
        raise RowError(line, "empty monthly_price")
    return {
        "plan_id": rows.identifier(record["plan_id"], "plan_id", line),
        "name": record["name"].strip(),
        "tier": rows.integer(record["tier"], "tier", line),
        "monthly_price": price,
        "currency": (record.get("currency", "").strip() or "EUR").upper()[:3],
        "quotas": quotas,
        "active": rows.boolean(record.get("active", ""), "active", line),
    }


def parse_subscription(line: int, record: dict[str, str]) -> dict[str, Any]:
    started = rows.timestamp(record["started_at"], "started_at", line)
    ended = rows.optional_timestamp(record["ended_at"], "ended_at", line)
    if ended is not None and ended < started:
        raise RowError(line, "ended_at is before started_at")
    return {
        "line": line,
        "customer": rows.identifier(record["customer_id"], "customer_id", line),
        "plan": rows.identifier(record["plan_id"], "plan_id", line),
        "started_at": started,
        "ended_at": ended,
    }


def read_all(source: str, columns: Columns, parse: Parser) -> list[dict[str, Any]]:
    """Parse a whole (catalog-sized) file, collecting up to MAX_ERRORS bad rows."""
    parsed: list[dict[str, Any]] = []
    errors: list[RowError] = []
    with rows.open_text(source) as handle:
        try:
            for line, record in rows.iter_records(handle, columns):
                try:
                    parsed.append(parse(line, record))
                except RowError as error:
                    errors.append(error)
                    if len(errors) >= rows.MAX_ERRORS:
                        break
        except RowError as error:
            errors.append(error)
    if errors:
        raise ImportRejected(source, errors)
    return parsed


def plan_columns(source: str) -> Columns:
    """Plans accept any extra numeric column as a quota, so read the header first."""
    with rows.open_text(source) as handle:
        header = handle.readline().strip().split(",")
    extra = tuple(name.strip() for name in header if name.strip() not in PLAN_BASE)
    return Columns(required=PLAN_BASE, optional=extra)


async def import_products(engine: AsyncEngine, source: str) -> int:
    records = read_all(source, PRODUCT_COLUMNS, parse_product)
    async with engine.begin() as conn:
        await _upsert(conn, "products", "sku", records)
    return len(records)


async def import_plans(engine: AsyncEngine, source: str) -> int:
    records = read_all(source, plan_columns(source), parse_plan)
    async with engine.begin() as conn:
        await _upsert(conn, "plans", "plan_id", records)
    return len(records)


async def import_upgrades(engine: AsyncEngine, source: str) -> int:
    records = read_all(source, UPGRADE_COLUMNS, parse_upgrade)
    async with engine.begin() as conn:
        ids = await _ids(conn, "products", "sku")
        _require_known(source, records, ids, ("from_sku", "to_sku"))
        pairs = [{"a": ids[r["from_sku"]], "b": ids[r["to_sku"]]} for r in records]
        await conn.execute(text("DELETE FROM item_upgrades"))
        if pairs:
            await conn.execute(
                text("INSERT INTO item_upgrades (from_product_id, to_product_id) VALUES (:a, :b)"),
                pairs,
            )
    return len(records)


async def import_subscriptions(engine: AsyncEngine, source: str) -> int:
    """Replaces the subscription history of the customers named in the file."""
    records = read_all(source, SUBSCRIPTION_COLUMNS, parse_subscription)
    async with engine.begin() as conn:
        plans = await _ids(conn, "plans", "plan_id")
        _require_known(source, records, plans, ("plan",))
        customers = await _ensure_customers(conn, {r["customer"] for r in records})
        await _delete_subscriptions(conn, [customers[r["customer"]] for r in records])
        if records:
            await conn.execute(
                insert(Subscription), [_subscription_params(r, customers, plans) for r in records]
            )
    return len(records)


def _subscription_params(
    record: dict[str, Any], customers: dict[str, int], plans: dict[str, int]
) -> dict[str, Any]:
    return {
        "customer_id": customers[record["customer"]],
        "plan_id": plans[record["plan"]],
        "started_at": record["started_at"],
        "ended_at": record["ended_at"],
    }


async def _delete_subscriptions(conn: AsyncConnection, customer_ids: list[int]) -> None:
    unique = sorted(set(customer_ids))
    for start in range(0, len(unique), 500):
        batch = unique[start : start + 500]
        marks = ", ".join(str(int(value)) for value in batch)
        await conn.execute(text(f"DELETE FROM subscriptions WHERE customer_id IN ({marks})"))


async def _upsert(
    conn: AsyncConnection, table: str, key: str, records: list[dict[str, Any]]
) -> None:
    """Insert or update by natural key, through the model so types bind on every dialect."""
    if not records:
        return
    target = Base.metadata.tables[table]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(target)
    names = [name for name in records[0] if name != "line"]
    statement = statement.on_conflict_do_update(
        index_elements=[key],
        set_={name: statement.excluded[name] for name in names if name != key},
    )
    await conn.execute(statement, [{n: r[n] for n in names} for r in records])


async def _ids(conn: AsyncConnection, table: str, key: str) -> dict[str, int]:
    result = await conn.execute(text(f"SELECT {key}, id FROM {table}"))
    return {str(name): int(row_id) for name, row_id in result}


async def _ensure_customers(conn: AsyncConnection, names: set[str]) -> dict[str, int]:
    known = await _ids(conn, "customers", "external_id")
    missing = [{"external_id": name} for name in sorted(names - known.keys())]
    if missing:
        await conn.execute(
            text("INSERT INTO customers (external_id) VALUES (:external_id)"), missing
        )
        known = await _ids(conn, "customers", "external_id")
    return known


def _require_known(
    source: str, records: list[dict[str, Any]], known: dict[str, int], fields: tuple[str, ...]
) -> None:
    errors = [
        RowError(r["line"], f"unknown {field} {r[field]!r}")
        for r in records
        for field in fields
        if r[field] not in known
    ]
    if errors:
        raise ImportRejected(source, errors[: rows.MAX_ERRORS])
