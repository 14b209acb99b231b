"""The order history as columnar arrays: what every figure of campaigns and the report reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from app.mining.runs import distinct
from app.mining.sequence_events import Events, prepare_orders
from app.mining.sequences import SECONDS_PER_DAY, Purchases

Int64s = NDArray[np.int64]
Int32s = NDArray[np.int32]
Floats = NDArray[np.float64]
GUEST = -1  # customer of an order placed without a customer id


@dataclass(frozen=True)
class History:
    """Orders and their lines; line amounts are quantity x unit price, already resolved.

    A line without a unit price is valued at the catalog price, and at 0 when neither is
    known (the reader decides; here amounts are plain numbers).
    """

    order_customer: Int64s  # per order; GUEST for orders without a customer
    order_at: Int64s  # epoch seconds per order
    line_order: Int64s  # order index per line
    line_item: Int32s  # item code per line
    line_amount: Floats
    skus: tuple[str, ...]  # sku per item code
    customer_names: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.order_customer) != len(self.order_at):
            raise ValueError("order_customer and order_at must be equally long")
        if not len(self.line_order) == len(self.line_item) == len(self.line_amount):
            raise ValueError("line_order, line_item and line_amount must be equally long")

    @property
    def n_orders(self) -> int:
        return len(self.order_at)

    @property
    def n_items(self) -> int:
        return len(self.skus)

    def order_totals(self) -> Floats:
        """Revenue of every order: the sum of its line amounts."""
        totals = np.bincount(self.line_order, weights=self.line_amount, minlength=self.n_orders)
        return totals.astype(np.float64)

    def order_days(self) -> Int64s:
        """UTC calendar day number of every order."""
        days: Int64s = np.floor_divide(self.order_at, SECONDS_PER_DAY)
        return days

    def purchases(self) -> Purchases:
        """Lines of orders with a customer, as the sequence miner reads them."""
        known = self.order_customer[self.line_order] != GUEST
        orders = self.line_order[known]
        return Purchases(
            self.order_customer[orders],
            orders,
            self.order_at[orders],
            self.line_item[known],
            self.n_items,
        )

    def events(self) -> Events:
        """`prepare(self.purchases())` without the purchases: read from the orders and lines
        held here, it spares their 28 bytes a line (customer, order, time, item)."""
        orders = np.zeros(self.n_orders, np.bool_)
        orders[self.line_order] = True  # an order without lines is no purchase
        orders &= self.order_customer != GUEST
        numbers = np.flatnonzero(orders).astype(np.int64)
        return prepare_orders(
            numbers,
            self.order_customer[numbers],
            self.order_at[numbers],
            self.line_order,
            self.line_item,
            self.n_items,
        )

    def last_purchases(self) -> tuple[Int64s, Int64s, Int64s]:
        """(customer, item, day) of each customer's latest purchase of each item they bought,
        sorted by customer then item. Guest orders are left out."""
        known = self.order_customer != GUEST
        # Customers numbered per order (a million orders, not four million lines), by a
        # plain sort and a binary search: np.unique(return_inverse=True) argsorts instead.
        ids = distinct(self.order_customer[known])
        who = np.searchsorted(ids, self.order_customer)
        day = self.order_days()
        first, last = (int(day[known].min()), int(day[known].max())) if known.any() else (0, 0)
        item_bits, day_bits = _bits(self.n_items), _bits(last - first + 1)
        # (customer, item, day) packed by shifts: dividing four million keys costs more
        # than sorting them.
        packed = (who << (item_bits + day_bits)) | (day - first)
        del who, day
        line_known = known[self.line_order]
        keys = packed[self.line_order[line_known]] | (
            self.line_item[line_known].astype(np.int64) << day_bits
        )
        del packed, line_known
        # kind="stable" (timsort) merges the runs lines come in, one per order: ~2x quicksort.
        keys.sort(kind="stable")
        pair = keys >> day_bits
        # The latest day of a (customer, item) run ends that run once the keys are sorted.
        latest = np.append(pair[1:] != pair[:-1], True) if len(keys) else np.zeros(0, np.bool_)
        keys, pair = keys[latest], pair[latest]
        return (
            ids[pair >> item_bits],
            pair & ((1 << item_bits) - 1),
            (keys & ((1 << day_bits) - 1)) + first,
        )

    def name_of(self, customer: int) -> str:
        return self.customer_names.get(customer, str(customer))


def _bits(values: int) -> int:
    """Bits that hold 0 .. values - 1."""
    return max(values - 1, 0).bit_length()


def history_from_orders(
    orders: Sequence[tuple[int | None, int, Sequence[tuple[str, float]]]],
    customer_names: Mapping[int, str] | None = None,
) -> History:
    """A small history from (customer or None, epoch seconds, [(sku, amount), ...]) rows.

    SKUs are numbered in sorted order. Meant for tests and examples, not for big data.
    """
    skus = tuple(sorted({sku for _, _, lines in orders for sku, _ in lines}))
    code = {sku: index for index, sku in enumerate(skus)}
    line_order = [index for index, (_, _, lines) in enumerate(orders) for _ in lines]
    return History(
        order_customer=np.array([GUEST if c is None else c for c, _, _ in orders], np.int64),
        order_at=np.array([at for _, at, _ in orders], np.int64),
        line_order=np.array(line_order, np.int64),
        line_item=np.array([code[s] for _, _, lines in orders for s, _ in lines], np.int32),
        line_amount=np.array([a for _, _, lines in orders for _, a in lines], np.float64),
        skus=skus,
        customer_names=dict(customer_names or {}),
    )
