"""Admin endpoints for the shop's merchandising rules (pin, boost, bury, block)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import AdminKey, ReaderDep, SettingsDep
from app.api.errors import problem_responses, unavailable
from app.serving.guard import StoreUnavailable
from app.serving.merchandising import Action, Merchandising, MerchRule

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminKey])
Sku = Annotated[str, Field(min_length=1, max_length=128)]


class MerchRuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Sku
    action: Action
    antecedent: Sku | None = Field(
        default=None, description="Only when this SKU is in the cart; null = every cart"
    )
    factor: float | None = Field(
        default=None, gt=0, le=100, strict=True, description="Score multiplier for boost and bury"
    )


class MerchandisingModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {"sku": "card-love", "action": "pin", "antecedent": "roses-red-12"},
                        {"sku": "balloon-heart", "action": "block"},
                    ]
                }
            ]
        },
    )
    rules: list[MerchRuleModel] = Field(default_factory=list, max_length=10_000)


@router.get("/merchandising", responses=problem_responses(401, 403))
async def read_merchandising(reader: ReaderDep) -> MerchandisingModel:
    rules = [
        MerchRuleModel.model_validate(rule, from_attributes=True)
        for rule in reader.merchandising.rules
    ]
    return MerchandisingModel(rules=rules)


@router.put(
    "/merchandising",
    responses=problem_responses(401, 403, 413, 422, 503),
    summary="Replace the merchandising rules; effective at once, kept across rebuilds",
)
async def replace_merchandising(
    body: MerchandisingModel, reader: ReaderDep, settings: SettingsDep
) -> MerchandisingModel:
    merch = Merchandising(
        tuple(MerchRule(r.sku, r.action, r.antecedent, r.factor) for r in body.rules)
    )
    try:
        await reader.replace_merchandising(merch)
    except StoreUnavailable as error:
        raise unavailable(settings.retry_after_seconds, str(error)) from None
    return body
