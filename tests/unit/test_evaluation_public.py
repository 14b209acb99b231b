"""The public-data evaluation: reading and splitting the files, EASE, the comparison table."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from app.evaluation.holdout import every_item_cases
from app.evaluation.public import UnknownDataset, read_baskets, split_baskets
from app.evaluation.public_compare import DEFAULT_MODEL, compare
from tests.conftest import unavailable

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def write_files(folder: Path) -> None:
    (folder / "groceries.csv").write_text("milk,bread \nbread,eggs,bread\n\nsoda\n")
    with gzip.open(folder / "retail.dat.gz", "wt") as file:
        file.write("".join(f"{n} {n + 1} {n}\n" for n in range(10)))


def test_baskets_are_read_as_distinct_trimmed_items_in_file_order(tmp_path: Path) -> None:
    write_files(tmp_path)
    assert read_baskets("groceries", tmp_path) == [
        ["milk", "bread"],
        ["bread", "eggs"],
        [],
        ["soda"],
    ]
    assert read_baskets("retail", tmp_path)[:2] == [["0", "1"], ["1", "2"]]
    with pytest.raises(UnknownDataset, match="groceries, retail"):
        read_baskets("movies", tmp_path)
    with pytest.raises(UnknownDataset, match="does not exist"):
        read_baskets("retail", tmp_path / "nowhere")


def test_retail_trains_on_its_first_baskets_and_groceries_on_a_seeded_shuffle(
    tmp_path: Path,
) -> None:
    write_files(tmp_path)
    retail = split_baskets("retail", read_baskets("retail", tmp_path))
    assert [b[0] for b in retail.train] == [str(n) for n in range(8)]
    assert [b[0] for b in retail.test] == ["8", "9"]
    assert [b[0] for b in retail.validation().test] == ["7"]  # the last tenth of training
    baskets = [[str(n)] for n in range(100)]
    first, again = split_baskets("groceries", baskets, 1), split_baskets("groceries", baskets, 1)
    assert first == again and len(first.train) == 80
    assert first.train != baskets[:80] and sorted(first.train + first.test) == sorted(baskets)


def test_every_item_cases_hide_each_item_of_a_basket_once() -> None:
    cases = every_item_cases([["b", "a", "b"], ["c"]])
    assert [(c.cart, c.hidden) for c in cases] == [(("b",), "a"), (("a",), "b")]


def test_on_groceries_the_default_is_at_or_above_every_reference_ease_included() -> None:
    if not (DATA_DIR / "groceries.csv").exists():
        unavailable("the Groceries data set", FileNotFoundError(DATA_DIR))
    result = compare("groceries", DATA_DIR)
    models = [s.model for s in result.scores]
    assert models[0] == DEFAULT_MODEL and any(m.startswith("EASE") for m in models)
    assert len({s.cases for s in result.scores}) == 1
    default, *references = result.scores
    assert all(default.hit_rate >= other.hit_rate for other in references), result.scores


def test_evaluate_takes_a_split_date_or_a_dataset() -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["evaluate", "--split-date", "2026-01-01", "--dataset", "retail"])
    neither = runner.invoke(app, ["evaluate"])
    unknown = runner.invoke(app, ["evaluate", "--dataset", "movies"])
    for result in (both, neither):
        assert result.exit_code == 2 and "--split-date" in result.stderr
    assert unknown.exit_code == 2 and "groceries, retail" in unknown.stderr
