"""Shopping occasions and follow-up purchases planted in the demo order history."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Pick:
    """With probability `p`, one of `skus` (drawn by `weights`) joins the basket.

    No `skus` means any product, drawn by catalog-wide popularity.
    """

    p: float
    skus: tuple[str, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Occasion:
    """Why an order is placed: an anchor item plus companions with their rates.

    `share` is the weight on an ordinary day; on the days leading up to `season`
    the weight grows up to `share * (1 + boost)`.
    """

    name: str
    share: float
    anchor: Pick
    companions: tuple[Pick, ...] = ()
    season: str | None = None
    boost: float = 0.0


@dataclass(frozen=True)
class FollowUp:
    """A later order by the same customer, `delay_days` after a trigger order.

    `repeat` re-buys the triggering SKU (consumables) and lets the new order
    trigger again, which yields a chain of re-orders.
    """

    name: str
    triggers: tuple[str, ...]
    p: float
    delay_days: tuple[int, int]
    picks: tuple[Pick, ...] = ()
    unless: tuple[str, ...] = ()
    repeat: bool = False


_CHOCOLATES = Pick(
    1.0,
    ("choc-hearts-150g", "choc-truffles-200g", "choc-pralines-250g"),
    (0.35, 0.4, 0.25),
)
_GAMES = ("console-game-racing", "console-game-adventure")
_HDMI = Pick(1.0, ("hdmi-cable-2m", "hdmi-cable-5m"), (0.8, 0.2))
_CANDLES = ("candle-single", "candle-6pack", "candle-vanilla-jar")


OCCASIONS: tuple[Occasion, ...] = (
    Occasion(
        "romance",
        0.12,
        Pick(
            1.0,
            ("roses-red-12", "roses-pink-12", "roses-single-red", "roses-white-12"),
            (0.6, 0.15, 0.2, 0.05),
        ),
        (
            replace(_CHOCOLATES, p=0.6),
            Pick(0.5, ("card-love",)),
            Pick(0.15, ("balloon-heart",)),
            Pick(0.12, ("teddy-bear-small",)),
            Pick(0.08, ("prosecco-75cl",)),
        ),
        season="valentine",
        boost=12.0,
    ),
    Occasion(
        "mothers-day",
        0.02,
        Pick(
            1.0,
            ("roses-pink-12", "roses-red-12", "tulips-mixed-10", "bouquet-seasonal"),
            (0.35, 0.2, 0.25, 0.2),
        ),
        (
            Pick(0.6, ("card-mothers-day",)),
            replace(_CHOCOLATES, p=0.5),
            Pick(0.08, ("vase-glass-small",)),
        ),
        season="mothers-day",
        boost=30.0,
    ),
    Occasion(
        "birthday",
        0.18,
        Pick(
            1.0,
            (
                "bouquet-seasonal",
                "tulips-mixed-10",
                "roses-red-12",
                "roses-pink-12",
                "plant-orchid",
            ),
            (0.3, 0.2, 0.2, 0.15, 0.15),
        ),
        (
            Pick(0.55, ("card-birthday",)),
            Pick(0.3, ("balloon-happy-birthday",)),
            replace(_CHOCOLATES, p=0.35),
            Pick(0.1, ("gift-wrap",)),
        ),
    ),
    Occasion(
        "sympathy",
        0.05,
        Pick(1.0, ("bouquet-lilies-sympathy", "roses-white-12"), (0.65, 0.35)),
        (Pick(0.7, ("card-sympathy",)), Pick(0.12, ("candle-single",))),
    ),
    Occasion(
        "decor",
        0.08,
        Pick(1.0, ("vase-glass-small", "vase-ceramic"), (0.7, 0.3)),
        (
            Pick(
                0.6,
                ("tulips-mixed-10", "tulips-yellow-10", "roses-red-12", "roses-white-12"),
                (0.4, 0.25, 0.2, 0.15),
            ),
            Pick(0.15, _CANDLES),
        ),
    ),
    Occasion(
        "home",
        0.12,
        Pick(
            1.0,
            ("candle-single", "candle-vanilla-jar", "plant-orchid", "tulips-yellow-10"),
            (0.4, 0.25, 0.2, 0.15),
        ),
        (Pick(0.15, ("card-thank-you",)), Pick(0.1, ("gift-wrap",))),
    ),
    Occasion(
        "tv",
        0.06,
        Pick(1.0, ("tv-27", "tv-32", "tv-43"), (0.45, 0.4, 0.15)),
        (
            replace(_HDMI, p=0.6),
            Pick(0.3, ("tv-wall-mount",)),
            Pick(0.25, ("tv-warranty-3y",)),
            Pick(0.12, ("soundbar",)),
        ),
        season="christmas",
        boost=3.0,
    ),
    Occasion(
        "gaming",
        0.04,
        Pick(1.0, ("game-console",)),
        (
            Pick(0.55, ("console-controller",)),
            Pick(0.35, _GAMES),
            Pick(0.15, ("console-headset",)),
            replace(_HDMI, p=0.1),
        ),
        season="christmas",
        boost=4.0,
    ),
    # Anchor drawn from the whole catalog: background noise for the miner.
    Occasion("browse", 0.15, Pick(1.0, ())),
    Occasion(
        "gadgets",
        0.08,
        Pick(
            1.0,
            (
                "batteries-aa-4",
                "batteries-aa-16",
                "phone-charger-usbc",
                "hdmi-cable-2m",
                "console-controller",
                *_GAMES,
            ),
            (0.25, 0.1, 0.2, 0.15, 0.1, 0.1, 0.1),
        ),
        (Pick(0.15, ("batteries-aa-4",)),),
        season="christmas",
        boost=1.0,
    ),
)

FOLLOW_UPS: tuple[FollowUp, ...] = (
    # Customers discover at home that the TV should go on the wall.
    FollowUp(
        "tv-then-wall-mount",
        ("tv-27", "tv-32", "tv-43"),
        0.4,
        (5, 20),
        (Pick(1.0, ("tv-wall-mount",)), replace(_HDMI, p=0.2)),
        unless=("tv-wall-mount",),
    ),
    FollowUp(
        "console-then-game",
        ("game-console",),
        0.5,
        (7, 45),
        (Pick(1.0, _GAMES), Pick(0.2, ("console-headset",))),
    ),
    FollowUp("candle-reorder", _CANDLES, 0.55, (30, 60), repeat=True),
)

# Share of orders that also get one unrelated item, by customer segment.
NOISE_P = {False: 0.3, True: 0.5}
# Frequent customers often treat themselves to a pricier extra.
PREMIUM_EXTRA = Pick(
    0.35,
    ("choc-pralines-500g", "prosecco-75cl", "vase-ceramic", "balloon-bunch-5", "soundbar"),
    (0.3, 0.3, 0.2, 0.15, 0.05),
)
# Share of anchors swapped for their upgrade (see catalog.UPGRADES), by segment.
UPGRADE_P = {False: 0.12, True: 0.4}
MAX_ITEMS = 5
# Share of order lines with quantity above one; unlisted SKUs use the default.
MULTI_QUANTITY_P: dict[str, float] = {
    "roses-single-red": 0.4,
    "candle-single": 0.3,
    "batteries-aa-4": 0.2,
    "card-birthday": 0.1,
    "card-thank-you": 0.1,
    "prosecco-75cl": 0.2,
    "tv-27": 0.0,
    "tv-32": 0.0,
    "tv-43": 0.0,
    "game-console": 0.0,
    "soundbar": 0.0,
}
DEFAULT_MULTI_QUANTITY_P = 0.03
# Order-wide coupon: (share of orders, price factor).
COUPONS: tuple[tuple[float, float], ...] = ((0.05, 0.9), (0.02, 0.8))
