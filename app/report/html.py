"""Render the report as one self-contained HTML page (inline CSS, heatmap embedded as base64)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape

from app.analytics.bundles import Bundle
from app.report.figures import Report
from app.report.style import CSS

Cell = str | tuple[str, str]  # text, or (html, css class); text is always escaped
NONE = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"


def money(value: float | None) -> str:
    return NONE if value is None else f"{value:,.2f} €"


def percent(share: float, digits: int = 1) -> str:
    return f"{share * 100:.{digits}f} %"


def render_html(report: Report, heatmap_png: bytes, experiment_html: str = "") -> str:
    """`experiment_html`: the holdout experiment's section, when one is running."""
    sections = [
        _header(report),
        _kpis(report),
        _top_products(report),
        _combination(report, heatmap_png),
        _rules(report),
        _sequences(report),
        _bundles(report),
        _hooks(report),
        experiment_html,
        _footer(),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>cartlift report</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(sections)}</main></body></html>\n"
    )


def _header(report: Report) -> str:
    period = (
        f"Orders from {report.first_order:%d %b %Y} to {report.last_order:%d %b %Y}"
        if report.first_order and report.last_order
        else "No orders yet"
    )
    return (
        f'<header><p class="eyebrow">cartlift · portfolio report</p>'
        f"<h1>How customers buy, and what to offer them next</h1>"
        f'<p class="muted">{escape(period)} · generated {report.generated_at:%d %b %Y %H:%M} UTC'
        "</p></header>"
    )


def _kpis(report: Report) -> str:
    k = report.kpis
    median = (
        NONE if k.median_days_between_orders is None else f"{k.median_days_between_orders:g} days"
    )
    cards = [
        ("Customers", f"{k.customers:,}", "with at least one order"),
        ("Orders", f"{k.orders:,}", f"{money(k.revenue)} revenue"),
        ("Average ticket", money(k.average_ticket), "revenue per order"),
        ("Between orders", median, "median, same customer"),
        ("Came back", percent(k.repeat_share), "of customers ordered twice or more"),
    ]
    body = "".join(
        f'<div class="kpi"><span>{escape(label)}</span><strong>{escape(value)}</strong>'
        f"<small>{escape(note)}</small></div>"
        for label, value, note in cards
    )
    return f'<section class="kpis">{body}</section>'


def _top_products(report: Report) -> str:
    rows: list[list[Cell]] = [
        [
            (str(n), "rank"),
            (_product(report, p.sku, code=True), ""),
            (_bar(p.share), "bar"),
            f"{p.holders:,}",
            money(p.price),
        ]
        for n, p in enumerate(report.top_products, start=1)
    ]
    header = ["#", "Product", "Share of customers", "Holders", "Price"]
    table = _table(header, rows, left=3)
    return _section(
        "Top products by holders", "Customers who bought each product at least once.", table
    )


def _combination(report: Report, heatmap_png: bytes) -> str:
    combo, products = report.combination, report.combination_products
    k = len(products)
    if k < 2:
        return _section("How the top products combine", "Not enough products yet.", "")
    facts = "".join(
        f'<div class="fact"><strong>{percent(share)}</strong>'
        f"<span>of customers hold {escape(what)}</span></div>"
        for share, what in _holding_facts(combo.share_exactly.tolist())
    )
    image = base64.b64encode(heatmap_png).decode("ascii")
    names = [p.name for p in products]
    rows: list[list[Cell]] = [
        [(escape(n), "name"), *(percent(v) for v in combo.share_of_holders[i])]
        for i, n in enumerate(names)
    ]
    matrix = _table(["Holders of", *names], rows)
    body = (
        f'<div class="facts">{facts}</div><div class="split">'
        f'<img class="heatmap" alt="Co-holding heatmap of the top {k} products" '
        f'src="data:image/png;base64,{image}"><div class="matrix">{matrix}<p class="muted">'
        "Row i, column j: share of the holders of product i who also hold product j.</p>"
        "</div></div>"
    )
    return _section(f"How the top {k} products combine", _names(names), body)


def _holding_facts(exactly: Sequence[float]) -> list[tuple[float, str]]:
    """Exactly 2 and all of them; at least 2 as well when there are more than three."""
    k = len(exactly) - 1
    if k == 2:
        return [(exactly[2], "both of them")]
    facts = [(float(sum(exactly[2:])), "at least 2 of them")] if k > 3 else []
    return [*facts, (exactly[2], "exactly 2 of them"), (exactly[k], f"all {k} of them")]


