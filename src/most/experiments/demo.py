"""``most run demo``: the clustered quadratic problem (5 clusters × 12 objectives in 8-D, m = 5).

Metric: the worst per-objective loss max_i min_j L_i(θ_j) (lower is better); ``mean_loss`` is kept beside it.
"""

from __future__ import annotations

import time
from pathlib import Path

import most
from most.data.clustered import clustered, initial_solutions
from most.experiments import register
from most.experiments.base import Experiment, ExperimentResult, Run


class ClusteredDemo(Experiment):
    name = "demo"
    metric = "worst per-objective loss"
    higher_is_better = False
    default_methods = ("most", "mgda", "linearization", "w-mgda", "most-no-cl", "most-no-reg", "most-l")
    summary = "5 clusters × 12 quadratic objectives in 8-D, m = 5 solutions"

    def run(
        self,
        *,
        methods: list[str],
        seeds: int,
        quick: bool,
        out_dir: Path,
        lr: float | None = None,
        progress: bool = True,
    ) -> ExperimentResult:
        steps = 100 if quick else 300
        rate = 0.5 if lr is None else lr
        runs: list[Run] = []
        for seed in range(seeds):
            problem = clustered(seed=seed)
            init = initial_solutions(5, problem.dim, seed=seed)
            for name in methods:
                t0 = time.perf_counter()
                res = most.fit(problem, init, method=name, steps=steps, lr=rate, seed=seed, progress=progress)
                runs.append(Run(name, seed, res.worst_loss(), time.perf_counter() - t0, {"mean_loss": res.mean_loss()}))
        return ExperimentResult(self.name, self.metric, False, runs, {"steps": steps, "lr": rate, "m": 5})


register("demo", ClusteredDemo)
