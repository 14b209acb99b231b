"""Every figure of the analyst's report, computed from the order history and the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from app.analytics.bundles import Bundle, HookProduct, hook_products, suggest_bundles
from app.analytics.history import History
from app.analytics.holding import CoHolding, co_holding, holdings, top_by_holders
from app.analytics.tickets import PortfolioKpis, average_tickets, portfolio_kpis
from app.mining.baskets import encode_baskets
from app.mining.rules import default_min_count, mine_rules, thresholds_from
from app.mining.sequences import SequenceParams, mine_sequences
from app.published.snapshot import ProductFacts


@dataclass(frozen=True)
class ReportParams:
    top: int = 3  # products in the combination matrix
    top_products: int = 10
    rows: int = 10  # rows of the rules, sequences, bundles and hooks tables
    min_count: int | None = None  # orders behind a rule or bundle; default adapts to the data
    min_confidence: str = "0.1"
    min_buyers: int | None = None  # holders a hook product needs; default 1 % of customers


@dataclass(frozen=True)
class ProductRow:
    sku: str
    name: str
    holders: int
    share: float  # of customers
    price: float | None


@dataclass(frozen=True)
class RuleRow:
    antecedent: tuple[str, ...]
    consequent: str
    orders: int
    support: float
    confidence: float
    lift: float


@dataclass(frozen=True)
class SequenceRow:
    antecedent: str
    consequent: str
    customers: int
    confidence: float
    lift: float
    median_days: float


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    first_order: date | None
    last_order: date | None
    kpis: PortfolioKpis
    top_products: list[ProductRow]
    combination: CoHolding
    combination_products: list[ProductRow]
    rules: list[RuleRow]
    sequences: list[SequenceRow]
    pairs: list[Bundle]
    triples: list[Bundle]
    hooks: list[HookProduct]
    names: Mapping[str, str]  # sku -> product name

    def name(self, sku: str) -> str:
        return self.names.get(sku, sku)


def build_report(
    history: History, catalog: Mapping[str, ProductFacts], params: ReportParams
) -> Report:
    held = holdings(history)
    tickets = average_tickets(history)
    counts = held.holders()
    customers = max(held.n_customers, 1)
    # A lift ranking favours rare itemsets: ask for 0.1 % of orders, at least the default.
    min_count = params.min_count or max(
        default_min_count(history.n_orders), history.n_orders // 1000
    )
    ranked = top_by_holders(held, max(params.top_products, params.top))

    def product(code: int) -> ProductRow:
        sku = history.skus[code]
        facts = catalog.get(sku)
        price = facts.price if facts else None
        return ProductRow(
            sku,
            facts.name if facts else sku,
            int(counts[code]),
            int(counts[code]) / customers,
            price,
        )

    prices = {sku: facts.price for sku, facts in catalog.items()}
    pairs, triples = suggest_bundles(history, prices, min_count=min_count, top=params.rows)
    min_buyers = params.min_buyers or max(5, held.n_customers // 100)
    days = history.order_days()
    return Report(
        generated_at=datetime.now(UTC),
        first_order=_date(int(days.min())) if len(days) else None,
        last_order=_date(int(days.max())) if len(days) else None,
        kpis=portfolio_kpis(history),
        top_products=[product(code) for code in ranked[: params.top_products]],
        combination=co_holding(held, ranked[: params.top]),
        combination_products=[product(code) for code in ranked[: params.top]],
        rules=top_rules(history, min_count, params.min_confidence, params.rows),
        sequences=top_sequences(history, params.rows),
        pairs=pairs,
        triples=triples,
        hooks=hook_products(held, tickets, history.skus, min_buyers=min_buyers, top=params.rows),
        names={sku: facts.name for sku, facts in catalog.items()},
    )


def top_rules(history: History, min_count: int, min_confidence: str, rows: int) -> list[RuleRow]:
    """Order-scope rules (bought together) with the highest lift."""
    matrix = encode_baskets(history.line_order, history.line_item, history.n_items)
    thresholds = thresholds_from(
        n_baskets=max(matrix.shape[0], 1),
        min_count=min_count,
        min_confidence=min_confidence,
        min_lift="1.01",
        top_n=None,
    )
    rules = mine_rules(matrix, thresholds)
    lift, confidence, support = rules.lift, rules.confidence, rules.support
    found = []
    for k in np.lexsort((-rules.count, -confidence, -lift))[:rows].tolist():
        antecedent = tuple(history.skus[c] for c in rules.antecedent[k].tolist() if c >= 0)
        consequent = history.skus[int(rules.consequent[k])]
        found.append(
            RuleRow(
                antecedent,
                consequent,
                int(rules.count[k]),
                float(support[k]),
                float(confidence[k]),
                float(lift[k]),
            )
        )
    return found


def top_sequences(history: History, rows: int) -> list[SequenceRow]:
    """What customers buy in a later order, by confidence: the next-sale opportunities."""
    table = mine_sequences(history.purchases(), SequenceParams(top_n=None))
    confidence, lift, median = table.confidence, table.lift, table.delays.median
    found = []
    for k in np.lexsort((-lift, -confidence))[:rows].tolist():
        a, b = history.skus[int(table.antecedent[k])], history.skus[int(table.consequent[k])]
        found.append(
            SequenceRow(
                a, b, int(table.count[k]), float(confidence[k]), float(lift[k]), float(median[k])
            )
        )
    return found


def _date(day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + day)
