"""SQLAlchemy models: the catalog, orders, plans, rule builds, and events and exposures."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY, Postgres wants room for billions of lines.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(12, 2)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(128), default="")
    price: Mapped[Decimal | None] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    in_stock: Mapped[bool] = mapped_column(Boolean, default=True)


class ItemUpgrade(Base):
    """A declared upgrade path: the bigger or better version of an item (27" TV -> 32")."""

    __tablename__ = "item_upgrades"

    from_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    to_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index(None, "ordered_at"),
        Index(None, "customer_id", "ordered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(32))


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (Index(None, "order_id"), Index(None, "product_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal | None] = mapped_column(Money)


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    tier: Mapped[int] = mapped_column(Integer)
    monthly_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    quotas: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (Index(None, "customer_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UpgradeOutcome(Base):
    """An accepted or declined upgrade offer, kept for later analysis."""

    __tablename__ = "upgrade_outcomes"
    # A batch the drainer committed but could not acknowledge comes back: the same record
    # (customer, offer, outcome, the API's microsecond) is stored once.
    __table_args__ = (UniqueConstraint("customer_external_id", "offer_id", "outcome", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_external_id: Mapped[str] = mapped_column(String(128))
    offer_id: Mapped[str] = mapped_column(String(160))
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RuleBuild(Base):
    """One run of the nightly rebuild, successful or not."""

    __tablename__ = "rule_builds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None] = mapped_column(Integer)
    orders_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rules: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum: Mapped[str | None] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """A click, add-to-cart or purchase sent to POST /events, once per event_id."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "unit", "at"), Index(None, "type", "at"))

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(128))  # customer_id, else session_id
    customer_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sku: Mapped[str | None] = mapped_column(String(128))
    order_id: Mapped[str | None] = mapped_column(String(128))


class EventLine(Base):
    """One line of a purchase event."""

    __tablename__ = "event_lines"

    event_id: Mapped[str] = mapped_column(
        ForeignKey("events.event_id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 4))


class Exposure(Base):
    """One answer shown to an experiment unit: its arm and the SKUs it showed."""

    __tablename__ = "exposures"
    __table_args__ = (Index(None, "unit", "at"), Index(None, "at"))

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(32))
    skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
