"""The pandas peer: seed 004's Lambda transform, one landing object at a time.

For every object (as an S3 event would hand the Lambda one key): read it, decompress the gzip,
parse the JSON records line by line, flatten them into a DataFrame (``pd.json_normalize``),
type the event time, and write the file as Snappy Parquet under the same Hive partitions, one
Parquet file per object. Prints one JSON line with its timings. Usage::

    python -m bench.peers.pandas_job --landing DIR --keys FILE --out DIR
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time
from pathlib import Path

import pandas as pd


def _is_number(value: object) -> bool:
    return isinstance(value, bool | int) or (isinstance(value, float) and not math.isnan(value))


def transform(landing: Path, key: str, out: Path) -> int:
    records = []
    for line in gzip.decompress((landing / key).read_bytes()).splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the Lambda logs and skips a bad record
    if not records:
        return 0
    frame = pd.json_normalize(records)
    for column in frame.select_dtypes(include="object").columns:  # validate types: scalars of mixed
        values = frame[column]  # JSON types (e.g. a control value) become their JSON text
        if values.map(_is_number).any():
            frame[column] = values.map(
                lambda value: json.dumps(value) if _is_number(value) else value
            )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["source_object"] = key
    target = (out / key).with_suffix(".parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(target, compression="snappy", index=False)
    return len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--keys", type=Path, required=True, help="object keys, one a line")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    keys = args.keys.read_text().split()
    rows = sum(transform(args.landing, key, args.out) for key in keys)
    print(
        json.dumps({"objects": len(keys), "rows": rows, "total_s": time.perf_counter() - started})
    )


if __name__ == "__main__":
    main()
