"""The experiment report as text (a terminal) or an HTML section (the marketing report)."""

from __future__ import annotations

from html import escape

from app.events.report import ARMS, ExperimentReport
from app.events.statistics import Interval, Uplift

METRICS = {"revenue_per_unit": "revenue per unit", "conversion_rate": "conversion rate"}


def as_text(report: ExperimentReport) -> str:
    lines = [f"{'':<20}{'treatment':>14}{'control':>14}"]
    for name in (
        "units",
        "orders",
        "revenue",
        "revenue_per_unit",
        "conversion_rate",
        "attributed_revenue",
    ):
        values = [getattr(report.arms[arm], name) for arm in ARMS]
        lines.append(f"{name:<20}" + "".join(f"{_number(v):>14}" for v in values))
    lines.append("")
    for metric, label in METRICS.items():
        lines.append(f"uplift in {label}: {describe(report.uplift[metric])}")
    if report.cuped is not None:
        lines.append(
            f"uplift in revenue per unit, CUPED: {describe(report.cuped.uplift)} "
            f"(variance reduced by {report.cuped.variance_reduction:.0%})"
        )
    srm = report.srm
    if srm.p_value is not None:
        lines.append(
            f"sample ratio: control {srm.observed_share:.2%} of units, "
            f"{srm.expected_share:.2%} expected, p = {srm.p_value:.3g}"
        )
    if report.crossovers:
        lines.append(f"units seen in both arms (kept in their first): {report.crossovers}")
    lines.extend(f"WARNING: {warning}" for warning in report.warnings)
    return "\n".join(lines) + "\n"


def describe(uplift: Uplift) -> str:
    parts = [f"{uplift.absolute:+.4g}"]
    if uplift.relative is not None:
        parts.append(f"({uplift.relative:+.1%})")
    if uplift.ci95 is not None:
        parts.append(f"95% CI {_interval(uplift.ci95)}")
    if uplift.p_value is not None:
        parts.append(f"p = {uplift.p_value:.3g}")
    if uplift.sequential_ci95 is not None:
        parts.append(f"always-valid {_interval(uplift.sequential_ci95)}")
    return " ".join(parts)


def _interval(interval: Interval) -> str:
    return f"[{interval[0]:.4g}, {interval[1]:.4g}]"


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def as_html(report: ExperimentReport, days: int = 14) -> str:
    """A self-contained section: per-arm figures with intervals, uplifts, warnings, the trend."""
    rows = "".join(
        f"<tr><th>{escape(arm)}</th><td>{f.units:,}</td><td>{f.orders:,}</td>"
        f"<td>{f.revenue:,.2f}</td><td>{f.revenue_per_unit:,.2f}</td>"
        f"<td>{_interval(f.revenue_per_unit_ci95) if f.revenue_per_unit_ci95 else '-'}</td>"
        f"<td>{f.conversion_rate:.2%}</td><td>{f.attributed_revenue:,.2f}</td></tr>"
        for arm, f in report.arms.items()
    )
    uplifts = "".join(
        f"<li>{escape(label)}: {escape(describe(report.uplift[metric]))}</li>"
        for metric, label in METRICS.items()
    )
    if report.cuped is not None:
        uplifts += (
            f"<li>revenue per unit, CUPED: {escape(describe(report.cuped.uplift))} "
            f"(variance reduced by {report.cuped.variance_reduction:.0%})</li>"
        )
    warnings = "".join(f'<p class="warning">{escape(w)}</p>' for w in report.warnings)
    trend = "".join(
        f"<tr><th>{point.day.isoformat()}</th><td>{_money(point.treatment)}</td>"
        f"<td>{_money(point.control)}</td></tr>"
        for point in report.daily[-days:]
    )
    return (
        "<section><h2>Holdout experiment</h2>"
        + warnings
        + "<table><tr><th>arm</th><th>units</th><th>orders</th><th>revenue</th>"
        "<th>revenue / unit</th><th>95 % interval</th><th>conversion</th>"
        f"<th>attributed revenue</th></tr>{rows}</table><ul>{uplifts}</ul>"
        "<h3>Revenue per unit so far, by day</h3><table><tr><th>day</th><th>treatment</th>"
        f"<th>control</th></tr>{trend}</table></section>"
    )


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"
