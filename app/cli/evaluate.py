"""`cartlift evaluate`: hit rate@K, MRR and coverage of the rules versus baselines.

On the shop's own orders (`--split-date`) against most-popular; on a public basket data
set (`--dataset`) against most-popular, plain rules, item-item cosine and EASE.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.cli.common import fail, load_settings, out, run
from app.cli.jobs import parse_decimal

if TYPE_CHECKING:
    from rich.table import Table

    from app.evaluation.holdout import Score
    from app.evaluation.offline import Evaluation
    from app.jobs.rebuild import RebuildOptions
    from app.serving.recommend import Policy
    from app.settings import Settings

DATA_DIR = Path("../shared/data")


def evaluate_command(
    split_date: Annotated[
        str | None,
        typer.Option(help="Learn from orders before this date (ISO 8601), test on the rest"),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Instead of the shop's orders: a public data set, groceries or retail"),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Where the public data sets are", file_okay=False)
    ] = DATA_DIR,
    queries: Annotated[
        int | None, typer.Option(min=1, help="Sample this many test carts (default all)")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Suggestions per cart")] = 3,
    min_count: Annotated[
        int | None, typer.Option(help="Minimum baskets with A and c (default adapts)")
    ] = None,
    min_confidence: Annotated[str, typer.Option(help="Minimum confidence")] = "0.05",
    min_lift: Annotated[str, typer.Option(help="Minimum lift")] = "1.01",
    top_n: Annotated[int, typer.Option(help="Rules kept per antecedent")] = 50,
    seed: Annotated[int, typer.Option(help="Seed choosing the hidden item of each order")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead")] = False,
) -> None:
    """Hide one item of each later order with 2+ items and ask the ranking for the rest.

    The rules are mined in memory with the rebuild's thresholds; nothing is published.
    """
    import orjson

    from app.evaluation.offline import NothingToEvaluate
    from app.jobs.rebuild import RebuildOptions
    from app.serving.recommend import Policy

    settings = load_settings()
    if (split_date is None) == (dataset is None):
        raise fail("give --split-date (the shop's orders) or --dataset (public baskets)", 2)
    if dataset is not None:
        policy = Policy(settings.max_per_category, settings.upsell_max_price_step)
        public_command(dataset, data_dir, k, seed, queries, policy, as_json)
        return
    assert split_date is not None
    try:
        split_at = _moment(split_date)
        options = RebuildOptions(
            min_count=min_count,
            min_confidence=parse_decimal(min_confidence, "min-confidence") or Decimal(0),
            min_lift=parse_decimal(min_lift, "min-lift") or Decimal(0),
            top_n=top_n,
        )
    except (ValueError, typer.BadParameter) as error:
        raise fail(str(error), 2) from None
    try:
        result = run(_evaluate(settings, split_at, k, options, seed))
    except NothingToEvaluate as error:
        raise fail(str(error)) from None
    if as_json:
        sys.stdout.write(orjson.dumps(as_dict(result)).decode() + "\n")
        return
    out.print(
        f"split {result.split_at:%Y-%m-%d}: {result.train_orders:,} orders to learn from, "
        f"{result.test_orders:,} to test; {result.rules:,} rules (min_count {result.min_count})",
        soft_wrap=True,
    )
    out.print(table(result))


def public_command(
    dataset: str,
    data_dir: Path,
    k: int,
    seed: int,
    queries: int | None,
    policy: Policy,
    as_json: bool,
) -> None:
    import orjson

    from app.evaluation.public import UnknownDataset
    from app.evaluation.public_compare import compare

    try:
        result = compare(dataset, data_dir, k=k, seed=seed, queries=queries, policy=policy)
    except UnknownDataset as error:
        raise fail(str(error), 2) from None
    if as_json:
        body = {**asdict(result), "scores": [asdict(s) for s in result.scores]}
        sys.stdout.write(orjson.dumps(body).decode() + "\n")
        return
    out.print(
        f"{result.dataset}: {result.train_baskets:,} baskets to learn from, "
        f"{result.test_baskets:,} held out; one hidden item per held-out basket of 2+ items",
        soft_wrap=True,
    )
    out.print(scores_table(result.scores, result.k))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"--split-date must be an ISO 8601 date, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _evaluate(
    settings: Settings, split_at: datetime, k: int, options: RebuildOptions, seed: int
) -> Evaluation:
    from app.db.engine import make_engine
    from app.evaluation.offline import evaluate
    from app.serving.recommend import Policy

    engine = make_engine(settings.reveal_database_url())
    policy = Policy(settings.max_per_category, settings.upsell_max_price_step)
    try:
        return await evaluate(engine, split_at, k=k, options=options, policy=policy, seed=seed)
    finally:
        await engine.dispose()


def as_dict(result: Evaluation) -> dict[str, Any]:
    return {
        "split_date": result.split_at.isoformat(),
        "k": result.k,
        "train_orders": result.train_orders,
        "test_orders": result.test_orders,
        "rules_mined": result.rules,
        "min_count": result.min_count,
        **{score.model: asdict(score) for score in result.scores},
    }


def table(result: Evaluation) -> Table:
    return scores_table(result.scores, result.k)


def scores_table(scores: list[Score], k: int) -> Table:
    from rich.table import Table

    view = Table("model", f"hit rate@{k}", f"MRR@{k}", "coverage", "cases")
    for score in scores:
        view.add_row(
            score.model,
            f"{score.hit_rate:.3f}",
            f"{score.mrr:.3f}",
            f"{score.coverage:.1%}",
            f"{score.cases:,}",
        )
    return view
