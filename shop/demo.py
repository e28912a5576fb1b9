"""A realistic, deterministic demo catalog: the same seed gives the same shop."""

# ruff: noqa: E501 - the catalog table reads best one category per line

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from shop.models import Category, Product

# fmt: off
COLOURS = ["black", "white", "navy", "red", "green", "grey", "beige", "blue", "yellow", "brown"]


@dataclass(frozen=True)
class CategorySpec:
    name: str
    slug: str
    parent: str | None
    nouns: tuple[str, ...]
    price_range: tuple[int, int]
    attributes: dict[str, tuple[str, ...]]
    tags: tuple[str, ...]


CATEGORIES = (
    CategorySpec("Clothing", "clothing", None, ("Shirt", "Jacket"), (15, 180),
                 {"size": ("XS", "S", "M", "L", "XL"), "colour": tuple(COLOURS), "material": ("cotton", "wool", "linen")},
                 ("casual", "new-season")),
    CategorySpec("T-shirts", "t-shirts", "clothing", ("T-shirt", "Tee", "Polo"), (9, 45),
                 {"size": ("XS", "S", "M", "L", "XL", "XXL"), "colour": tuple(COLOURS), "material": ("cotton", "organic cotton", "polyester")},
                 ("basics", "summer", "organic")),
    CategorySpec("Dresses", "dresses", "clothing", ("Dress", "Maxi dress", "Shirt dress"), (25, 220),
                 {"size": ("XS", "S", "M", "L", "XL"), "colour": tuple(COLOURS), "material": ("silk", "linen", "viscose")},
                 ("evening", "summer")),
    CategorySpec("Shoes", "shoes", None, ("Sneaker", "Boot", "Loafer", "Sandal"), (30, 240),
                 {"size": tuple(str(n) for n in range(36, 47)), "colour": tuple(COLOURS[:8]), "material": ("leather", "suede", "canvas")},
                 ("running", "leather", "waterproof")),
    CategorySpec("Bags", "bags", None, ("Backpack", "Tote", "Crossbody bag", "Weekender"), (20, 300),
                 {"colour": tuple(COLOURS), "material": ("leather", "canvas", "nylon"), "capacity": ("10 L", "20 L", "30 L")},
                 ("travel", "work")),
    CategorySpec("Electronics", "electronics", None, ("Headphones", "Speaker", "Charger", "Smartwatch"), (15, 450),
                 {"brand": ("Sonora", "Voltix", "Kumo", "Areal"), "colour": ("black", "white", "silver"), "warranty": ("1 year", "2 years", "3 years")},
                 ("wireless", "bestseller")),
    CategorySpec("Phone accessories", "phone-accessories", "electronics", ("Phone case", "Cable", "Screen protector"), (5, 60),
                 {"brand": ("Sonora", "Voltix", "Kumo"), "colour": ("black", "clear", "blue", "red"), "compatibility": ("Pixel", "iPhone", "Galaxy")},
                 ("accessory",)),
    CategorySpec("Home", "home", None, ("Lamp", "Cushion", "Throw", "Vase"), (12, 260),
                 {"colour": tuple(COLOURS), "material": ("ceramic", "linen", "oak", "glass")},
                 ("living-room", "gift")),
    CategorySpec("Kitchen", "kitchen", "home", ("Pan", "Knife", "Mug", "Coffee grinder", "Teapot"), (8, 190),
                 {"material": ("steel", "cast iron", "ceramic", "bamboo"), "colour": ("black", "white", "red", "green")},
                 ("cooking", "gift")),
    CategorySpec("Books", "books", None, ("Novel", "Cookbook", "Travel guide", "Poetry collection"), (8, 45),
                 {"format": ("paperback", "hardcover", "e-book"), "language": ("English", "Spanish", "French")},
                 ("bestseller", "staff-pick")),
    CategorySpec("Sports", "sports", None, ("Yoga mat", "Water bottle", "Dumbbell", "Racket"), (10, 220),
                 {"colour": tuple(COLOURS[:6]), "material": ("rubber", "steel", "carbon", "cork")},
                 ("fitness", "outdoor")),
    CategorySpec("Toys", "toys", None, ("Puzzle", "Building set", "Plush bear", "Board game"), (7, 90),
                 {"age": ("3+", "6+", "8+", "12+"), "material": ("wood", "plastic", "cotton")},
                 ("gift", "family")),
)

ADJECTIVES = ("Classic", "Urban", "Everyday", "Coastal", "Nordic", "Vintage", "Essential", "Studio",
              "Alpine", "Sierra", "Mesa", "Harbor", "Terra", "Luna", "Solar", "Atlas")
# fmt: on
DESCRIPTIONS = (
    "Made to last and easy to care for.",
    "Designed in Barcelona, made in small batches.",
    "A favourite of our customers season after season.",
    "Thoughtfully made from responsibly sourced materials.",
    "Light, durable and ready for everyday use.",
)


def categories() -> list[Category]:
    """Unsaved categories, parents before children."""
    by_slug: dict[str, Category] = {}
    result = []
    for position, spec in enumerate(CATEGORIES):
        category = Category(
            name=spec.name,
            slug=spec.slug,
            parent=by_slug.get(spec.parent) if spec.parent else None,
            description=f"{spec.name} selected by the Tienda team.",
            position=position,
        )
        by_slug[spec.slug] = category
        result.append(category)
    return result


def _two_sentences(first: str, second: str) -> str:
    """Two different sentences: a repeated draw takes the next one (same draws, same catalog)."""
    if second == first:
        second = DESCRIPTIONS[(DESCRIPTIONS.index(first) + 1) % len(DESCRIPTIONS)]
    return f"{first} {second}"


def products(saved_categories: dict[str, Category], *, size: int, seed: int = 7) -> Iterator[Product]:
    """``size`` unsaved products spread over the categories, deterministic for a given seed."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    now = timezone.now().replace(microsecond=0)
    for n in range(size):
        spec = CATEGORIES[n % len(CATEGORIES)]
        noun = rng.choice(spec.nouns)
        adjective = rng.choice(ADJECTIVES)
        attributes = {name: rng.choice(values) for name, values in spec.attributes.items()}
        detail = attributes.get("colour") or attributes.get("material") or attributes.get("format") or ""
        name = f"{adjective} {detail} {noun}".replace("  ", " ").strip().capitalize()
        low, high = spec.price_range
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        # About 4% sold out, a few nearly gone, the rest comfortably stocked.
        roll = rng.random()
        stock = 0 if roll < 0.04 else rng.randint(1, 3) if roll < 0.10 else rng.randint(4, 250)
        yield Product(
            category=saved_categories[spec.slug],
            name=name,
            slug=f"{name.lower().replace(' ', '-')}-{n + 1:05d}",
            sku=f"TND-{spec.slug[:3].upper()}-{n + 1:05d}",
            description=f"{name}. {_two_sentences(rng.choice(DESCRIPTIONS), rng.choice(DESCRIPTIONS))}",
            price=price,
            currency="EUR",
            stock=stock,
            images=[f"/static/img/products/{spec.slug}.svg"],
            tags=sorted(rng.sample(spec.tags, k=rng.randint(0, len(spec.tags)))),
            attributes=attributes,
            created_at=now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
        )
