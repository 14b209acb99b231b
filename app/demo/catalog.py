"""Catalog of the demo florist and gift shop: products, upgrade paths and storage plans."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    """One row of products.csv; prices and costs in EUR."""

    sku: str
    name: str
    category: str
    price: float
    cost: float
    in_stock: bool = True


@dataclass(frozen=True)
class Plan:
    """One row of plans.csv; `tier` orders the upgrade ladder."""

    plan_id: str
    name: str
    tier: int
    monthly_price: float
    storage_gb: int
    seats: int
    active: bool = True


PRODUCTS: tuple[Product, ...] = (
    Product("roses-red-12", "Red roses, bunch of 12", "roses", 29.90, 11.50),
    Product("roses-red-24", "Red roses, bunch of 24", "roses", 49.90, 20.00),
    Product("roses-white-12", "White roses, bunch of 12", "roses", 29.90, 11.50),
    Product("roses-white-24", "White roses, bunch of 24", "roses", 49.90, 20.00),
    Product("roses-pink-12", "Pink roses, bunch of 12", "roses", 27.90, 10.50),
    Product("roses-single-red", "Single red rose", "roses", 4.90, 1.40),
    Product("tulips-mixed-10", "Mixed tulips, bunch of 10", "tulips", 19.90, 7.00),
    Product("tulips-mixed-20", "Mixed tulips, bunch of 20", "tulips", 34.90, 13.00),
    Product("tulips-yellow-10", "Yellow tulips, bunch of 10", "tulips", 18.90, 6.50),
    Product("bouquet-seasonal", "Seasonal bouquet", "bouquets", 39.90, 15.00),
    Product("bouquet-lilies-sympathy", "White lilies sympathy bouquet", "bouquets", 59.90, 24.00),
    Product("plant-orchid", "Potted orchid", "plants", 24.90, 9.00),
    Product("choc-hearts-150g", "Chocolate hearts 150 g", "chocolates", 9.90, 3.80),
    Product("choc-truffles-200g", "Truffles box 200 g", "chocolates", 12.90, 5.20),
    Product("choc-truffles-400g", "Truffles box 400 g", "chocolates", 22.90, 9.40),
    Product("choc-pralines-250g", "Pralines box 250 g", "chocolates", 14.90, 6.00),
    Product("choc-pralines-500g", "Pralines box 500 g", "chocolates", 26.90, 11.00),
    Product("card-birthday", "Greeting card: birthday", "cards", 3.90, 0.90),
    Product("card-love", "Greeting card: love", "cards", 3.90, 0.90),
    Product("card-sympathy", "Greeting card: sympathy", "cards", 3.90, 0.90),
    Product("card-mothers-day", "Greeting card: Mother's Day", "cards", 3.90, 0.90),
    Product("card-thank-you", "Greeting card: thank you", "cards", 3.50, 0.80),
    Product("balloon-heart", "Heart foil balloon", "balloons", 6.90, 1.80),
    Product("balloon-happy-birthday", "Happy Birthday foil balloon", "balloons", 6.90, 1.80),
    Product("balloon-bunch-5", "Balloon bunch of 5", "balloons", 24.90, 7.00),
    Product("vase-glass-small", "Glass vase, small", "vases", 14.90, 5.00),
    Product("vase-glass-large", "Glass vase, large", "vases", 29.90, 10.00),
    Product("vase-ceramic", "Ceramic vase", "vases", 34.90, 13.00),
    Product("teddy-bear-small", "Teddy bear, 25 cm", "teddy-bears", 14.90, 5.50),
    # Sold out after Valentine's Day: still in the order history, not offerable now.
    Product("teddy-bear-large", "Teddy bear, 60 cm", "teddy-bears", 34.90, 13.00, in_stock=False),
    Product("candle-single", "Scented candle", "candles", 6.90, 2.20),
    Product("candle-6pack", "Scented candles, pack of 6", "candles", 34.90, 11.00),
    Product("candle-vanilla-jar", "Vanilla candle jar", "candles", 12.90, 4.50),
    Product("gift-wrap", "Gift wrapping", "gifts", 2.50, 0.40),
    Product("prosecco-75cl", "Prosecco 75 cl", "gifts", 11.90, 5.50),
    Product("tv-27", "27-inch LED TV", "electronics", 179.00, 132.00),
    Product("tv-32", "32-inch Smart TV", "electronics", 249.00, 181.00),
    Product("tv-43", "43-inch 4K Smart TV", "electronics", 379.00, 279.00),
    Product("tv-wall-mount", "TV wall mount", "electronics", 39.90, 14.00),
    Product("hdmi-cable-2m", "HDMI cable 2 m", "electronics", 12.90, 2.60),
    Product("hdmi-cable-5m", "HDMI cable 5 m", "electronics", 19.90, 4.20),
    Product("tv-warranty-3y", "TV extended warranty, 3 years", "electronics", 29.90, 6.00),
    Product("soundbar", "Soundbar", "electronics", 149.00, 98.00),
    Product("game-console", "Game console", "electronics", 449.00, 405.00),
    Product("console-controller", "Console controller", "electronics", 69.90, 44.00),
    Product("console-game-racing", "Console game: racing", "electronics", 59.90, 40.00),
    Product("console-game-adventure", "Console game: adventure", "electronics", 69.90, 46.00),
    Product("console-headset", "Gaming headset", "electronics", 49.90, 28.00),
    Product("batteries-aa-4", "AA batteries, pack of 4", "electronics", 4.90, 1.60),
    Product("batteries-aa-16", "AA batteries, pack of 16", "electronics", 14.90, 5.20),
    Product("phone-charger-usbc", "USB-C phone charger", "electronics", 19.90, 6.00),
)

# Smaller or cheaper item -> the bigger or better one offered instead.
UPGRADES: tuple[tuple[str, str], ...] = (
    ("roses-red-12", "roses-red-24"),
    ("roses-white-12", "roses-white-24"),
    ("tulips-mixed-10", "tulips-mixed-20"),
    ("choc-truffles-200g", "choc-truffles-400g"),
    ("choc-pralines-250g", "choc-pralines-500g"),
    ("vase-glass-small", "vase-glass-large"),
    ("teddy-bear-small", "teddy-bear-large"),
    ("balloon-heart", "balloon-bunch-5"),
    ("candle-single", "candle-6pack"),
    ("tv-27", "tv-32"),
    ("tv-32", "tv-43"),
    ("hdmi-cable-2m", "hdmi-cable-5m"),
    ("batteries-aa-4", "batteries-aa-16"),
)

PLANS: tuple[Plan, ...] = (
    Plan("free-5gb", "Free 5 GB", 0, 0.00, 5, 1),
    Plan("basic-100gb", "Basic 100 GB", 1, 1.99, 100, 1),
    Plan("plus-2tb", "Plus 2 TB", 2, 9.99, 2000, 1),
    Plan("family-2tb", "Family 2 TB", 3, 16.99, 2000, 6),
    Plan("business-5tb", "Business 5 TB", 4, 24.99, 5000, 3),
    # Discontinued: a few customers keep it, nobody can be moved onto it.
    Plan("legacy-pro-10tb", "Pro 10 TB (legacy)", 5, 49.99, 10000, 5, active=False),
)

PRODUCT_HEADER = ("sku", "name", "category", "price", "cost", "in_stock")
UPGRADE_HEADER = ("from_sku", "to_sku")
PLAN_HEADER = (
    "plan_id",
    "name",
    "tier",
    "monthly_price",
    "currency",
    "storage_gb",
    "seats",
    "active",
)
CURRENCY = "EUR"


def product_rows() -> list[tuple[str, ...]]:
    """Rows of products.csv in catalog order."""
    return [
        (p.sku, p.name, p.category, f"{p.price:.2f}", f"{p.cost:.2f}", _flag(p.in_stock))
        for p in PRODUCTS
    ]


def plan_rows() -> list[tuple[str, ...]]:
    """Rows of plans.csv, cheapest tier first."""
    return [
        (
            p.plan_id,
            p.name,
            str(p.tier),
            f"{p.monthly_price:.2f}",
            CURRENCY,
            str(p.storage_gb),
            str(p.seats),
            _flag(p.active),
        )
        for p in PLANS
    ]


def _flag(value: bool) -> str:
    return "true" if value else "false"