def _rules(report: Report) -> str:
    rows: list[list[Cell]] = [
        [
            (
                " + ".join(_product(report, s) for s in r.antecedent)
                + " → "
                + _product(report, r.consequent),
                "",
            ),
            f"{r.lift:.2f}",
            percent(r.confidence),
            percent(r.support, 2),
            f"{r.orders:,}",
        ]
        for r in report.rules
    ]
    table = _table(["Rule", "Lift", "Confidence", "Support", "Orders"], rows)
    return _section(
        "Bought together: top rules by lift",
        "Orders with the left side that also hold the right side.",
        table,
    )


def _sequences(report: Report) -> str:
    rows: list[list[Cell]] = [
        [
            (_product(report, s.antecedent) + " → " + _product(report, s.consequent), ""),
            percent(s.confidence),
            f"{s.lift:.2f}",
            f"{s.median_days:g} days",
            f"{s.customers:,}",
        ]
        for s in report.sequences
    ]
    table = _table(
        ["Then, in a later order", "Confidence", "Lift", "Median delay", "Customers"], rows
    )
    return _section(
        "What comes next",
        "Bought within 90 days after the first item, among "
        "customers with two or more orders: the next-sale campaigns.",
        table,
    )


def _bundles(report: Report) -> str:
    def rows(bundles: Iterable[Bundle]) -> list[list[Cell]]:
        return [
            [
                (" + ".join(_product(report, s) for s in b.skus), ""),
                f"{b.lift:.2f}",
                f"{b.orders:,}",
                money(b.price),
            ]
            for b in bundles
        ]

    header = ["Bundle", "Lift", "Orders", "Combined price"]
    body = (
        f"<h3>Pairs</h3>{_table(header, rows(report.pairs))}"
        f'<h3 class="gap">Triples</h3>{_table(header, rows(report.triples))}'
    )
    return _section(
        "Bundle ideas",
        "Items bought in the same order far more often than "
        "chance (lift) — candidates for bundles and shelf neighbours.",
        body,
    )


def _hooks(report: Report) -> str:
    rows: list[list[Cell]] = [
        [
            (_product(report, h.sku), ""),
            money(h.buyers_average_ticket),
            (f"{h.versus_portfolio:.2f}{TIMES}", "strong" if h.versus_portfolio >= 1 else ""),
            f"{h.buyers:,}",
        ]
        for h in report.hooks
    ]
    table = _table(["Product", "Buyers' average ticket", "vs. portfolio", "Buyers"], rows)
    return _section(
        "Hook products",
        "Products whose buyers spend the most per order: "
        "feature them to attract valuable customers.",
        table,
    )


def _footer() -> str:
    return (
        '<footer class="muted">Average ticket = revenue / orders. A customer holds a product '
        "when any of their orders contains it. Lift above 1 means more often together than by "
        "chance.</footer>"
    )


def _section(title: str, lead: str, body: str) -> str:
    lead_html = f'<p class="muted">{escape(lead)}</p>' if lead else ""
    return f"<section><h2>{escape(title)}</h2>{lead_html}{body}</section>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Cell]], left: int = 1) -> str:
    """Columns from `left` on hold figures: right-aligned, headers too."""
    if not rows:
        return '<p class="empty">Nothing passes the thresholds yet.</p>'
    head = "".join(
        f'<th class="{"text" if k < left else "num"}">{escape(h)}</th>'
        for k, h in enumerate(header)
    )
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(cell: Cell) -> str:
    if isinstance(cell, tuple):
        html, css = cell
        return f'<td class="{css}">{html}</td>' if css else f"<td>{html}</td>"
    return f'<td class="num">{escape(cell)}</td>'


def _product(report: Report, sku: str, *, code: bool = False) -> str:
    """The product's name; its SKU shown in the main table, a tooltip elsewhere."""
    name, tag = escape(report.name(sku)), escape(sku)
    if code:
        return f'<span class="product">{name}</span> <code>{tag}</code>'
    return f'<span class="product" title="{tag}">{name}</span>'


def _names(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]


def _bar(share: float) -> str:
    width = max(0.0, min(share, 1.0)) * 100
    return f'<i style="width:{width:.1f}%"></i><span>{percent(share)}</span>'
