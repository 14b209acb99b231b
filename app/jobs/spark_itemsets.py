"""Itemset counts on Spark: pairs and triples made inside each basket, counted in Spark.

Each basket's items become one sorted array; its pairs come out of Spark's higher-order
functions where the basket is, with no self-join of the lines, and triples extend the
frequent pairs (a broadcast join). Only the counts reach this process. pyspark is imported
inside the functions: it is an optional extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from app.mining.itemsets import ItemsetCounts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Int64s = NDArray[np.int64]

# Every two items x < y of a sorted array column, as structs (x, y). Spark's higher-order
# functions run inside the JVM: pairs are made where the basket is, with no self-join
# shuffle and no Python in the loop.
PAIRS_OF = (
    "flatten(transform(sequence(1, size({a}) - 1), i -> transform("
    "slice({a}, i + 1, size({a}) - i), y -> named_struct('x', {a}[i - 1], 'y', y))))"
)


class SparkCounter:
    """Pair and triple counts of the (basket, item) lines, by DataFrame groups and joins."""

    def __init__(self, spark: SparkSession, lines: DataFrame, ids: Int64s, min_count: int) -> None:
        self._spark, self._lines, self._ids, self._min = spark, lines, ids, min_count

    def itemsets(self, n_baskets: int, item_count: Int64s, max_size: int) -> ItemsetCounts:
        from pyspark import StorageLevel
        from pyspark.sql import functions as sf

        # Apriori, as in process: only frequent items pair, a triple needs its pairs frequent.
        baskets = _baskets(self._restricted(self._ids[item_count >= self._min]), "item")
        baskets = baskets.persist(StorageLevel.MEMORY_AND_DISK)
        occurrences = _pairs(baskets, "items", "basket")
        counted = occurrences.groupBy("x", "y").count().where(sf.col("count") >= self._min)
        x, y, pair_count = columns_of(counted, "x", "y", "count")
        pairs = self._codes(x, y)
        triples, triple_count = np.empty((0, 3), dtype=np.int32), np.empty(0, dtype=np.int64)
        if max_size >= 3 and len(pairs):
            triples, triple_count = self._triples(occurrences, x, y)
        baskets.unpersist()
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))
        return ItemsetCounts(
            n_baskets, item_count, pairs[order], pair_count[order], triples, triple_count
        )

    def _triples(
        self, occurrences: DataFrame, x: Int64s, y: Int64s
    ) -> tuple[NDArray[np.int32], Int64s]:
        from pyspark.sql import functions as sf

        frequent = self._pair_frame(x, y)
        held = occurrences.join(sf.broadcast(frequent), ["x", "y"])
        # Two frequent pairs (x, y) and (x, z) of one basket extend to (x, y, z) when (y, z)
        # is frequent too; nothing else can reach min_count.
        partners = held.groupBy("basket", "x").agg(sf.array_sort(sf.collect_list("y")).alias("ys"))
        partners = partners.where(sf.size("ys") >= 2).withColumnRenamed("x", "first")
        extended = _pairs(partners, "ys", "first").select(
            sf.col("first").alias("x"), sf.col("x").alias("y"), sf.col("y").alias("z")
        )
        closing = frequent.withColumnRenamed("y", "z").withColumnRenamed("x", "y")
        triples = extended.join(sf.broadcast(closing), ["y", "z"])
        counted = triples.groupBy("x", "y", "z").count().where(sf.col("count") >= self._min)
        a, b, c, count = columns_of(counted, "x", "y", "z", "count")
        codes = self._codes(a, b, c)
        order = np.lexsort((codes[:, 2], codes[:, 1], codes[:, 0]))
        return codes[order], count[order]

    def co_counts(self, top: NDArray[np.intp], item_count: Int64s) -> NDArray[np.float64]:
        """X'X over the item codes `top`: every pair among them counted, however rare."""
        baskets = _baskets(self._restricted(self._ids[top]), "item")
        counted = _pairs(baskets, "items", "basket").groupBy("x", "y").count()
        x, y, count = columns_of(counted, "x", "y", "count")
        position = np.searchsorted(top, self._codes(x, y))
        gram = np.zeros((len(top), len(top)), dtype=np.float64)
        gram[position[:, 0], position[:, 1]] = count
        gram[position[:, 1], position[:, 0]] = count
        gram[np.diag_indices_from(gram)] = item_count[top]
        return gram

    def _restricted(self, product_ids: Int64s) -> DataFrame:
        """The lines of these items only (a broadcast join: the item list is small)."""
        from pyspark.sql import functions as sf
        from pyspark.sql.types import LongType, StructField, StructType

        schema = StructType([StructField("item", LongType(), False)])
        items = self._spark.createDataFrame([(int(i),) for i in product_ids], schema)
        return self._lines.join(sf.broadcast(items), "item")

    def _pair_frame(self, x: Int64s, y: Int64s) -> DataFrame:
        from pyspark.sql.types import LongType, StructField, StructType

        schema = StructType(
            [StructField("x", LongType(), False), StructField("y", LongType(), False)]
        )
        rows = list(zip(x.tolist(), y.tolist(), strict=True))
        return self._spark.createDataFrame(rows, schema)

    def _codes(self, *columns: Int64s) -> NDArray[np.int32]:
        """Product ids to item codes (their rank among the products bought), row-wise."""
        stacked = np.stack([np.searchsorted(self._ids, c) for c in columns], axis=1)
        return stacked.astype(np.int32).reshape(-1, len(columns))


def _baskets(lines: DataFrame, item: str) -> DataFrame:
    """(basket, items): each basket of two items or more, its items ascending."""
    from pyspark.sql import functions as sf

    grouped = lines.groupBy("basket").agg(sf.array_sort(sf.collect_list(item)).alias("items"))
    return grouped.where(sf.size("items") >= 2)


def _pairs(frame: DataFrame, array: str, key: str) -> DataFrame:
    """(key, x, y) for every two elements x < y of the sorted, distinct `array` column."""
    from pyspark.sql import functions as sf

    exploded = frame.select(key, sf.explode(sf.expr(PAIRS_OF.format(a=array))).alias("p"))
    return exploded.select(key, sf.col("p.x").alias("x"), sf.col("p.y").alias("y"))


def columns_of(frame: DataFrame, *names: str) -> list[Int64s]:
    """The named integer columns of a small result, through Arrow, sorted by the first."""
    table: Any = frame.select(*names).toArrow()
    columns = [np.asarray(table.column(name).to_numpy(), dtype=np.int64) for name in names]
    order = np.argsort(columns[0], kind="stable")
    return [column[order] for column in columns]
