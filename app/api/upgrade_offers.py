"""POST /upgrade-offers: the plan upgrade a customer who is outgrowing theirs should see."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response
from fastapi.exceptions import RequestValidationError

from app import metrics
from app.api.deps import Resources, ServingDep, serving_context
from app.api.errors import ProblemError, problem_responses, unavailable
from app.api.upgrade_answer import answer_json, upgrade_request
from app.api.upgrade_schemas import (
    OutcomeRequest,
    OutcomeResponse,
    UpgradeOffersRequest,
    UpgradeOffersResponse,
)
from app.events.rows import outcome_record
from app.events.stream import EventLog, EventLogUnavailable, Record
from app.logs import get_logger
from app.offers import (
    Assessment,
    InvalidOfferId,
    InvalidUsage,
    NoOfferReason,
    OfferNotForCustomer,
    OfferPolicy,
    Plan,
    PlanCatalog,
    UnknownPlan,
    UpgradeDecision,
    UpgradeRequest,
    assess,
    decide,
    parse_offer_id,
    sign_offer_id,
    verify_offer_id,
)
from app.serving.cooldowns import Cooldowns
from app.serving.guard import StoreUnavailable
from app.serving.reader import LoadedVersion
from app.settings import Settings
from app.store.base import Decline

T = TypeVar("T")
router = APIRouter(tags=["upgrade offers"])
log = get_logger(__name__)
OfferId = Annotated[
    str,
    Path(
        description="As returned in `offers[].offer_id` for this customer_id",
        examples=["basic-100gb->plus-2tb.K1hD8n3RfSWbzL0cYb7a2Q"],
    ),
]


@router.post(
    "/upgrade-offers",
    responses=problem_responses(401, 404, 413, 422, 503),
    summary="Plan upgrades for a customer outgrowing their plan",
    response_model=UpgradeOffersResponse,
)
async def offers_for_customer(body: UpgradeOffersRequest, request: Request) -> Response:
    # Called, not injected, as on /recommend: dependency solving is a tenth of this route.
    serving = await serving_context(request)
    settings, loaded = serving.settings, serving.loaded
    catalog = _catalog(serving.resources, loaded)
    upgrade = upgrade_request(body, datetime.now(UTC).date())
    assessment = _assess(upgrade, catalog, _policy(settings))
    resources = serving.resources
    unit, variant = resources.holdout.assign(body.customer_id, None)
    declined: frozenset[str] = frozenset()
    if variant == "control":  # held out: no offer at all (there is no "popular" plan)
        decision = UpgradeDecision(assessment.trigger, (), NoOfferReason.HOLDOUT)
    else:
        if assessment.candidates:  # only an answer cooldowns can change needs them
            declined = _declined(resources.cooldowns, body.customer_id, assessment, settings)
        decision = decide(assessment, declined)
    metrics.UPGRADE_ANSWERS.labels(decision.reason or "offered").inc()
    request_id: str = request.state.request_id
    if unit is not None:
        shown = [offer.plan_id for offer in decision.offers]
        resources.exposures.record(request_id, unit, variant, "upgrade_offers", shown)
    secret = await _store(resources.signing_secret.get(), settings) if decision.offers else b""
    sign = partial(sign_offer_id, secret, body.customer_id)
    answer = answer_json(request_id, loaded.version, decision, variant, sign)
    return Response(answer, media_type="application/json")


@router.post(
    "/upgrade-offers/{offer_id}/decline",
    responses=problem_responses(401, 404, 422, 503),
    summary="The customer declined an offer: stay quiet about that plan for a while",
)
async def decline_offer(
    offer_id: OfferId,
    body: OutcomeRequest,
    request: Request,
    background: BackgroundTasks,
    serving: ServingDep,
) -> OutcomeResponse:
    resources, reader, settings = serving.resources, serving.reader, serving.settings
    pair_id = await _verified(offer_id, body.customer_id, resources)
    target = _offered_plan(pair_id, _catalog(resources, serving.loaded))
    until = None
    cooldowns = resources.cooldowns
    if cooldowns.cooldown_seconds > 0:  # zero days: no cooldown
        note = reader.store.record_decline(
            body.customer_id, target.plan_id, keep_seconds=cooldowns.cooldown_seconds
        )
        at = await _store(reader.guard.call(note), settings)
        cooldowns.remember(Decline(body.customer_id, target.plan_id, at))
        until = datetime.fromtimestamp(at + cooldowns.cooldown_seconds, UTC)
    _record(background, resources.event_log, body.customer_id, pair_id, "declined")
    return OutcomeResponse(
        request_id=request.state.request_id,
        offer_id=offer_id,
        outcome="declined",
        cooldown_until=until,
    )


@router.post(
    "/upgrade-offers/{offer_id}/accept",
    responses=problem_responses(401, 404, 422, 503),
    summary="The customer accepted an offer",
)
async def accept_offer(
    offer_id: OfferId,
    body: OutcomeRequest,
    request: Request,
    background: BackgroundTasks,
    serving: ServingDep,
) -> OutcomeResponse:
    pair_id = await _verified(offer_id, body.customer_id, serving.resources)
    _offered_plan(pair_id, _catalog(serving.resources, serving.loaded))
    _record(background, serving.resources.event_log, body.customer_id, pair_id, "accepted")
    return OutcomeResponse(
        request_id=request.state.request_id,
        offer_id=offer_id,
        outcome="accepted",
        cooldown_until=None,
    )


async def record_outcome(event_log: EventLog, record: Record) -> None:
    """Runs after the answer is sent: a lost outcome is logged, never an error for the customer.

    The log holds it until `cartlift events drain` commits it to the database.
    """
    try:
        await event_log.append([record])
    except EventLogUnavailable as error:
        at = datetime.fromtimestamp(record["at"], UTC).isoformat()
        fields = {name: record[name] for name in ("customer_id", "offer_id", "outcome")}
        log.warning("upgrade_outcome_not_recorded", **fields, at=at, error=str(error))


def _catalog(resources: Resources, loaded: LoadedVersion) -> PlanCatalog:
    try:
        return resources.plan_catalogs.catalog(loaded)
    except ValueError as error:
        log.error("plans_unreadable", version=loaded.version, error=str(error))
        detail = f"the plans of rule version {loaded.version} cannot be read"
        raise unavailable(resources.settings.retry_after_seconds, detail) from None


def _policy(settings: Settings) -> OfferPolicy:
    return OfferPolicy(
        trigger_ratio=settings.upgrade_trigger_ratio,
        horizon_months=settings.upgrade_horizon_months,
    )


def _assess(upgrade: UpgradeRequest, catalog: PlanCatalog, policy: OfferPolicy) -> Assessment:
    try:
        return assess(upgrade, catalog, policy)
    except UnknownPlan as error:
        hint = "" if catalog.plans else " (no plans are published: import plans, then rebuild)"
        raise ProblemError(404, "unknown-plan", "Unknown plan", f"plan: {error}{hint}") from None
    except InvalidUsage as error:
        field = _api_field(error.field)
        issue = {"loc": ("body", field), "msg": error.message, "type": "value_error"}
        raise RequestValidationError([issue]) from None


def _api_field(field: str) -> str:
    """The core's `usage_history[0].usage.storage_gb` is `usage_history.0.storage_gb` here."""
    flattened = re.sub(r"\[(\d+)\]\.usage\.", r".\1.", field)
    return re.sub(r"\[(\d+)\]", r".\1", flattened)


