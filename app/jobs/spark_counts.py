"""The Spark engine: the itemset counts of a rebuild, counted with Spark DataFrames.

Spark reads the order lines itself (Postgres over its JDBC source, or a Parquet export of
`cartlift export orders`), generates the pairs and triples inside each basket and counts
them in its executors; only the counts come back to this process, never a basket. Items
are numbered by product id, as the default engine numbers them, so the miner sees the
same counts and the rules are the same, tie for tie.

pyspark is an optional extra: it is imported here and in app.jobs.spark_itemsets only,
inside functions, when a Spark run starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import URL

from app.jobs.counting import CoCounts, Counted, EngineChoice, ThresholdsFor
from app.jobs.spark_itemsets import SparkCounter, columns_of
from app.mining.item_weights import MAX_ITEMS, weighted_items

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Int64s = NDArray[np.int64]
APP_NAME = "cartlift-rebuild"
LOG_CONFIG = Path(__file__).with_name("spark_log4j2.properties")
# Local mode runs everything in one JVM: a few shuffle partitions per core, not Spark's 200.
LOCAL_SHUFFLE_PARTITIONS = 4


class SparkUnavailable(RuntimeError):
    """The Spark engine cannot start here (no pyspark, no Java, no JDBC driver)."""


@dataclass
class SparkJob:
    """One Spark count of a rebuild's window: where the orders are, how baskets group."""

    choice: EngineChoice
    database: URL
    scope: str
    since: datetime | None
    sku_of: dict[int, str]  # product id -> sku, from the catalog
    timings: dict[str, float] = field(default_factory=dict)

    def count(self, thresholds_for: ThresholdsFor, weights: bool) -> Counted:
        """Read, count and hand back; blocking (the rebuild runs it in a thread)."""
        clock = time.perf_counter()
        spark = start_session(self.choice)
        try:
            self.timings["spark_start_s"] = time.perf_counter() - clock
            return self._count(spark, thresholds_for, weights)
        finally:
            spark.stop()

    def _count(self, spark: SparkSession, thresholds_for: ThresholdsFor, weights: bool) -> Counted:
        from pyspark import StorageLevel

        clock = time.perf_counter()
        orders, lines = self._orders(spark), self._baskets(spark)
        lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
        n_orders, n_baskets = orders.count(), lines.select("basket").distinct().count()
        product_ids, item_count = columns_of(lines.groupBy("item").count(), "item", "count")
        self.timings["read_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        thresholds = thresholds_for(max(n_baskets, 1))
        counter = SparkCounter(spark, lines, product_ids, thresholds.min_count)
        itemsets = counter.itemsets(n_baskets, item_count, thresholds.max_antecedent + 1)
        self.timings["count_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        top = weighted_items(item_count, MAX_ITEMS) if weights else None
        gram = None if top is None else CoCounts(top, counter.co_counts(top, item_count))
        lines.unpersist()
        self.timings["co_count_s"] = time.perf_counter() - clock
        return Counted(
            orders=n_orders,
            skus=self._skus(product_ids),
            thresholds=thresholds,
            itemsets=itemsets,
            co_counts=gram,
            timings=self.timings,
        )

    def _orders(self, spark: SparkSession) -> DataFrame:
        """(id, customer_id) of the orders placed in the window."""
        from pyspark.sql import functions as sf

        if self.choice.parquet_dir is None:
            where = self._where()
            query = f"SELECT o.id, o.customer_id FROM orders o{where}"
            return self._jdbc(spark, query)
        orders = spark.read.parquet(str(self.choice.parquet_dir / "orders.parquet"))
        if self.since is not None:
            orders = orders.where(sf.col("ordered_at") >= sf.lit(self.since))
        return orders.select("id", "customer_id")

    def _baskets(self, spark: SparkSession) -> DataFrame:
        """(basket, item) once per basket holding the item; item is the product id."""
        from pyspark.sql import functions as sf

        if self.choice.parquet_dir is None:
            key = "ol.order_id" if self.scope == "order" else "COALESCE(o.customer_id, -o.id)"
            # The nightly case needs nothing from orders: skipping the join halves the read.
            join = self.scope != "order" or self.since is not None
            source = "order_lines ol" + (" JOIN orders o ON o.id = ol.order_id" if join else "")
            query = f"SELECT {key} AS basket, ol.product_id AS item FROM {source}{self._where()}"
            return self._jdbc(spark, query).distinct()
        lines = spark.read.parquet(str(self.choice.parquet_dir / "order_lines.parquet"))
        orders = self._orders(spark)
        joined = lines.join(orders, lines["order_id"] == orders["id"])
        # Orders without a customer stand alone in customer scope, as in the database.
        basket = (
            sf.col("order_id")
            if self.scope == "order"
            else sf.coalesce(sf.col("customer_id"), -sf.col("order_id"))
        )
        return joined.select(basket.alias("basket"), sf.col("product_id").alias("item")).distinct()

    def _where(self) -> str:
        if self.since is None:
            return ""
        # A literal, not a parameter: Spark's JDBC source takes a query text only.
        return f" WHERE o.ordered_at >= TIMESTAMPTZ '{self.since.astimezone(UTC).isoformat()}'"

    def _jdbc(self, spark: SparkSession, query: str) -> DataFrame:
        if not self.choice.jdbc_jar.is_file():
            raise SparkUnavailable(
                f"the Postgres JDBC driver is not at {self.choice.jdbc_jar} (Debian: apt-get "
                "install libpostgresql-jdbc-java), or read a Parquet export (--orders-parquet)"
            )
        if not self.database.drivername.startswith("postgresql"):
            raise SparkUnavailable(
                "the spark engine reads Postgres over JDBC; with another database, export the "
                "orders (cartlift export orders --format parquet) and pass --orders-parquet"
            )
        return (
            spark.read.format("jdbc")
            .option("url", jdbc_url(self.database))
            .option("driver", "org.postgresql.Driver")
            .option("user", self.database.username or "")
            .option("password", self.database.password or "")
            .option("query", query)
            .option("fetchsize", "100000")
            .load()
        )

    def _skus(self, product_ids: Int64s) -> list[str]:
        missing = [pid for pid in product_ids.tolist() if pid not in self.sku_of]
        if missing:
            raise ValueError(f"order lines name products the catalog lacks: ids {missing[:5]}")
        return [self.sku_of[pid] for pid in product_ids.tolist()]


def jdbc_url(database: URL) -> str:
    """jdbc:postgresql://host:port/name of a SQLAlchemy URL (credentials go separately)."""
    return f"jdbc:postgresql://{database.host or '127.0.0.1'}:{database.port or 5432}/" + (
        database.database or "postgres"
    )


def start_session(choice: EngineChoice) -> SparkSession:
    """A Spark session on `choice.spark_master` with the Postgres driver on its class path."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise SparkUnavailable(
            f"the spark engine needs the 'spark' extra (uv sync --extra spark): {error}"
        ) from None
    builder = (
        SparkSession.builder.appName(APP_NAME)
        .master(choice.spark_master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(_shuffle_partitions(choice.spark_master)))
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOG_CONFIG}")
    )
    if choice.jdbc_jar.is_file():
        builder = builder.config("spark.jars", str(choice.jdbc_jar))
    try:
        spark = builder.getOrCreate()
    except Exception as error:  # the JVM did not start: no java, a bad master URL
        raise SparkUnavailable(f"Spark did not start on {choice.spark_master}: {error}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _shuffle_partitions(master: str) -> int:
    return LOCAL_SHUFFLE_PARTITIONS if master.startswith("local") else 200
