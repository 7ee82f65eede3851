r"""Few-objective experiments (n = 2 ≪ m = 5; paper A.3, A.4.1, A.4.3): ZDT1/2/3 and fairness–accuracy.

``most run zdt1|zdt2|zdt3`` — Table 5 / Fig. 4. 30 variables in [0, 1] (the engine clips every step to the box),
m = 5 solutions started uniformly in the box, plain gradient steps θ ← θ − η d for ``steps`` rounds. The metric is
the hypervolume of the m final objective vectors at the paper's reference point (Liu et al. 2021's, see
:mod:`most.data.zdt`); the hypervolume at the normalised reference (1.1, 1.1) is kept beside it. ZDT has no
validation split, so each method's learning rate is chosen from :attr:`ZdtProtocol.lrs` by its hypervolume on a
separate *tuning seed* (its own random start), then the reported seeds 0..S−1 are run with that rate.

``most run fair-synthetic|fair-german|fair-adult|fair-compas`` — Table 8 / Fig. 5. Logistic regression, objectives
(cross-entropy, |cov(s, d_θ)|) (:mod:`most.data.fairness`), minibatch steps for ``epochs`` epochs. Every method's
hyperparameters (learning rate from {0.08, 0.1}, and its own grid: MosT-E n' ∈ {10, 15, 20} × Dirichlet
concentration ∈ {0.1, 0.5, 1.0}; the same concentrations for Linearization's random preferences and EPO's random rays,
plus EPO's evenly spread rays) are chosen by the mean *validation* hypervolume over the seeds; the reported value is
the *test* hypervolume × 100 of the chosen configuration, at a reference point fixed from the training split
(:func:`most.data.fairness.reference_point`).

The ``most`` column runs MosT itself on n = 2 < m objectives (the paper's Table 8 has it): the core's ``most`` refuses
m > n and points to ``most-e``, so here a subclass skips that check (plain OT with α = 1/n, β = 1/m is feasible for any
n, m; section 3.2 explains why it collapses to per-objective duplicates).

``most-e-no-cl`` (MosT-E with uniform marginals, i.e. without the section 3.3 curriculum; same grid as MosT-E) is a
diagnostic column: with n' ≫ m the curriculum's late, performance-driven β starves the models that already serve
some objective well (their Γ columns shrink to a few per cent), and MosT-E loses spread.

``seconds`` is the wall time of the reported fit (solving, not the hyperparameter search); ``extra`` holds the
runtime ratio to Linearization on the same seed, the hypervolumes, the final objective values and the chosen
hyperparameters.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import most
from most.data import fairness, zdt
from most.experiments import register
from most.experiments.base import Experiment, ExperimentResult, Run
from most.methods import Method, create
from most.methods.most import Most, MostConfig
from most.metrics.hypervolume import hypervolume
from most.result import Result, RoundRecord

ZDT_METHODS = ("most-e", "most", "mgda", "linearization", "epo", "svgd", "pmtl", "stch-set", "most-e-no-cl")
FAIR_METHODS = ("most-e", "most", "mgda", "linearization", "epo", "most-e-no-cl")
RATIO_TO = "linearization"


# ----------------------------------------------------------------------------------------------------------------
# MosT with fewer objectives than solutions


class FewObjectiveMost(Most):
    """MosT on n < m objectives (paper section 3.2's "MosT" column): the core's ``most`` refuses m > n (pointing to
    MosT-E); balanced OT with α = 1/n, β = 1/m is still feasible, so this variant only skips that check."""

    name = "most"

    def setup(self, n: int, m: int, rng: np.random.Generator) -> None:
        Method.setup(self, n, m, rng)
        self.plan = None


def make_method(name: str, options: dict[str, Any]) -> Method:
    """The configured method ``name`` (``"most"`` → :class:`FewObjectiveMost`)."""
    if name == "most":
        return FewObjectiveMost(MostConfig(**options))
    return create(name, **options)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads (these problems are tiny: thread hand-offs cost more than they save)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fit(problem_name: str, objectives: Any, init: torch.Tensor, method: Method, **kwargs: Any) -> Result:
    """``most.fit`` whose errors (NaN or infinite objective values) name the problem as well."""
    try:
        return most.fit(objectives, init, method=method, **kwargs)
    except ValueError as exc:
        raise ValueError(f"{problem_name} ({method.name}): {exc}") from exc


def _ratios(runs: list[Run]) -> None:
    """Add ``time / linearization`` (same seed) to every run's extra, when Linearization ran."""
    base = {r.seed: r.seconds for r in runs if r.method == RATIO_TO}
    for r in runs:
        if r.seed in base and base[r.seed] > 0:
            r.extra[f"time / {RATIO_TO}"] = r.seconds / base[r.seed]


def _timing(res: Result) -> dict[str, float]:
    t = res.seconds()
    return {"seconds_gradients": t.gradients, "seconds_weights": t.transport, "seconds_min_norm": t.min_norm}


# ----------------------------------------------------------------------------------------------------------------
# ZDT


@dataclass(frozen=True, kw_only=True)
class ZdtProtocol:
    """How a ZDT experiment runs.

    Attributes:
        steps: gradient rounds (the paper: 1,000 epochs).
        lrs: learning-rate grid; each method's rate is chosen on ``tuning_seed`` (one value: no tuning).
            The paper's 0.005 was used with Adam-like steps in the code it follows; with plain gradient steps
            and 1,000 rounds it leaves most methods far from the front, hence the grid.
        m: number of solutions.
        tuning_seed: seed of the random start used only to choose the learning rate.
        method_options: per-method options (MosT-E: the paper's n' = 25, Dirichlet(1, 1)).
    """

    steps: int = 1000
    lrs: tuple[float, ...] = (0.005, 0.02, 0.05, 0.1)
    m: int = 5
    tuning_seed: int = 1000
    method_options: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            "most-e": {"n_extended": 25, "concentration": 1.0},
            "most-e-no-cl": {"n_extended": 25, "concentration": 1.0},
        }
    )

    def options(self, method: str) -> dict[str, Any]:
        opts = dict(self.method_options.get(method, {}))
        if method == "pmtl":
            opts.setdefault("warmup_steps", max(self.steps // 10, 1))
        return opts


ZDT_FULL = ZdtProtocol()
ZDT_QUICK = ZdtProtocol(steps=200, lrs=(0.05,))


@dataclass
class ZdtOutcome:
    """One ZDT fit: objective values F (m, 2), hypervolumes at both references, wall seconds, the Result."""

    F: np.ndarray
    hv: float
    hv_normalised: float
    seconds: float
    result: Result


class ZdtExperiment(Experiment):
    """ZDT1/2/3 with m = 5 solutions (Table 5, Fig. 4)."""

    metric = "hypervolume"
    higher_is_better = True
    default_methods = ZDT_METHODS

    def __init__(self, problem: str, protocols: tuple[ZdtProtocol, ZdtProtocol] = (ZDT_FULL, ZDT_QUICK)) -> None:
        self.spec = zdt.problem(problem)
        self.name = self.spec.name
        self.summary = f"{self.spec.name.upper()} (30 variables), m = 5, hypervolume at the paper's reference point"
        self.protocols = protocols

    def fit_one(self, method: str, seed: int, lr: float, protocol: ZdtProtocol, progress: bool = False) -> ZdtOutcome:
        """Run ``method`` from the seed's random start and score it."""
        spec = self.spec
        init = zdt.initial_solutions(protocol.m, n_var=spec.n_var, seed=seed)

        def guard(step: int, thetas: torch.Tensor, record: RoundRecord) -> None:
            zdt.check_feasible(f"{spec.name} ({method})", thetas, step=step)

        algo = make_method(method, protocol.options(method))
        t0 = time.perf_counter()
        res = _fit(
            spec.name,
            spec.objectives,
            init,
            algo,
            steps=protocol.steps,
            lr=lr,
            seed=seed,
            bounds=zdt.BOUNDS,
            progress=progress,
            callback=guard,
        )
        seconds = time.perf_counter() - t0
        F = zdt.evaluate(spec.name, res.solutions)
        return ZdtOutcome(F, hypervolume(F, spec.reference), hypervolume(F, spec.normalised_reference), seconds, res)

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
        protocol = self.protocols[1] if quick else self.protocols[0]
        return self.run_protocol(protocol, methods=methods, seeds=seeds, lr=lr, progress=progress)

    def run_protocol(
        self,
        protocol: ZdtProtocol,
        *,
        methods: Sequence[str],
        seeds: int,
        lr: float | None = None,
        progress: bool = False,
    ) -> ExperimentResult:
        """All ``methods`` × seeds 0..seeds−1 under ``protocol`` (``lr`` overrides the grid)."""
        runs: list[Run] = []
        chosen: dict[str, float] = {}
        tuning: dict[str, dict[str, float]] = {}
        with _threads(1):
            for method in methods:
                grid = (lr,) if lr is not None else protocol.lrs
                if len(grid) > 1:
                    outs = {g: self.fit_one(method, protocol.tuning_seed, g, protocol) for g in grid}
                    tuning[method] = {str(g): o.hv for g, o in outs.items()}
                    # ties in the paper-reference hypervolume are common (on ZDT2 the single point (0, 1) is worth
                    # 6.65): break them by the normalised-reference hypervolume, then by the larger rate (the most
                    # converged run within the fixed budget)
                    rate = max(grid, key=lambda g: (outs[g].hv, outs[g].hv_normalised, g))
                else:
                    rate = grid[0]
                chosen[method] = rate
                for seed in range(seeds):
                    out = self.fit_one(method, seed, rate, protocol, progress=progress)
                    extra = {
                        "hv_normalised": out.hv_normalised,
                        "lr": rate,
                        "objectives": out.F.tolist(),
                        **_timing(out.result),
                    }
                    runs.append(Run(method, seed, out.hv, out.seconds, extra))
        _ratios(runs)
        info = {
            "problem": self.spec.name,
            "n_var": self.spec.n_var,
            "m": protocol.m,
            "steps": protocol.steps,
            "lr_grid": list((lr,) if lr is not None else protocol.lrs),
            "lr_chosen": chosen,
            "lr_tuning_hv": tuning,
            "tuning_seed": protocol.tuning_seed,
            "reference": list(self.spec.reference),
            "normalised_reference": list(self.spec.normalised_reference),
            "init": "uniform in [0, 1]^30",
            "method_options": {m: protocol.options(m) for m in methods},
        }
        return ExperimentResult(self.name, self.metric, True, runs, info)

    def figures(self, result: ExperimentResult, out_dir: Path) -> list[Path]:
        """Fig. 4: each method's m solutions (seed 0) over the true front."""
        from most.reports.figures import pareto_front

        sols = {r.method: np.asarray(r.extra["objectives"]) for r in result.runs if r.seed == 0}
        if not sols:
            return []
        path = pareto_front(
            sols, zdt.pareto_front(self.spec.name), Path(out_dir) / f"{self.name}_solutions.png", labels=("f1", "f2")
        )
        return [path]


# ----------------------------------------------------------------------------------------------------------------
# fairness–accuracy


@dataclass(frozen=True, kw_only=True)
class FairnessProtocol:
    """How a fairness experiment runs (paper A.4.3).

    Attributes:
        epochs: passes over the training split (the paper: 20).
        batch_size: minibatch size (the paper does not say; 64 here, 256 for Adult and COMPAS).
        lrs: learning-rate grid (the paper: {0.08, 0.1}).
        extended: MosT-E's n' grid (the paper: {10, 15, 20}).
        concentrations: Dirichlet concentrations (the paper: {0.1, 0.5, 1.0}) for MosT-E's extra objectives and,
            equally, Linearization's random preferences and EPO's random rays.
        epo_even: whether EPO's grid also holds evenly spread rays.
        m: number of solutions.
        init_scale: initial solutions ~ N(0, init_scale²) per coordinate.
    """

    epochs: int = 20
    batch_size: int = 64
    lrs: tuple[float, ...] = (0.08, 0.1)
    extended: tuple[int, ...] = (10, 15, 20)
    concentrations: tuple[float, ...] = (0.1, 0.5, 1.0)
    epo_even: bool = True
    m: int = 5
    init_scale: float = 0.1

    def grid(self, method: str) -> list[dict[str, Any]]:
        """The option dicts tried for ``method`` (the learning rate is crossed with these)."""
        if method in ("most-e", "most-e-no-cl"):
            return [
                {"n_extended": k, "concentration": c} for k, c in itertools.product(self.extended, self.concentrations)
            ]
        if method == "linearization":
            return [{"concentration": c} for c in self.concentrations]
        if method == "epo":
            rays = [{"spread": "dirichlet", "concentration": c} for c in self.concentrations]
            return ([{"spread": "even"}] if self.epo_even else []) + rays
        return [{}]


FAIR_FULL = FairnessProtocol()
FAIR_QUICK = FairnessProtocol(epochs=10, lrs=(0.1,), extended=(20,), concentrations=(1.0,), epo_even=False)


@dataclass
class FairOutcome:
    """One fairness fit: validation and test objective values (m, 2), hypervolumes (×100), seconds, Result."""

    F_val: np.ndarray
    F_test: np.ndarray
    hv_val: float
    hv_test: float
    seconds: float
    result: Result


class FairnessExperiment(Experiment):
    """Fairness–accuracy trade-off with logistic regression, m = 5 (Table 8, Fig. 5)."""

    metric = "test hypervolume ×100"
    higher_is_better = True
    default_methods = FAIR_METHODS

    def __init__(
        self,
        dataset: str,
        full: FairnessProtocol = FAIR_FULL,
        quick: FairnessProtocol = FAIR_QUICK,
        loader: Callable[..., fairness.FairnessData] | None = None,
    ) -> None:
        self.dataset = dataset
        self.name = f"fair-{dataset}"
        self.summary = f"{dataset} fairness–accuracy (cross-entropy, |cov|), logistic regression, m = 5"
        self.protocols = (full, quick)
        self.loader = loader if loader is not None else (lambda seed: fairness.load(dataset, seed=seed))
        self._cache: dict[int, tuple[fairness.FairnessData, tuple[float, float]]] = {}

    def data(self, seed: int) -> tuple[fairness.FairnessData, tuple[float, float]]:
        """The seed's split and its hypervolume reference point (cached)."""
        if seed not in self._cache:
            d = self.loader(seed)
            self._cache[seed] = (d, fairness.reference_point(d))
        return self._cache[seed]

    def fit_one(
        self,
        method: str,
        options: dict[str, Any],
        lr: float,
        seed: int,
        protocol: FairnessProtocol,
        progress: bool = False,
    ) -> FairOutcome:
        """Train ``method`` with ``options`` at ``lr`` on the seed's split and score it on validation and test."""
        data, ref = self.data(seed)
        problem = fairness.FairnessProblem(data, batch_size=protocol.batch_size)
        gen = torch.Generator().manual_seed(seed)
        init = protocol.init_scale * torch.randn(protocol.m, data.dim, generator=gen, dtype=torch.float64)
        algo = make_method(method, options)
        t0 = time.perf_counter()
        res = _fit(
            self.name,
            problem,
            init,
            algo,
            steps=protocol.epochs * problem.steps_per_epoch,
            lr=lr,
            seed=seed,
            progress=progress,
        )
        seconds = time.perf_counter() - t0
        F_val = fairness.objectives(res.solutions, data.val).numpy()
        F_test = fairness.objectives(res.solutions, data.test).numpy()
        for split, F in (("validation", F_val), ("test", F_test)):
            bad = ~np.isfinite(F).all(axis=1)
            if bad.any():
                raise ValueError(
                    f"{self.name} ({method}): {split} objective values of solution "
                    f"{int(np.argmax(bad))} are not finite after {res.steps_done} steps"
                )
        return FairOutcome(F_val, F_test, 100 * hypervolume(F_val, ref), 100 * hypervolume(F_test, ref), seconds, res)

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
        protocol = self.protocols[1] if quick else self.protocols[0]
        return self.run_protocol(protocol, methods=methods, seeds=seeds, lr=lr)

    def run_protocol(
        self, protocol: FairnessProtocol, *, methods: Sequence[str], seeds: int, lr: float | None = None
    ) -> ExperimentResult:
        """Every method's grid × seeds; per method the configuration with the best mean validation hypervolume is
        reported with its test hypervolume on each seed."""
        runs: list[Run] = []
        selection: dict[str, dict[str, Any]] = {}
        lrs = (lr,) if lr is not None else protocol.lrs
        with _threads(1):
            for method in methods:
                best: tuple[float, dict[str, Any], float, list[FairOutcome]] | None = None
                tried = []
                t_search = time.perf_counter()
                for options in protocol.grid(method):
                    for rate in lrs:
                        outs = [self.fit_one(method, options, rate, seed, protocol) for seed in range(seeds)]
                        score = float(np.mean([o.hv_val for o in outs]))
                        tried.append({"options": options, "lr": rate, "val_hv": score})
                        if best is None or score > best[0]:
                            best = (score, options, rate, outs)
                assert best is not None
                _, options, rate, outs = best
                selection[method] = {
                    "options": options,
                    "lr": rate,
                    "val_hv": best[0],
                    "tried": tried,
                    "search_seconds": time.perf_counter() - t_search,
                }
                for seed, out in enumerate(outs):
                    ref = self.data(seed)[1]
                    extra = {
                        "val_hv": out.hv_val,
                        "lr": rate,
                        "options": json.dumps(options, sort_keys=True),
                        "reference": list(ref),
                        "objectives_test": out.F_test.tolist(),
                        "objectives_val": out.F_val.tolist(),
                        **_timing(out.result),
                    }
                    runs.append(Run(method, seed, out.hv_test, out.seconds, extra))
        _ratios(runs)
        info = {
            "dataset": self.dataset,
            "split": "train/validation/test 6:2:2 by seeded permutation",
            "objectives": ["cross-entropy", "|cov(s, w·x + b)|"],
            "hypervolume": "×100, reference (H(base rate), 1.1·|cov| of the unconstrained fit) from the train split",
            "protocol": {k: v for k, v in asdict(protocol).items()} | {"lrs": list(lrs)},
            "selection": selection,
        }
        return ExperimentResult(self.name, self.metric, True, runs, info)

    def figures(self, result: ExperimentResult, out_dir: Path) -> list[Path]:
        """Fig. 5: per method, its m solutions (seed 0, test split) and the region they dominate up to the
        reference point (the hypervolume, shaded)."""
        runs = [r for r in result.runs if r.seed == 0]
        if not runs:
            return []
        sols = {r.method: np.asarray(r.extra["objectives_test"]) for r in runs}
        ref = tuple(runs[0].extra["reference"])
        path = hypervolume_panels(
            sols, ref, Path(out_dir) / f"{self.name}_solutions.png", labels=("cross-entropy (test)", "|cov(s, d)|")
        )
        return [path]


def hypervolume_panels(
    points_by_method: dict[str, np.ndarray], ref: tuple[float, ...], path: Path, *, labels: tuple[str, str]
) -> Path:
    """One panel per method: its points (k, 2) and the shaded staircase region they dominate below ``ref``
    (minimisation). Written here because :func:`most.reports.figures.pareto_front` draws points only."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = len(points_by_method)
    fig = Figure(figsize=(4.0 * k, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, k, squeeze=False, sharex=True, sharey=True)[0]
    r1, r2 = float(ref[0]), float(ref[1])
    for ax, (method, pts) in zip(axes, points_by_method.items(), strict=True):
        inside = pts[np.all(pts < np.asarray(ref), axis=1)]
        inside = inside[np.argsort(inside[:, 0])]
        best = np.inf
        for x, y in inside:  # staircase: each non-dominated point adds the box [x, r1] × [y, previous best y]
            if y < best:
                ax.fill_between([x, r1], [y, y], [min(best, r2), min(best, r2)], color="tab:orange", alpha=0.35, lw=0)
                best = y
        ax.scatter(pts[:, 0], pts[:, 1], s=28, color="tab:blue", edgecolors="black", linewidths=0.5, zorder=3)
        ax.axvline(r1, color="grey", lw=0.8, ls="--")
        ax.axhline(r2, color="grey", lw=0.8, ls="--")
        hv = hypervolume(pts, ref) * 100
        ax.set_title(f"{method}  (HV×100 = {hv:.2f})")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


FAIR_BIG = FairnessProtocol(batch_size=256)
FAIR_BIG_QUICK = FairnessProtocol(
    epochs=2, batch_size=256, lrs=(0.1,), extended=(20,), concentrations=(1.0,), epo_even=False
)

for _p in ("zdt1", "zdt2", "zdt3"):
    register(_p, lambda _p=_p: ZdtExperiment(_p))  # type: ignore[misc]
register("fair-synthetic", lambda: FairnessExperiment("synthetic"))
register("fair-german", lambda: FairnessExperiment("german"))
register("fair-adult", lambda: FairnessExperiment("adult", FAIR_BIG, FAIR_BIG_QUICK))
register("fair-compas", lambda: FairnessExperiment("compas", FAIR_BIG, FAIR_BIG_QUICK))

__all__ = [
    "FAIR_FULL",
    "FAIR_QUICK",
    "ZDT_FULL",
    "ZDT_QUICK",
    "FairnessExperiment",
    "FairnessProtocol",
    "FewObjectiveMost",
    "ZdtExperiment",
    "ZdtProtocol",
    "make_method",
]