def _declined(
    cooldowns: Cooldowns, customer_id: str, assessment: Assessment, settings: Settings
) -> frozenset[str]:
    """Which candidate plans this customer declined recently: held in process."""
    try:
        return cooldowns.declined(customer_id, assessment.candidates)
    except StoreUnavailable as error:
        raise unavailable(
            settings.retry_after_seconds, f"rule store unavailable: {error}"
        ) from None


async def _store(call: Awaitable[T], settings: Settings) -> T:
    try:
        return await call
    except StoreUnavailable as error:
        raise unavailable(
            settings.retry_after_seconds, f"rule store unavailable: {error}"
        ) from None


def _store_down(settings: Settings, error: StoreUnavailable) -> ProblemError:
    return unavailable(settings.retry_after_seconds, f"rule store unavailable: {error}")


async def _verified(offer_id: str, customer_id: str, resources: Resources) -> str:
    """The `FROM->TO` of an offer id made for this customer; 404 for any other id."""
    secret = await _store(resources.signing_secret.get(), resources.settings)
    try:
        return verify_offer_id(secret, customer_id, offer_id)
    except InvalidOfferId as error:
        raise ProblemError(404, "unknown-offer", "Unknown offer", f"offer_id: {error}") from None
    except OfferNotForCustomer as error:
        title = "Offer not made for this customer"
        raise ProblemError(404, "offer-not-for-customer", title, f"offer_id: {error}") from None


def _offered_plan(pair_id: str, catalog: PlanCatalog) -> Plan:
    """The plan an offer's `FROM->TO` moves to; 404 unless it is an upgrade between known plans."""
    try:
        source, target = parse_offer_id(pair_id)
        current, offered = catalog.plan(source), catalog.plan(target)
    except (InvalidOfferId, UnknownPlan) as error:
        raise ProblemError(404, "unknown-offer", "Unknown offer", f"offer_id: {error}") from None
    if offered.tier <= current.tier:
        detail = f"offer_id: {pair_id!r} is not an upgrade"
        raise ProblemError(404, "unknown-offer", "Unknown offer", detail)
    return offered


def _record(
    background: BackgroundTasks,
    event_log: EventLog,
    customer_id: str,
    offer_id: str,
    outcome: Literal["accepted", "declined"],
) -> None:
    metrics.UPGRADE_OUTCOMES.labels(outcome).inc()
    record = outcome_record(customer_id, offer_id, outcome, datetime.now(UTC))
    background.add_task(record_outcome, event_log, record)
