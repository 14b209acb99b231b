"""Average ticket per customer and for the whole portfolio, and the portfolio's KPIs.

Average ticket = revenue / orders. The portfolio figure counts every order, guest orders
(no customer id) included, since it is the shop's ticket; per-customer figures only cover
orders that name the customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.analytics.history import GUEST, History

Int64s = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Tickets:
    customer: Int64s  # ascending customer ids
    orders: Int64s
    revenue: Floats
    last_at: Int64s  # epoch seconds of the customer's latest order
    portfolio_average: float

    @property
    def average(self) -> Floats:
        return self.revenue / np.maximum(self.orders, 1)

    def of(self, customers: Int64s) -> NDArray[np.intp]:
        """Row of each given customer id (they must all be present)."""
        return np.searchsorted(self.customer, customers)


@dataclass(frozen=True)
class PortfolioKpis:
    customers: int  # customers with at least one order
    orders: int  # all orders, guest orders included
    revenue: float
    average_ticket: float
    median_days_between_orders: float | None  # gaps between a customer's consecutive orders
    repeat_share: float  # customers with a second order / customers


def average_tickets(history: History) -> Tickets:
    totals = history.order_totals()
    known = history.order_customer != GUEST
    customer, first = np.unique(history.order_customer[known], return_inverse=True)
    orders = np.bincount(first, minlength=len(customer)).astype(np.int64)
    revenue = np.bincount(first, weights=totals[known], minlength=len(customer))
    last_at = np.full(len(customer), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_at, first, history.order_at[known])
    average = float(totals.sum() / history.n_orders) if history.n_orders else 0.0
    return Tickets(customer, orders, revenue.astype(np.float64), last_at, average)


def portfolio_kpis(history: History) -> PortfolioKpis:
    tickets = average_tickets(history)
    gaps = days_between_orders(history)
    customers = len(tickets.customer)
    return PortfolioKpis(
        customers=customers,
        orders=history.n_orders,
        revenue=float(history.order_totals().sum()),
        average_ticket=tickets.portfolio_average,
        median_days_between_orders=float(np.median(gaps)) if len(gaps) else None,
        repeat_share=float((tickets.orders >= 2).sum() / customers) if customers else 0.0,
    )


def days_between_orders(history: History) -> Int64s:
    """Calendar days between consecutive orders of the same customer, pooled."""
    known = np.flatnonzero(history.order_customer != GUEST)
    customer, at = history.order_customer[known], history.order_at[known]
    order = np.lexsort((at, customer))
    customer, day = customer[order], history.order_days()[known][order]
    same = customer[1:] == customer[:-1]
    gaps: Int64s = (day[1:] - day[:-1])[same]
    return gaps
