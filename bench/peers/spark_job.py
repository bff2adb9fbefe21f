"""The PySpark peer: seed 002's Glue/PySpark ETL run locally, from the same landing objects to the
same silver tables as our lake build.

Seed 002 reads the raw JSON with ``spark.read.json``, derives a fact table and a dimension with
the DataFrame API and writes partitioned Parquet. This job does that work with our rules, so its
output can be compared row for row with ours:

* raw -> bronze: every landed gzip NDJSON object of the bronze prefix, read with the bronze
  schema (a line that does not fit it is dropped, as our load quarantines it), with the Hive
  partition columns of its key and its object key; written as Parquet partitioned like ours.
* bronze -> silver events (the fact table): flattened, empty strings as nulls, one row per
  event id (the earliest ingest wins), partitioned by event date.
* silver events -> silver sessions: the session id, else per-user sessions cut after 30
  minutes of inactivity, else one session per event; the same columns as ``silver_sessions``.

Runs in ``bench/.venv-peers`` (pyspark is not in the main environment), ``local[2]``; prints a
JSON line with its timings. Usage::

    python -m bench.peers.spark_job --landing DIR --out DIR --schema FILE [--driver-memory 4g]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pyspark lives in bench/.venv-peers only
    from pyspark.sql import Column, DataFrame, SparkSession

SESSION_GAP_MINUTES = 30
COMPARISON_PATH = "/compare"
URL_PATH = r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)"
STRING_COLUMNS = {  # silver_events column: bronze field (empty strings become nulls)
    "session_id": "session.session_id",
    "user_id_hash": "user.user_id_hash",
    "geo_country": "user.geo_country",
    "page_url": "ctx.page_url",
    "referrer": "ctx.referrer",
    "locale": "ctx.locale",
    "user_agent": "ctx.user_agent",
    "ab_variant": "ctx.ab_variant",
    "utm_source": "session.utm.source",
    "utm_medium": "session.utm.medium",
    "utm_campaign": "session.utm.campaign",
    "chart_action": "chart.action",
    "chart_control_id": "chart.control_id",
    "chart_control_value": "chart.control_value",
    "browser": "ua.browser",
    "browser_version": "ua.browser_version",
    "os": "ua.os",
    "os_version": "ua.os_version",
    "device_class": "ua.device_class",
    "order_id": "purchase.order_id",
    "currency": "purchase.currency",
    "affiliate_click_id": "purchase.affiliate_click_id",
}


def session(driver_memory: str, shuffle_partitions: int) -> SparkSession:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName("ClickstreamTransform")
        .master("local[2]")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.files.maxPartitionBytes", str(64 * 2**20))
        # landing objects are small (tens of kB): pack many into one task
        .config("spark.sql.files.openCostInBytes", str(256 * 2**10))
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
        .getOrCreate()
    )


def bronze(spark: SparkSession, landing: Path, schema_ddl: str, prefix: str) -> DataFrame:
    from pyspark.sql import functions as F  # noqa: N812 (the usual alias)

    root = landing / prefix
    raw = (
        spark.read.schema(schema_ddl + ", _corrupt_record STRING")
        .option("mode", "PERMISSIVE")
        .option("basePath", str(root))
        .option("recursiveFileLookup", "false")
        .json(str(root / "events_type=*" / "ingest_dt=*" / "hour=*" / "*.gz"))
    )
    return (
        raw.where(F.col("_corrupt_record").isNull())
        .drop("_corrupt_record")
        .withColumn("ingest_dt", F.col("ingest_dt").cast("date"))
        .withColumn("hour", F.lpad(F.col("hour").cast("string"), 2, "0"))
        .withColumn(
            "source_object",
            F.regexp_extract("_metadata.file_path", f"({prefix}/events_type=[^/]+/.*)$", 1),
        )
    )


def silver_events(bronze_df: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812 (the usual alias)

    def blank_to_null(path: str) -> Column:
        column = F.col(path)
        return F.when(column == "", None).otherwise(column)

    flat = bronze_df.select(
        "event_id",
        "event_type",
        "ts",
        "ingest_ts",
        *(blank_to_null(path).alias(name) for name, path in STRING_COLUMNS.items()),
        F.filter("chart.product_ids", lambda item: F.coalesce(item, F.lit("")) != "").alias(
            "product_ids"
        ),
        blank_to_null("affiliate.link_id").alias("affiliate_link_id"),
        blank_to_null("affiliate.target").alias("affiliate_target"),
        F.col("affiliate.payout_cents").alias("payout_cents"),
        F.col("purchase.revenue_cents").alias("revenue_cents"),
        F.coalesce("is_bot", F.lit(False)).alias("is_bot"),
        blank_to_null("source").alias("source"),
        blank_to_null("schema_version").alias("schema_version"),
        blank_to_null("privacy.source_ip_anonymized").alias("source_ip_anonymized"),
        "source_object",
    )
    first_copy = Window.partitionBy("event_id").orderBy(
        F.col("ingest_ts").asc_nulls_last(),
        F.col("source_object").asc_nulls_last(),
        copy_fingerprint(flat),
    )
    return (
        flat.withColumn("copy_rank", F.row_number().over(first_copy))
        .where("copy_rank = 1")
        .drop("copy_rank", "source_object")
        .withColumn("event_dt", F.to_date("ts"))
        .withColumn("event_hour", F.date_format("ts", "HH"))
    )


FINGERPRINT_TEXT_COLUMNS = (
    "event_type",
    "session_id",
    "user_id_hash",
    "geo_country",
    "page_url",
    "referrer",
    "locale",
    "user_agent",
    "ab_variant",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "chart_action",
    "chart_control_id",
    "chart_control_value",
    "affiliate_link_id",
    "affiliate_target",
    "source",
    "schema_version",
    "source_ip_anonymized",
)


def copy_fingerprint(flat: DataFrame) -> Column:
    """The last tie-break between copies with the same ingest_ts and object, as the dbt
    macro ``copy_fingerprint``: md5 of the copy's content, nulls spelled '<null>'."""
    from pyspark.sql import functions as F  # noqa: N812 (the usual alias)

    def spelled(column: Column) -> Column:
        return F.coalesce(column, F.lit("<null>"))

    parts = [
        F.date_format(flat["ts"], "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"),
        *(spelled(flat[name]) for name in FINGERPRINT_TEXT_COLUMNS),
        spelled(flat["payout_cents"].cast("string")),
        flat["is_bot"].cast("string"),
        spelled(F.array_join(flat["product_ids"], ",")),
    ]
    return F.md5(F.concat_ws("|", *parts))


