"""Inspection commands: rules export and rules show."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import HELP_MARKUP, console, fail, load_settings, out, run_with_store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.published.snapshot import RuleHit
    from app.store.base import RuleStore

rules_app = typer.Typer(
    help="Inspect the published rules.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
FETCH_BATCH = 1_000
PAIR_SEPARATOR = "|"


async def _version(store: RuleStore, version: int | None) -> int:
    from app.store.base import StoreError, UnknownVersion

    chosen = version if version is not None else await store.current_version()
    if chosen is None:
        raise StoreError("no rule version has been published yet (run cartlift rebuild)")
    held = await store.versions()
    if chosen not in held:
        listed = ", ".join(map(str, held)) or "none"
        raise UnknownVersion(f"version {chosen} is not held by the store (held: {listed})")
    return chosen


def _antecedent_entry(antecedent: str) -> str:
    """`roses` names one item's rules; `roses|card` the rules of that pair, in any order."""
    from app.published import keys

    first, separator, second = antecedent.partition(PAIR_SEPARATOR)
    return keys.pair_rules(first, second) if separator else keys.item_rules(antecedent)


async def _all_rules(store: RuleStore, version: int) -> list[tuple[str, list[RuleHit]]]:
    from app.published import keys, snapshot

    names = [n for n in await store.entry_names(version) if keys.rule_antecedent(n) is not None]
    found: list[tuple[str, list[RuleHit]]] = []
    for start in range(0, len(names), FETCH_BATCH):
        batch = names[start : start + FETCH_BATCH]
        for name, raw in zip(batch, await store.fetch(version, batch), strict=True):
            if raw:
                found.append((keys.rule_antecedent(name) or name, snapshot.decode_rules(raw)))
    return found


@rules_app.command("export")
def export(
    version: Annotated[
        int | None, typer.Option(help="Version to export; default the current")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
) -> None:
    """Every published rule, one per line."""
    from app.serving.export import FORMATS, rule_rows, write_rules
    from app.store.base import StoreError

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}", 2)
    settings = load_settings()

    async def collect(_engine: AsyncEngine, store: RuleStore) -> list[tuple[str, list[RuleHit]]]:
        return await _all_rules(store, await _version(store, version))

    try:
        entries = run_with_store(settings, collect)
    except StoreError as error:
        raise fail(str(error)) from None
    if output is None:
        write_rules(rule_rows(entries), sys.stdout, fmt)
        return
    with open(output, "w", encoding="utf-8", newline="") as handle:
        written = write_rules(rule_rows(entries), handle, fmt)
    console.print(f"wrote {written} rules to {output}", soft_wrap=True, markup=False)


@rules_app.command("show")
def show(
    sku: Annotated[str, typer.Argument(help="The item whose rules to show, or two joined by |")],
    version: Annotated[int | None, typer.Option(help="Version; default the current")] = None,
) -> None:
    """The rules that fire when SKU (or the pair A|B) is in the cart, best first."""
    from rich.table import Table

    from app.published import snapshot
    from app.store.base import StoreError

    settings = load_settings()

    async def fetch(_engine: AsyncEngine, store: RuleStore) -> list[RuleHit]:
        chosen = await _version(store, version)
        [raw] = await store.fetch(chosen, [_antecedent_entry(sku)])
        return snapshot.decode_rules(raw) if raw else []

    try:
        hits = run_with_store(settings, fetch)
    except StoreError as error:
        raise fail(str(error)) from None
    if not hits:
        raise fail(f"no rules fire for {sku!r}")
    table = Table(
        "then",
        "confidence",
        "lift",
        "support",
        "leverage",
        "conviction",
        "count",
        title=f"{sku} →",
    )
    for hit in hits:
        table.add_row(
            hit.consequent,
            f"{hit.confidence:.3f}",
            f"{hit.lift:.2f}",
            f"{hit.support:.4f}",
            f"{hit.leverage:.4f}",
            "inf" if math.isinf(hit.conviction) else f"{hit.conviction:.2f}",
            str(hit.count),
        )
    out.print(table)
