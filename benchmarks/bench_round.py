"""Time split of most.fit rounds on the clustered problem (5 clusters × 12 objectives, 8-D, m = 5).

Prints a Markdown table: per-round milliseconds in gradients (vmap of jacfwd), OT and min-norm, and the share of
OT + min-norm in the round. Not a test: numbers depend on the machine and its load; compare ratios within a run.
Usage: python benchmarks/bench_round.py [--steps 200]
"""

from __future__ import annotations

import argparse
import statistics

import torch

import most
from most.data.clustered import clustered, initial_solutions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem = clustered()
    init = initial_solutions(5, problem.dim)
    most.fit(problem, init, method="most", steps=3, lr=0.5)  # warm up torch.func's lazy imports
    print("| method | round ms | gradients ms | OT ms | min-norm ms | OT + min-norm share |")
    print("|:--|--:|--:|--:|--:|--:|")
    for name in ("most", "most-e", "mgda", "linearization"):
        res = most.fit(problem, init, method=name, steps=args.steps, lr=0.5)
        h = res.history[1:]  # the first round pays one-off costs
        total = statistics.median(r.seconds.total for r in h) * 1e3
        grad = statistics.median(r.seconds.gradients for r in h) * 1e3
        ot = statistics.median(r.seconds.transport for r in h) * 1e3
        mn = statistics.median(r.seconds.min_norm for r in h) * 1e3
        print(f"| {name} | {total:.2f} | {grad:.2f} | {ot:.2f} | {mn:.2f} | {(ot + mn) / total:.0%} |")


if __name__ == "__main__":
    main()
