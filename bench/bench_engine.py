#!/usr/bin/env python
"""Every performance figure of rcmflow against a floor measured in the same run.

Each figure takes samples of rcmflow and of its baseline in turns (interleaved, so that
a change of machine load hits both alike) and prints min/median/max of both, the ratio
of the medians, the goal and whether it is met. The baselines are raw: the standard
library's sqlite3 (or psycopg) on the same file and pragmas, writing the same rows,
hash chain included, and `python -c pass` or importing the libraries a command uses.

Usage: python bench/bench_engine.py [--quick] [--postgres URL] [--samples N]
--quick takes fewer samples and 10,000 instances for status (under two minutes);
--postgres (default: $RCMFLOW_TEST_POSTGRES_URL) adds the PostgreSQL figures, in a fresh
schema dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import Bench, COUNTRIES, WORKFLOW_YAML  # noqa: E402
from sample import table  # noqa: E402
import ticks  # noqa: E402
import writers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def make_home(tmp: Path) -> Path:
    """A home with the checkout's workflows/ and plugins/ (they load with every
    command) and the benchmark workflow."""
    home = tmp / "home"
    (home / "workflows").mkdir(parents=True)
    shutil.copytree(REPO / "workflows", home / "workflows", dirs_exist_ok=True)  # the roadmap: tick sends its e-mails
    (home / "workflows" / "bench-consultation.yaml").write_text(WORKFLOW_YAML)
    shutil.copytree(REPO / "plugins", home / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, 10,000 instances for status")
    parser.add_argument("--postgres", default=os.environ.get("RCMFLOW_TEST_POSTGRES_URL"),
                        help="a PostgreSQL URL for the PostgreSQL figures (default $RCMFLOW_TEST_POSTGRES_URL)")
    parser.add_argument("--samples", type=int, help="samples per figure (default 5 quick, 9 full)")
    parser.add_argument("--instances", type=int, help="instances for the status figures (default 10,000 / 100,000)")
    args = parser.parse_args()
    samples = args.samples or (5 if args.quick else 9)
    instances = args.instances or (10_000 if args.quick else 100_000)

    tmp = Path(tempfile.mkdtemp(prefix="rcmflow-bench-"))
    try:
        home = make_home(tmp)
        bench = Bench(home, tmp, quick=args.quick, samples=samples)
        print(f"rcmflow bench, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {bench.sqlite_version}, "
              f"{'quick' if args.quick else 'full'} run, {samples} samples a figure", flush=True)
        figures = bench.sqlite_figures(instances)
        figures += ticks.tick_figures(home, tmp, args.quick)
        if args.postgres:
            figures += writers.postgres_figures(home, args.postgres, quick=args.quick, samples=samples)
        else:
            print("(no --postgres URL: the PostgreSQL figures are left out)")
        bench.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(figures))
    missed = [f.name for f in figures if f.met() == "NO"]
    print(f"\n{len(figures) - len(missed)} of {len(figures)} figures meet their goal or have none"
          + (f"; missed: {'; '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()
