"""Timing the two sides of a figure alike: interleaved samples, min/median/max, and the
one summary line per figure that `bench_engine.py` prints."""

from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Figure:
    name: str
    ours: list[float]          # seconds per unit, one entry per sample
    base: list[float] | None   # the baseline's, taken in the same run, interleaved
    unit: str                  # how to print a value: "us", "ms", "s", "tx/s", "MiB", "%"
    goal: float | None         # the largest ratio ours/base that meets the goal
    note: str = ""
    verdict: str | None = None  # for a goal that is no ratio: "yes" or "NO"

    @property
    def ratio(self) -> float | None:
        if not self.base:
            return None
        return statistics.median(self.ours) / statistics.median(self.base)

    def met(self) -> str:
        if self.verdict is not None:
            return self.verdict
        if self.goal is None or self.ratio is None:
            return ""
        return "yes" if self.ratio <= self.goal else "NO"


SCALE = {"us": 1e6, "ms": 1e3, "s": 1.0, "tx/s": 1.0, "MiB": 1.0, "%": 100.0}


def spread(values: list[float], unit: str) -> str:
    k = SCALE[unit]
    lo, mid, hi = min(values) * k, statistics.median(values) * k, max(values) * k
    digits = 0 if mid >= 100 else 1 if mid >= 10 else 2
    return f"{lo:.{digits}f}/{mid:.{digits}f}/{hi:.{digits}f} {unit}"


def table(figures: list[Figure]) -> str:
    head = f"| figure | rcmflow min/median/max | baseline min/median/max | ratio | goal | met |\n|---|---|---|---|---|---|"
    lines = [head]
    for f in figures:
        base = spread(f.base, f.unit) if f.base else "—"
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "—"
        goal = f"≤ {f.goal:g}x" if f.goal is not None else (f.note or "—")
        lines.append(f"| {f.name} | {spread(f.ours, f.unit)} | {base} | {ratio} | {goal} | {f.met()} |")
    return "\n".join(lines)


def interleave(ours: Callable[[], float], base: Callable[[], float], samples: int,
               warmup: int = 1) -> tuple[list[float], list[float]]:
    """Samples of two callables that each return the seconds one unit took, taken in
    turns (ours, base, ours, base, ...) so that a change of load hits both alike."""
    for _ in range(warmup):
        ours(), base()
    a, b = [], []
    for _ in range(samples):
        a.append(ours())
        b.append(base())
    return a, b


def timed(work: Callable[[], object], units: int = 1) -> float:
    began = time.perf_counter()
    work()
    return (time.perf_counter() - began) / units


# Runs a command and prints its peak RSS (KiB) on the last line of stderr. The command
# is started from this small process, not from the benchmark itself: a child forked
# from a large process counts that process's pages in its peak until it execs.
PEAK = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")


def run(command: list[str], env: dict[str, str], stdout=subprocess.DEVNULL, peak: bool = False) -> tuple[float, float]:
    """Wall seconds of one run of `command` and, with `peak`, its peak RSS (MiB); exits on a failure."""
    import sys

    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *command] if peak else command, env=env, stdout=stdout,
                          stderr=subprocess.PIPE)
    spent = time.perf_counter() - began
    err = done.stderr.decode(errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{err}")
    return spent, int(err.strip().splitlines()[-1]) / 1024 if peak else 0.0
