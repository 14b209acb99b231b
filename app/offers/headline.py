"""Short human sentences for offers, e.g. "You're using 96 GB of 100 GB. ..."."""

from __future__ import annotations

import math
from decimal import Decimal

from app.offers.plans import Plan
from app.offers.triggers import Trigger

_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def headline(trigger: Trigger, plan: Plan, headroom_months: int | None, step: Decimal) -> str:
    room = f"{plan.name} gives you room for {_duration(headroom_months)}"
    return f"{_situation(trigger)} {room} {_price_phrase(step, plan.currency)}."


def format_amount(resource: str, value: float) -> str:
    """Storage in GB/TB (decimal units, as plans are sold); anything else as a count."""
    if math.isinf(value):
        return f"unlimited {_label(resource)}"
    if resource.endswith("_gb"):
        return f"{_number(value / 1000)} TB" if value >= 1000 else f"{_number(value)} GB"
    return f"{_number(value)} {_label(resource)}"


def _situation(trigger: Trigger) -> str:
    quota = format_amount(trigger.resource, trigger.quota)
    if trigger.by_trend:
        days = "1 day" if trigger.days_to_full == 1 else f"{trigger.days_to_full} days"
        return f"At this pace your {quota} will be full in {days}."
    if trigger.resource.endswith("_gb"):
        used = format_amount(trigger.resource, trigger.used)
    else:
        used = _number(trigger.used)  # "3 of 3 seats" reads better than "3 seats of 3 seats"
    return f"You're using {used} of {quota}."


def _duration(months: int | None) -> str:
    if months is None or months >= 24:
        return "years"
    if months >= 12:
        return "over a year"
    if months >= 2:
        return f"{months} months"
    return "a month" if months == 1 else "less than a month"


def _price_phrase(step: Decimal, currency: str) -> str:
    if step > 0:
        return f"for +{_money(step, currency)}/month"
    if step < 0:
        return f"for {_money(-step, currency)}/month less"
    return "at no extra cost"


def _money(amount: Decimal, currency: str) -> str:
    symbol = _CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount:.2f}" if symbol else f"{amount:.2f} {currency}"


def _number(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _label(resource: str) -> str:
    return resource.removesuffix("_gb").replace("_", " ")
