"""The baseline for bench_api and bench_events: parses the same models, answers a constant."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.events import Accepted, EventsRequest
from app.api.recommend import RecommendedItem, RecommendRequest, RecommendResponse

ANSWER = RecommendResponse(
    request_id="0" * 32,
    model_version=1,
    strategy="rules",
    variant="treatment",
    items=[
        RecommendedItem(
            sku=sku,
            name=name,
            price=price,
            kind="cross_sell",
            score=0.3,
            because=["roses-red-12"],
            support=0.03,
            confidence=0.3,
            lift=3.9,
        )
        for sku, name, price in (
            ("card-love", "Greeting card: love", 3.9),
            ("choc-truffles-200g", "Truffles box 200 g", 12.9),
            ("balloon-heart", "Heart foil balloon", 6.9),
        )
    ],
)

app = FastAPI(title="bare")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/recommend")
async def recommend(body: RecommendRequest) -> RecommendResponse:
    return ANSWER


@app.post("/events", status_code=202)
async def events(body: EventsRequest) -> Accepted:
    return Accepted(accepted=len(body.events))
