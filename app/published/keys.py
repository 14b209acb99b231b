"""The one place that names rule-store keys and entries."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "cartlift"
CURRENT = f"{PREFIX}:current"
NEXT_VERSION = f"{PREFIX}:next_version"
VERSIONS = f"{PREFIX}:versions"
BUILDING = f"{PREFIX}:building"
MERCHANDISING = f"{PREFIX}:merchandising"
DECLINES = f"{PREFIX}:declines"  # declined upgrade offers, scored by when
SIGNING_SECRET = f"{PREFIX}:signing_secret"  # offer ids, console sessions; made by the first reader
RATE_LIMITS = f"{PREFIX}:limits"  # prefix of the rate limiter's counters, per key and scope


@dataclass(frozen=True, slots=True)
class ControlKeys:
    """The keys outside every version that say which versions exist and which one is live."""

    current: str
    next_version: str
    versions: str
    building: str


CONTROL = ControlKeys(CURRENT, NEXT_VERSION, VERSIONS, BUILDING)
# On Redis Cluster the seal-and-flip script changes `building`, `versions` and `current` at
# once, and a script may only touch keys of one slot: these four share one hash tag. Nothing
# else does, so the entries of a version spread over every slot.
CLUSTER_CONTROL = ControlKeys(
    current=f"{PREFIX}:{{control}}:current",
    next_version=f"{PREFIX}:{{control}}:next_version",
    versions=f"{PREFIX}:{{control}}:versions",
    building=f"{PREFIX}:{{control}}:building",
)

# Entry names inside one version. One key per antecedent spreads rules over cluster slots.
META = "meta"
CATALOG = "catalog"
POPULAR = "popular"
PLANS = "plans"


def versioned(version: int, name: str) -> str:
    return f"{PREFIX}:v{version}:{name}"


def version_pattern(version: int) -> str:
    return f"{PREFIX}:v{version}:*"


ITEM_RULES_PREFIX = "r:"
PAIR_RULES_PREFIX = "r2:"


def item_rules(sku: str) -> str:
    return f"{ITEM_RULES_PREFIX}{sku}"


def pair_rules(first: str, second: str) -> str:
    low, high = sorted((first, second))
    return f"{PAIR_RULES_PREFIX}{low}|{high}"


ITEM_WEIGHTS_PREFIX = "w:"


def item_weights(sku: str) -> str:
    """The items `sku` predicts in a basket, with their learned weights."""
    return f"{ITEM_WEIGHTS_PREFIX}{sku}"


def rule_antecedent(name: str) -> str | None:
    """`r:roses` -> "roses", `r2:a|b` -> "a|b"; None for entries that are not rules."""
    for prefix in (ITEM_RULES_PREFIX, PAIR_RULES_PREFIX):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix) :]
    return None


def sequence_rules(sku: str) -> str:
    """What customers buy in a later order after `sku`, and its rebuy interval."""
    return f"seq:{sku}"


def customer_purchases(customer_id: str) -> str:
    """A customer's recent purchases (with the sequences they trigger) for GET /next-sale."""
    return f"cust:{customer_id}"
