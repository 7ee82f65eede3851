"""Federated speed on fl-syn-0.0 (30 clients, logistic regression, m = 5, 100 rounds, 4 local epochs).

1. Wall time of one full MosT run through the command line, process start included
   (``most run fl-syn-0.0 --methods most --lr 0.05``), median of ``--repeats``.
2. In one process: a MosT round vs a FedAvg round (ratio), the share of OT + min-norm in MosT's round, and the
   pairs each trains per round.
Not a test: the machine is shared; compare ratios within a run.
Usage: python benchmarks/bench_federated.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import most
from most.data.synthetic_fedprox import synthetic
from most.engine.federated import run_federated
from most.engine.local import LocalConfig
from most.models import LogisticRegression


def cli_wall(repeats: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "most.cli",
                    "run",
                    "fl-syn-0.0",
                    "--methods",
                    "most",
                    "--lr",
                    "0.05",
                    "--out",
                    out,
                    "--no-progress",
                    "--no-figures",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    walls = cli_wall(args.repeats)
    print(
        f"CLI wall, one MosT run on fl-syn-0.0 (process start included): median {statistics.median(walls):.2f} s "
        f"(runs: {', '.join(f'{w:.2f}' for w in walls)})"
    )
    data = synthetic(0.0, 0.0, seed=0)
    t0 = time.perf_counter()
    most.transport.assign(np.random.default_rng(0).random((30, 5)))  # pays POT's one-off import outside the rounds
    print(f"first OT call (imports POT): {time.perf_counter() - t0:.2f} s")

    def factory() -> torch.nn.Module:
        return LogisticRegression(60, 10)

    rows = {}
    for name, opts in (("most", {"warmup": 3}), ("fedavg", {})):
        res = run_federated(
            data,
            factory,
            most.methods.create(name, **opts),
            m=5,
            rounds=100,
            local=LocalConfig(lr=0.05),
            seed=0,
        )
        s = res.seconds
        per_round = (s["total"] - s["eval"]) / res.rounds_done
        rows[name] = (per_round, s, sum(res.pairs_trained) / len(res.pairs_trained))
    print("| method | ms / round (no eval) | local ms | cost ms | OT ms | min-norm ms | OT+min-norm share | pairs |")
    print("|:--|--:|--:|--:|--:|--:|--:|--:|")
    for name, (per_round, s, pairs) in rows.items():
        r = 1e3 / 100
        share = (s["transport"] + s["min_norm"]) / (s["total"] - s["eval"])
        print(
            f"| {name} | {per_round * 1e3:.1f} | {s['local'] * r:.1f} | {s['cost'] * r:.1f} | "
            f"{s['transport'] * r:.2f} | {s['min_norm'] * r:.2f} | {share:.1%} | {pairs:.1f} |"
        )
    print(f"MosT round / FedAvg round: {rows['most'][0] / rows['fedavg'][0]:.2f}")


if __name__ == "__main__":
    main()
