"""``python -m streaming.realtime [--home DIR] [--once]``: the local real-time consumer.

The process a local stack supervisor starts: it logs ``realtime consumer ready`` once it reads
every shard and the first snapshot is published, keeps ``<home>/realtime/consumer.json`` up to
date, and on SIGTERM or SIGINT stores what it read, checkpoints and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from streaming.realtime.consumer import ConsumerError, consume


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streaming.realtime")
    parser.add_argument("--home", help="The local home (default: CLICKSTREAM_HOME).")
    parser.add_argument("--once", action="store_true", help="Read every shard to its tip, exit.")
    parser.add_argument("--refresh-seconds", type=float, default=None)
    args = parser.parse_args(argv)
    if args.home:
        os.environ["CLICKSTREAM_HOME"] = args.home
    from streaming.contracts.settings import get_settings

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    get_settings.cache_clear()
    try:
        report = consume(
            get_settings(),
            once=args.once,
            handle_signals=True,
            refresh_seconds=args.refresh_seconds,
        )
    except ConsumerError as error:
        print(error, file=sys.stderr)
        return 1
    print(report.as_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
