"""Speed of the two solvers MosT calls every round: the OT assignment and the MGDA min-norm problem.

Run: ``.venv/bin/python benchmarks/bench_solvers.py`` (about a minute on 2 cores). Prints one Markdown table: the
median wall time of a few repeats per case, the target where one is set, and whether it is met. Inputs are random
and seeded: OT costs uniform on [0, 1) with uniform marginals; min-norm rows ``base + noise`` with d = 610 (each
row correlated ~0.5 with every other, like the gradients of related clients). Wall time on a shared machine is
noisy: the header prints the load average so a slow run can be told from a slow solver.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from most.mgda import min_norm, solve_gram
from most.transport import assign


@dataclass(frozen=True)
class Case:
    """One row of the table: what is timed, how often, and the target it must meet (seconds, or None)."""

    group: str
    label: str
    size: str
    run: Callable[[], object]
    repeats: int
    target: float | None = None


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, caches, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt(seconds: float) -> str:
    return (
        f"{seconds * 1e3:.3f} ms"
        if seconds < 1e-2
        else f"{seconds * 1e3:.1f} ms"
        if seconds < 1
        else f"{seconds:.2f} s"
    )


def assign_cases(repeats: int) -> list[Case]:
    targets = {("sinkhorn", 100_000): 1.0, ("ipot", 100_000): 1.0, ("emd", 100_000): 3.0}
    cases = []
    for n, m in [(30, 5), (206, 5), (10_000, 16), (100_000, 16)]:
        C = np.random.default_rng(n + m).random((n, m))
        reps = repeats if n <= 10_000 else max(repeats // 2, 1)
        for solver in ("emd", "sinkhorn", "ipot"):
            cases.append(
                Case(
                    "assign",
                    solver,
                    f"{n} × {m}",
                    lambda C=C, s=solver: assign(C, solver=s),
                    reps,
                    targets.get((solver, n)),
                )
            )
        cases.append(Case("assign", "emd, τ = 0.1", f"{n} × {m}", lambda C=C: assign(C, tau=0.1), reps))
    return cases


def correlated(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(d) + rng.standard_normal((n, d))


def min_norm_cases(repeats: int) -> list[Case]:
    targets = {200: 5e-3, 2000: 1.0}
    cases = []
    for n in (30, 200, 2000):
        V = correlated(n, 610, n)
        G = V @ V.T
        reps = repeats * 4 if n <= 200 else repeats
        cases.append(
            Case("min_norm", "gram (n × n) given", f"n = {n}, d = 610", lambda G=G: solve_gram(G), reps, targets.get(n))
        )
        cases.append(Case("min_norm", "vectors (n × d) given", f"n = {n}, d = 610", lambda V=V: min_norm(V), reps))
    return cases


def overhead_cases() -> list[Case]:
    V = correlated(12, 610, 12)
    C = np.random.default_rng(60).random((60, 5))
    return [
        Case("per call", "min_norm(vectors)", "n = 12, d = 610", lambda: min_norm(V), 300, 3e-4),
        Case("per call", "assign(emd, τ = 0.1)", "60 × 5", lambda: assign(C, tau=0.1), 300, 3e-4),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (median reported)")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Solver benchmark — {os.cpu_count()} CPUs, load average {load:.2f} at start; median of repeats.\n")
    print("| solver | case | size | median | repeats | target | met |")
    print("|---|---|---|---|---|---|---|")
    for case in assign_cases(args.repeats) + min_norm_cases(args.repeats) + overhead_cases():
        t = median_seconds(case.run, case.repeats)
        target = "—" if case.target is None else f"< {fmt(case.target)}"
        met = "—" if case.target is None else ("yes" if t < case.target else "**no**")
        print(
            f"| {case.group} | {case.label} | {case.size} | {fmt(t)} | {case.repeats} | {target} | {met} |", flush=True
        )


if __name__ == "__main__":
    main()