def silver_sessions(events: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812 (the usual alias)

    by_user = Window.partitionBy("user_id_hash").orderBy("ts", "event_id")
    orphans = (
        events.where("session_id is null and user_id_hash is not null")
        .select("event_id", "user_id_hash", "ts")
        .withColumn("previous_ts", F.lag("ts").over(by_user))
        .withColumn(
            "starts_session",
            F.when(F.col("previous_ts").isNull(), 1)
            .when(
                F.col("ts")
                > F.col("previous_ts") + F.expr(f"interval {SESSION_GAP_MINUTES} minutes"),
                1,
            )
            .otherwise(0),
        )
        .withColumn(
            "run_number",
            F.sum("starts_session").over(by_user.rowsBetween(Window.unboundedPreceding, 0)),
        )
    )
    run = Window.partitionBy("user_id_hash", "run_number")
    orphan_keys = orphans.select(
        "event_id",
        F.concat(
            F.lit("derived-"),
            F.md5(
                F.concat(
                    "user_id_hash",
                    F.lit("|"),
                    F.date_format(F.min("ts").over(run), "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"),
                )
            ),
        ).alias("derived_session_id"),
    )
    keyed = events.join(orphan_keys, "event_id", "left").withColumn(
        "session_key",
        F.coalesce("session_id", "derived_session_id", F.concat(F.lit("event-"), "event_id")),
    )
    in_session = Window.partitionBy("session_key").orderBy("ts", "event_id")
    positioned = keyed.withColumn("position_asc", F.row_number().over(in_session))

    def first_in_session(
        column: str, name: str | None = None, condition: Column | None = None
    ) -> Column:
        """The first non-null value in the session's event order (the dbt macro's rule)."""
        present = F.col(column).isNotNull()
        if condition is not None:
            present = present & condition
        return F.min_by(column, F.when(present, F.col("position_asc"))).alias(name or column)

    def count_of(event_type: str, name: str) -> Column:
        return F.count(F.when(F.col("event_type") == event_type, 1)).cast("int").alias(name)

    url_path = F.regexp_extract("page_url", URL_PATH, 1)
    paged = F.when(F.col("page_url").isNotNull(), F.col("position_asc"))
    comparison = (url_path == COMPARISON_PATH) | url_path.startswith(COMPARISON_PATH + "/")
    sessions = positioned.groupBy("session_key").agg(
        first_in_session("user_id_hash"),
        F.min("ts").alias("session_start_ts"),
        F.max("ts").alias("session_end_ts"),
        count_of("page_view", "pageviews"),
        count_of("chart_interaction", "chart_interactions"),
        count_of("affiliate_click", "affiliate_clicks"),
        F.min_by("page_url", paged).alias("first_page_url"),
        F.max_by("page_url", paged).alias("last_page_url"),
        first_in_session("referrer"),
        first_in_session("ab_variant"),
        first_in_session("geo_country"),
        first_in_session("utm_source"),
        first_in_session("utm_medium"),
        first_in_session("utm_campaign"),
        F.bool_or("is_bot").alias("is_bot"),
        F.coalesce(
            F.bool_or((F.col("event_type") == "page_view") & comparison), F.lit(False)
        ).alias("saw_comparison"),
        first_in_session("affiliate_target", condition=F.col("event_type") == "affiliate_click"),
        F.sum(
            F.when(
                F.col("event_type") == "affiliate_click", F.coalesce("payout_cents", F.lit(0))
            ).otherwise(0)
        )
        .cast("bigint")
        .alias("payout_cents"),
        F.count(F.lit(1)).cast("int").alias("events"),
    )
    return sessions.select(
        F.col("session_key").alias("session_id"),
        "user_id_hash",
        "session_start_ts",
        "session_end_ts",
        "pageviews",
        "chart_interactions",
        "affiliate_clicks",
        "first_page_url",
        "last_page_url",
        "referrer",
        "ab_variant",
        "geo_country",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "is_bot",
        "saw_comparison",
        "affiliate_target",
        "payout_cents",
        "events",
        F.to_date("session_start_ts").alias("event_dt"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--schema", type=Path, required=True, help="bronze payload as Spark DDL")
    parser.add_argument("--prefix", default="bronze")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    spark = session(args.driver_memory, args.shuffle_partitions)
    spark.sparkContext.setLogLevel("ERROR")
    timings = {"session_s": time.perf_counter() - started}

    step = time.perf_counter()
    bronze_dir = str(args.out / "bronze_events")
    (
        bronze(spark, args.landing, args.schema.read_text().strip(), args.prefix)
        .write.mode("overwrite")
        .partitionBy("events_type", "ingest_dt", "hour")
        .parquet(bronze_dir)
    )
    timings["bronze_s"] = time.perf_counter() - step

    step = time.perf_counter()
    events_dir = str(args.out / "silver_events")
    (
        silver_events(spark.read.parquet(bronze_dir))
        .write.mode("overwrite")
        .partitionBy("event_dt")
        .parquet(events_dir)
    )
    timings["silver_events_s"] = time.perf_counter() - step

    step = time.perf_counter()
    (
        silver_sessions(spark.read.parquet(events_dir))
        .write.mode("overwrite")
        .partitionBy("event_dt")
        .parquet(str(args.out / "silver_sessions"))
    )
    timings["silver_sessions_s"] = time.perf_counter() - step
    spark.stop()
    timings["total_s"] = time.perf_counter() - started
    print(json.dumps({"pid": os.getpid(), **timings}))


if __name__ == "__main__":
    main()
