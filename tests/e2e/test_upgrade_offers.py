"""POST /upgrade-offers over HTTP on Postgres and Redis: triggers, choice, evidence, cooldown."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.upgrade_offers import record_outcome
from app.db.engine import make_engine
from app.demo.shop import DemoFiles
from app.events.drain import drain_once
from app.events.rows import outcome_record
from app.events.stream import FileEventLog, RedisEventLog
from app.importing.catalog import import_plans, import_subscriptions
from app.jobs.rebuild import ExitCode, RebuildOptions, rebuild
from app.main import create_app
from app.offers import PlanCatalog, sign_offer_id
from app.published import keys
from app.published.plans import decode_plans
from app.store.base import decline_member
from app.store.redis_store import RedisRuleStore, job_client
from tests.conftest import REDIS_URL, _truncate, fresh_redis, import_demo, serving, settings_for
from tests.relay import RedisRelay

# A second ladder priced in dollars, so it never mixes with the demo's euro plans: its
# customers mostly jump straight from the smallest plan to the largest.
PHOTO_PLANS = """plan_id,name,tier,monthly_price,currency,storage_gb,active,trigger_ratio
photo-50gb,Photo 50 GB,1,2.99,USD,50,true,
photo-1tb,Photo 1 TB,2,6.99,USD,1000,true,0.5
photo-2tb,Photo 2 TB,3,11.99,USD,2000,true,
"""
PROXY_PORT = 8247


@dataclass(frozen=True)
class Published:
    database_url: str
    engine: AsyncEngine
    redis: Redis
    version: int
    plans: PlanCatalog


def photo_history() -> str:
    """25 of 50 photo-50gb customers moved to photo-2tb within days, 5 to photo-1tb."""
    start = datetime(2026, 6, 1, tzinfo=UTC)
    rows = ["customer_id,plan_id,started_at,ended_at"]
    for n in range(50):
        joined, moved = start + timedelta(days=n), start + timedelta(days=n + 7)
        target = "photo-2tb" if n < 25 else "photo-1tb" if n < 30 else None
        ended = moved.isoformat() if target else ""
        rows.append(f"photo-{n},photo-50gb,{joined.isoformat()},{ended}")
        if target:
            rows.append(f"photo-{n},{target},{moved.isoformat()},")
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
async def published(
    postgres_url: str, demo_files: DemoFiles, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Published]:
    """The demo shop plus the photo ladder, imported into Postgres and published to Redis once."""
    engine = make_engine(postgres_url)
    await _truncate(engine)
    files = tmp_path_factory.mktemp("photo")
    (files / "plans.csv").write_text(PHOTO_PLANS)
    (files / "subscriptions.csv").write_text(photo_history())
    await import_demo(engine, demo_files)
    await import_plans(engine, str(files / "plans.csv"))
    await import_subscriptions(engine, str(files / "subscriptions.csv"))
    async with fresh_redis() as client:
        store = RedisRuleStore(client)
        result = await rebuild(engine, store, RebuildOptions(min_count=5))
        assert result.code is ExitCode.PUBLISHED and result.version, result.message
        [raw] = await store.fetch(result.version, [keys.PLANS])
        assert raw is not None
        yield Published(postgres_url, engine, client, result.version, decode_plans(raw))
    await _truncate(engine)
    await engine.dispose()


@asynccontextmanager
async def api(
    published: Published, tmp_path: Path, redis_url: str = REDIS_URL, **extra: Any
) -> AsyncIterator[httpx.AsyncClient]:
    database_url = extra.pop("database_url", published.database_url)
    settings = settings_for(database_url, redis_url, tmp_path, log_level="WARNING", **extra)
    async with serving(create_app(settings)) as client:
        yield client


async def offer_path(published: Published, who: str, pair_id: str, outcome: str) -> str:
    """The accept or decline path of the offer `pair_id` made to `who`."""
    secret = await RedisRuleStore(published.redis).signing_secret()
    return f"/upgrade-offers/{sign_offer_id(secret, who, pair_id)}/{outcome}"


def customer() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


async def ask(client: httpx.AsyncClient, plan: str, **fields: Any) -> dict[str, Any]:
    body = {"customer_id": fields.pop("customer_id", "u-17"), "plan": plan, **fields}
    response = await client.post("/upgrade-offers", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def offered(answer: dict[str, Any]) -> list[str]:
    return [offer["plan"] for offer in answer["offers"]]


async def test_a_basic_user_at_96_gb_gets_the_2_tb_plan_with_its_observed_conversion(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path) as client:
        answer = await ask(client, "basic-100gb", usage={"storage_gb": 96})

    first = answer["offers"][0]
    observed = published.plans.conversion["basic-100gb", "plus-2tb"]
    assert answer["model_version"] == published.version and answer["reason"] is None
    assert answer["trigger"] == {
        "resource": "storage_gb",
        "used": 96.0,
        "quota": 100.0,
        "used_ratio": 0.96,
        "days_to_full": None,
        "by_trend": False,
        "reason": "storage_gb_96pct",
    }
    path = await offer_path(published, "u-17", "basic-100gb->plus-2tb", "accept")
    assert (first["offer_id"], first["plan"]) == (path.split("/")[2], "plus-2tb")
    assert first["price_step"] == {"monthly": 8.0, "ratio": 5.02}
    assert first["quota"] == {"storage_gb": 2000.0, "seats": 1.0}
    assert observed.moved > 0 and first["conversion_rate"] == round(observed.rate, 4)
    assert first["headline"].startswith("You're using 96 GB of 100 GB. Plus 2 TB")
    # The one larger alternative has more storage, not just more seats (family-2tb).
    assert offered(answer) == ["plus-2tb", "business-5tb"]


async def test_usage_below_the_threshold_gets_no_offer_and_says_why(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path) as client:
        answer = await ask(client, "basic-100gb", usage={"storage_gb": 50})

    assert answer["offers"] == [] and answer["trigger"] is None
    assert answer["reason"] == "usage_below_threshold"


async def test_a_usage_trend_filling_the_quota_within_30_days_triggers_early(
    published: Published, tmp_path: Path
) -> None:
    history = [{"at": days_ago(10), "storage_gb": 40}, {"at": days_ago(5), "storage_gb": 50}]
    async with api(published, tmp_path) as client:
        answer = await ask(client, "basic-100gb", usage={"storage_gb": 60}, usage_history=history)

    trigger = answer["trigger"]
    assert trigger["by_trend"] and trigger["used_ratio"] == 0.6
    assert trigger["days_to_full"] == 20  # 40 GB left at 2 GB a day
    assert trigger["reason"] == "storage_gb_full_in_20_days"
    assert offered(answer)[0] == "plus-2tb"
    assert answer["offers"][0]["headroom_months"] == 31  # 1,940 GB at 2 GB a day


async def test_a_plan_can_set_its_own_trigger_threshold(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path) as client:
        answer = await ask(client, "photo-1tb", usage={"storage_gb": 600})

    assert answer["trigger"]["reason"] == "storage_gb_60pct"
    assert offered(answer) == ["photo-2tb"]


async def test_the_first_offer_is_the_cheapest_plan_that_still_fits_in_six_months(
    published: Published, tmp_path: Path
) -> None:
    # 12 GB a day: 2 TB would be full within the six-month horizon, 5 TB would not.
    history = [{"at": days_ago(5), "storage_gb": 36}]
    async with api(published, tmp_path) as client:
        answer = await ask(client, "basic-100gb", usage={"storage_gb": 96}, usage_history=history)

    assert offered(answer) == ["business-5tb"]


async def test_offers_never_move_sideways_or_down(published: Published, tmp_path: Path) -> None:
    async with api(published, tmp_path) as client:
        answer = await ask(client, "plus-2tb", usage={"storage_gb": 1900})

    # family-2tb is a higher tier with the same storage: no relief, so never offered.
    assert offered(answer) == ["business-5tb"]


async def test_retired_plans_are_never_offered(published: Published, tmp_path: Path) -> None:
    growing = [{"at": days_ago(10), "storage_gb": 1800}]
    async with api(published, tmp_path) as client:
        top = await ask(client, "business-5tb", usage={"storage_gb": 4900})
        outgrown = await ask(client, "plus-2tb", usage={"storage_gb": 1990}, usage_history=growing)

    # Only the retired 10 TB plan is above 5 TB, and only it would hold 19 GB a day for 6 months.
    assert (top["offers"], top["reason"]) == ([], "top_tier")
    assert (outgrown["offers"], outgrown["reason"]) == ([], "no_fitting_plan")


async def test_a_path_with_much_better_observed_conversion_ranks_first(
    published: Published, tmp_path: Path
) -> None:
    async with api(published, tmp_path) as client:
        answer = await ask(client, "photo-50gb", usage={"storage_gb": 45})

    first = answer["offers"][0]
    assert first["plan"] == "photo-2tb"  # 25 of 50 moved there, 5 to the cheaper 1 TB
    assert first["conversion_rate"] == 0.5
    assert "photo-1tb" not in offered(answer)


async def test_a_declined_plan_is_not_offered_to_that_customer_during_the_cooldown(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path, upgrade_cooldown_days=14) as client:
        declined = await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
        again = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})
        other = await ask(client, "basic-100gb", customer_id=customer(), usage={"storage_gb": 96})

    assert declined.status_code == 200, declined.text
    until = datetime.fromisoformat(declined.json()["cooldown_until"])
    assert timedelta(days=13, hours=23) < until - datetime.now(UTC) <= timedelta(days=14)
    noted = await published.redis.zscore(keys.DECLINES, decline_member(who, "plus-2tb"))
    assert noted is not None and abs(until.timestamp() - 14 * 86400 - noted) < 0.01
    assert offered(again) == ["family-2tb", "business-5tb"]
    assert offered(other)[0] == "plus-2tb"


async def test_a_decline_in_one_process_holds_in_another_within_a_poll(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path) as first, api(published, tmp_path) as second:
        before = await ask(second, "basic-100gb", customer_id=who, usage={"storage_gb": 96})
        declined = await first.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
        await asyncio.sleep(0.5)  # two polls of 0.2 s
        after = await ask(second, "basic-100gb", customer_id=who, usage={"storage_gb": 96})

    assert declined.status_code == 200
    assert offered(before)[0] == "plus-2tb"
    assert "plus-2tb" not in offered(after)


async def test_declines_made_before_a_process_starts_hold_in_it(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path) as client:
        await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
    async with api(published, tmp_path) as restarted:
        answer = await ask(restarted, "basic-100gb", customer_id=who, usage={"storage_gb": 96})

    assert "plus-2tb" not in offered(answer)


async def test_a_declined_plan_comes_back_when_its_cooldown_expires(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    half_a_second = 0.5 / 86400
    async with api(published, tmp_path, upgrade_cooldown_days=half_a_second) as client:
        await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
        during = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})
        await asyncio.sleep(0.6)
        after = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})

    assert "plus-2tb" not in offered(during)
    assert offered(after)[0] == "plus-2tb"


async def test_declining_every_plan_that_fits_answers_cooldown(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path) as client:
        for plan in ("plus-2tb", "family-2tb", "business-5tb"):
            response = await client.post(
                await offer_path(published, who, f"basic-100gb->{plan}", "decline"),
                json={"customer_id": who},
            )
            assert response.status_code == 200
        answer = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})

    assert (answer["offers"], answer["reason"]) == ([], "cooldown")
    assert answer["trigger"]["reason"] == "storage_gb_96pct"


async def test_a_zero_day_cooldown_keeps_offering_the_declined_plan(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path, upgrade_cooldown_days=0) as client:
        declined = await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
        answer = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})

    assert declined.json()["cooldown_until"] is None
    assert await published.redis.zscore(keys.DECLINES, decline_member(who, "plus-2tb")) is None
    assert offered(answer)[0] == "plus-2tb"


async def outcomes(engine: AsyncEngine, who: str) -> list[tuple[str, str]]:
    """The outcome rows of a customer, once the drain job has run."""
    event_log = RedisEventLog(job_client(REDIS_URL))
    try:
        await drain_once(event_log, engine)
    finally:
        await event_log.close()
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT offer_id, outcome FROM upgrade_outcomes "
                "WHERE customer_external_id = :who ORDER BY id"
            ),
            {"who": who},
        )
        return [(str(offer), str(outcome)) for offer, outcome in rows]


async def test_accepted_and_declined_offers_are_recorded_for_analysis(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    async with api(published, tmp_path) as client:
        declined = await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "decline"),
            json={"customer_id": who},
        )
        accepted = await client.post(
            await offer_path(published, who, "basic-100gb->family-2tb", "accept"),
            json={"customer_id": who},
        )

    assert (declined.status_code, accepted.status_code) == (200, 200)
    assert accepted.json()["outcome"] == "accepted"
    assert accepted.json()["cooldown_until"] is None
    assert await outcomes(published.engine, who) == [
        ("basic-100gb->plus-2tb", "declined"),
        ("basic-100gb->family-2tb", "accepted"),
    ]


async def test_an_outcome_waits_in_the_event_log_while_the_database_is_away(
    published: Published, tmp_path: Path
) -> None:
    who = customer()
    missing = published.database_url.rsplit("/", 1)[0] + "/cartlift_no_such_database"
    async with api(
        published,
        tmp_path,
        database_url=missing,
        events_drain_in_serve=True,
        events_drain_interval_seconds=0.05,
    ) as client:
        response = await client.post(
            await offer_path(published, who, "basic-100gb->plus-2tb", "accept"),
            json={"customer_id": who},
        )
        await asyncio.sleep(0.2)  # the in-process drainer fails meanwhile, keeping the log

    assert response.status_code == 200
    assert await outcomes(published.engine, who) == [("basic-100gb->plus-2tb", "accepted")]


async def test_an_outcome_the_log_cannot_take_is_logged_never_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    record = outcome_record("u-17", "basic-100gb->plus-2tb", "accepted", datetime.now(UTC))
    await record_outcome(FileEventLog(blocked / "events"), record)
    assert "upgrade_outcome_not_recorded" in capsys.readouterr().err


async def test_an_unknown_plan_is_a_404_problem(published: Published, tmp_path: Path) -> None:
    async with api(published, tmp_path) as client:
        response = await client.post(
            "/upgrade-offers",
            json={"customer_id": "u-17", "plan": "gold", "usage": {"storage_gb": 1}},
        )

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "plan: unknown plan 'gold'"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"usage": {"storage_gb": -1}}, "usage.storage_gb"),
        ({"usage": {"bandwidth_gb": 5}}, "usage.bandwidth_gb"),
        ({"usage": {}}, "usage"),
        (
            {
                "usage": {"storage_gb": 60},
                "usage_history": [
                    {"at": "2026-10-02", "storage_gb": 50},
                    {"at": "2026-10-01", "storage_gb": 40},
                ],
            },
            "usage_history.1.at",
        ),
        (
            {"usage": {"storage_gb": 60}, "usage_history": [{"at": "2026-10-02", "seats": -2}]},
            "usage_history.0.seats",
        ),
        ({"usage": {"storage_gb": 1}, "usage_history": [{"storage_gb": 1}]}, "usage_history.0.at"),
        ({"usage": {"storage_gb": 1}, "limit": 0}, "limit"),
        # JSON types as documented: a date is a string, a number is not a string or a bool.
        (
            {"usage": {"storage_gb": 1}, "usage_history": [{"at": 0, "storage_gb": 1}]},
            "usage_history.0.at",
        ),
        (
            {"usage": {"storage_gb": 1}, "usage_history": [{"at": "0", "storage_gb": 1}]},
            "usage_history.0.at",
        ),
        ({"usage": {"storage_gb": "96"}}, "usage.storage_gb"),
        ({"usage": {"storage_gb": True}}, "usage.storage_gb"),
        (
            {
                "usage": {"storage_gb": 1},
                "usage_history": [{"at": "2026-10-01", "storage_gb": "1"}],
            },
            "usage_history.0.storage_gb",
        ),
        ({"usage": {"storage_gb": 1}, "limit": "2"}, "limit"),
        ({"usage": {"storage_gb": 1}, "customer_id": ""}, "customer_id"),
    ],
)
async def test_bad_usage_is_a_422_naming_the_field(
    published: Published, tmp_path: Path, fields: dict[str, Any], field: str
) -> None:
    body = {"customer_id": "u-17", "plan": "basic-100gb", **fields}
    async with api(published, tmp_path) as client:
        response = await client.post("/upgrade-offers", json=body)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_usage_history_from_the_future_is_a_422(published: Published, tmp_path: Path) -> None:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    history = [{"at": tomorrow, "storage_gb": 10}]
    body = {"customer_id": "u", "plan": "basic-100gb", "usage": {"storage_gb": 5}}
    async with api(published, tmp_path) as client:
        response = await client.post("/upgrade-offers", json={**body, "usage_history": history})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "usage_history.0.at"


@pytest.mark.parametrize(
    "offer_id",
    ["basic-100gb", "basic-100gb->gold", "plus-2tb->basic-100gb", "plus-2tb->family-2tb"],
)
@pytest.mark.parametrize("outcome", ["accept", "decline"])
async def test_an_offer_id_that_is_no_upgrade_between_known_plans_is_a_404(
    published: Published, tmp_path: Path, offer_id: str, outcome: str
) -> None:
    async with api(published, tmp_path) as client:
        response = await client.post(
            await offer_path(published, "u-17", offer_id, outcome), json={"customer_id": "u-17"}
        )

    # plus-2tb -> family-2tb is a higher tier, so it is an upgrade path and is accepted.
    expected = 200 if offer_id == "plus-2tb->family-2tb" else 404
    assert response.status_code == expected, response.text


async def test_a_store_outage_is_a_503_with_retry_after_never_a_500(
    published: Published, tmp_path: Path
) -> None:
    relay = RedisRelay(PROXY_PORT)
    await relay.start()
    try:
        async with api(published, tmp_path, redis_url=relay.url, breaker_failures=100) as client:
            assert (await ask(client, "basic-100gb", usage={"storage_gb": 96}))["offers"]
            await relay.cut()
            # Declines are held in process; answers that need them stop once three polls
            # (0.2 s apart here) in a row could not read the store.
            await asyncio.sleep(0.9)
            offers = await client.post(
                "/upgrade-offers",
                json={"customer_id": "u-17", "plan": "basic-100gb", "usage": {"storage_gb": 96}},
            )
            decline = await client.post(
                await offer_path(published, "u-17", "basic-100gb->plus-2tb", "decline"),
                json={"customer_id": "u-17"},
            )
            # Answers that need no cooldown still come from the version held in process.
            low = await ask(client, "basic-100gb", usage={"storage_gb": 10})
            accept = await client.post(
                await offer_path(published, "u-18", "basic-100gb->plus-2tb", "accept"),
                json={"customer_id": "u-18"},
            )
    finally:
        await relay.cut()

    for response in (offers, decline):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert response.json()["detail"].startswith("rule store unavailable")
    assert low["reason"] == "usage_below_threshold" and accept.status_code == 200


async def test_offer_answers_are_counted_by_result(published: Published, tmp_path: Path) -> None:
    line = 'cartlift_upgrade_offer_answers_total{result="usage_below_threshold"}'

    async def counted(client: httpx.AsyncClient) -> float:
        exposition = (await client.get("/metrics")).text.splitlines()
        return next((float(row.split()[-1]) for row in exposition if row.startswith(line)), 0.0)

    async with api(published, tmp_path) as client:
        before = await counted(client)
        await ask(client, "basic-100gb", usage={"storage_gb": 1})
        after = await counted(client)

    assert after == before + 1


async def test_an_offer_id_from_the_answer_declines_for_its_customer_only(
    published: Published, tmp_path: Path
) -> None:
    who, other = customer(), customer()
    async with api(published, tmp_path) as client:
        answer = await ask(client, "basic-100gb", customer_id=who, usage={"storage_gb": 96})
        offer = answer["offers"][0]["offer_id"]
        stolen = await client.post(f"/upgrade-offers/{offer}/decline", json={"customer_id": other})
        unsigned = await client.post(
            "/upgrade-offers/basic-100gb->plus-2tb/accept", json={"customer_id": who}
        )
        own = await client.post(f"/upgrade-offers/{offer}/decline", json={"customer_id": who})
        for_other = await ask(client, "basic-100gb", customer_id=other, usage={"storage_gb": 96})

    assert offer.startswith("basic-100gb->plus-2tb.")
    assert stolen.status_code == 404, stolen.text
    assert stolen.headers["content-type"] == "application/problem+json"
    assert stolen.json()["type"].endswith("offer-not-for-customer")
    assert "was not made for this customer_id" in stolen.json()["detail"]
    assert unsigned.status_code == 404 and unsigned.json()["type"].endswith("unknown-offer")
    assert own.status_code == 200 and own.json()["offer_id"] == offer
    assert offered(for_other)[0] == "plus-2tb"  # the refused decline changed nothing
    assert await outcomes(published.engine, other) == []
    assert await outcomes(published.engine, who) == [("basic-100gb->plus-2tb", "declined")]
