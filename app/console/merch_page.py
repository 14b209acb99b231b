"""/console/merchandising: pin, boost, bury and block items, and see a cart change at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.api.deps import ResourcesDep, Serving
from app.api.merchandising import MerchRuleModel
from app.console.session import (
    PREFIX,
    STORE_DEADLINE_SECONDS,
    ChangeDep,
    ConsoleSession,
    SessionDep,
)
from app.console.templates import page
from app.console.tester import CartForm, Tried, try_cart, validation_messages
from app.serving.guard import StoreUnavailable
from app.serving.merchandising import Action, Merchandising, MerchRule

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE = f"{PREFIX}/merchandising"
DEFAULT_CART = "roses-red-12"
Field = Annotated[str, Form(max_length=256)]


@router.get("/merchandising", response_class=HTMLResponse)
async def merchandising_page(
    request: Request,
    session: SessionDep,
    resources: ResourcesDep,
    cart: Annotated[str, Query(max_length=4096)] = DEFAULT_CART,
) -> Response:
    return await _render(request, session, resources, cart)


@dataclass(frozen=True)
class RuleFields:
    """One merchandising rule as the page's forms send it, with the cart being looked at."""

    sku: str
    action: str
    antecedent: str
    factor: str
    cart: str


async def rule_fields(
    sku: Field,
    action: Field,
    antecedent: Field = "",
    factor: Field = "",
    cart: Field = DEFAULT_CART,
) -> RuleFields:
    return RuleFields(sku, action, antecedent, factor, cart)


RuleFieldsDep = Annotated[RuleFields, Depends(rule_fields)]


@router.post("/merchandising", response_class=HTMLResponse)
async def add_rule(
    request: Request, session: ChangeDep, resources: ResourcesDep, form: RuleFieldsDep
) -> Response:
    return await _change(request, session, resources, form, list.append)


@router.post("/merchandising/remove", response_class=HTMLResponse)
async def remove_rule(
    request: Request, session: ChangeDep, resources: ResourcesDep, form: RuleFieldsDep
) -> Response:
    return await _change(request, session, resources, form, _remove)


async def _change(
    request: Request,
    session: ConsoleSession,
    resources: ResourcesDep,
    form: RuleFields,
    edit: Callable[[list[MerchRule], MerchRule], None],
) -> Response:
    try:
        rule = parse_rule(form.sku, form.action, form.antecedent, form.factor)
    except ValidationError as error:
        errors = validation_messages(error)
        return await _render(request, session, resources, form.cart, errors, status=422)
    reader = resources.reader
    await reader.refresh()  # another worker may have changed them since this one polled
    rules = list(reader.merchandising.rules)
    edit(rules, rule)
    return await _save(request, session, resources, Merchandising(tuple(rules)), form.cart)


def _remove(rules: list[MerchRule], gone: MerchRule) -> None:
    if gone in rules:  # already removed elsewhere: nothing to do
        rules.remove(gone)


def parse_rule(sku: str, action: str, antecedent: str, factor: str) -> MerchRule:
    """A rule from form fields, checked by the same model as PUT /admin/merchandising."""
    model = MerchRuleModel.model_validate(
        {
            "sku": sku.strip(),
            "action": action,
            "antecedent": antecedent.strip() or None,
            "factor": _factor(factor),
        }
    )
    return MerchRule(model.sku, model.action, model.antecedent, model.factor)


async def _save(
    request: Request,
    session: ConsoleSession,
    resources: ResourcesDep,
    merch: Merchandising,
    cart: str,
) -> Response:
    try:
        await resources.reader.replace_merchandising(merch, STORE_DEADLINE_SECONDS)
    except StoreUnavailable as error:
        errors = [f"the rule store did not answer, nothing changed: {error}"]
        return await _render(request, session, resources, cart, errors, status=503)
    # Post/redirect/get: a reload never sends the change twice.
    return RedirectResponse(f"{PAGE}?cart={quote(cart)}", status_code=303)


async def _render(
    request: Request,
    session: ConsoleSession,
    resources: ResourcesDep,
    cart: str,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    loaded = resources.reader.loaded
    given = CartForm(cart=cart, limit="5")
    before, after = Tried(), Tried()
    if loaded is not None:
        serving = Serving(resources, loaded)
        before = await try_cart(serving, given, merchandising=False)
        after = await try_cart(serving, given)
    context = {
        "title": "Merchandising",
        "rules": resources.reader.merchandising.rules,
        "catalog": loaded.catalog if loaded else {},
        "actions": [action.value for action in Action],
        "given": given,
        "before": before,
        "after": after,
        "errors": errors or [],
    }
    return page(request, "merchandising.html", session, context, status=status)


def _factor(text: str) -> float | str | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return text  # refused by the model with its own message
