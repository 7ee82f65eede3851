r"""Federated experiments (paper section 6.2, A.4.2): ``fl-syn-0.0``, ``fl-syn-0.5``, ``fl-syn-1.0``, ``fl-fashion``,
``fl-femnist``.

Protocol (full): m = 5 models per method from different initialisations, 100 rounds, 4 local epochs of SGD (batch
20, momentum 0.5, lr × 0.995 every 10 rounds); each method's learning rate is swept over {0.005, 0.01, 0.05, 0.1}
and chosen by the mean validation accuracy of seed 0 (``--lr`` fixes it instead). Evaluation: every client picks
its best model on its own validation split; ``value`` is the mean test accuracy (%) of the picked models over
clients. ``--quick``: 20 rounds, 2 local epochs, lr 0.05 without sweep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn
from tqdm.auto import tqdm

from most import methods as registry
from most.data.federated import FederatedDataset
from most.engine.federated import FederatedResult, FederatedRunError, run_federated
from most.engine.local import LocalConfig
from most.experiments import register
from most.experiments.base import Experiment, ExperimentResult, Run
from most.metrics.accuracy import oracle_vs_mean, worst_k_table
from most.metrics.diversity import assignment_shares, mean_pairwise

LR_GRID = (0.005, 0.01, 0.05, 0.1)
DATA_SEED = 0
"""The data are drawn once (seed 0); seeds vary the initialisations, shuffles and methods' randomness."""
FL_METHODS = ("most", "mgda", "linearization", "fedavg", "fedprox", "fedmgda+", "ifca", "most-no-reg")
METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    name: {"warmup": 3} for name in registry.available() if name.startswith("most")
}
"""The paper's federated runs start with 3 rounds of FedAvg for every model before Γ is used (DESIGN.md §2b)."""


@dataclass(frozen=True)
class Protocol:
    """Rounds, local training and evaluation cadence of one protocol."""

    rounds: int
    local: LocalConfig
    m: int = 5
    eval_every: int = 10
    sweep: tuple[float, ...] = LR_GRID


class FederatedExperiment(Experiment):
    """One federated dataset under the protocol above."""

    metric = "mean client test accuracy (%)"
    higher_is_better = True
    default_methods = FL_METHODS

    def __init__(
        self,
        name: str,
        load: Callable[[int, bool], FederatedDataset],
        model: Callable[[FederatedDataset], Callable[[], nn.Module]],
        summary: str,
        full: Protocol,
        quick: Protocol,
    ) -> None:
        self.name = name
        self.load = load
        self.model = model
        self.summary = summary
        self.full = full
        self.quick_protocol = quick

    def _one(
        self, data: FederatedDataset, method: str, seed: int, proto: Protocol, lr: float, progress: bool
    ) -> tuple[FederatedResult | None, str | None]:
        algo = registry.create(method, **METHOD_OPTIONS.get(method, {}))
        local = LocalConfig(**{**proto.local.__dict__, "lr": lr})
        try:
            res = run_federated(
                data,
                self.model(data),
                algo,
                m=proto.m,
                rounds=proto.rounds,
                local=local,
                seed=seed,
                eval_every=proto.eval_every,
                progress=progress,
            )
            return res, None
        except FederatedRunError as exc:  # report and keep what the run had (the table marks it failed)
            return exc.partial, str(exc)

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
        proto = self.quick_protocol if quick else self.full
        runs: list[Run] = []
        chosen_lr: dict[str, float] = {}
        data = self.load(DATA_SEED, quick)
        swept: dict[str, tuple[FederatedResult | None, str | None, float]] = {}
        for seed in range(seeds):
            for method in tqdm(methods, desc=f"{self.name} seed {seed}", disable=not progress, leave=False):
                if method not in chosen_lr:
                    if lr is None and len(proto.sweep) > 1:
                        chosen_lr[method], swept[method] = self._sweep(data, method, proto)
                    else:
                        chosen_lr[method] = lr if lr is not None else proto.sweep[0]
                if seed == 0 and method in swept:  # the sweep already ran seed 0 at the chosen rate
                    res, error, seconds = swept.pop(method)
                else:
                    t0 = time.perf_counter()
                    res, error = self._one(data, method, seed, proto, chosen_lr[method], progress=False)
                    seconds = time.perf_counter() - t0
                runs.append(self._record(method, seed, res, error, seconds, chosen_lr[method]))
        protocol = {
            "rounds": proto.rounds,
            "local": proto.local.__dict__,
            "m": proto.m,
            "quick": quick,
            "lr": chosen_lr,
            "lr_grid": list(proto.sweep) if lr is None else None,
            "clients": data.n_clients,
            "data_seed": DATA_SEED,
        }
        return ExperimentResult(self.name, self.metric, True, runs, protocol)

    def _sweep(
        self, data: FederatedDataset, method: str, proto: Protocol
    ) -> tuple[float, tuple[FederatedResult | None, str | None, float]]:
        """The rate of ``proto.sweep`` with the best mean validation accuracy on seed 0, and that run."""
        best: tuple[float, float, tuple[FederatedResult | None, str | None, float]] | None = None
        for candidate in proto.sweep:
            t0 = time.perf_counter()
            res, error = self._one(data, method, 0, proto, candidate, progress=False)
            run = (res, error, time.perf_counter() - t0)
            val = -1.0
            if res is not None and error is None and res.evaluations:
                ev = res.evaluations[-1]
                val = float(ev.val_acc[np.arange(ev.val_acc.shape[0]), ev.selected].mean())
            if best is None or val > best[1]:
                best = (candidate, val, run)
        assert best is not None
        return best[0], best[2]

    @staticmethod
    def _record(
        method: str, seed: int, res: FederatedResult | None, error: str | None, seconds: float, lr: float
    ) -> Run:
        if res is None or not res.evaluations:
            return Run(method, seed, float("nan"), seconds, {"error": error or "no evaluation", "lr": lr})
        ev = res.evaluations[-1]
        client_acc = 100 * ev.client_acc
        oracle, mean = oracle_vs_mean(ev.test_loss)
        extra: dict[str, Any] = {
            "lr": lr,
            "val_acc": float(100 * ev.val_acc[np.arange(len(ev.selected)), ev.selected].mean()),
            **{k: float(v) for k, v in worst_k_table(client_acc).items()},
            "diversity": mean_pairwise(ev.diversity),
            "pairs_per_round": float(np.mean(res.pairs_trained)),
            "client_acc": client_acc.tolist(),
            "oracle_test_loss": oracle,
            "mean_test_loss": mean,
            "curves": {
                "round": [e.round for e in res.evaluations],
                "test_acc": [100 * e.mean_acc for e in res.evaluations],
                "oracle_test_loss": [oracle_vs_mean(e.test_loss)[0] for e in res.evaluations],
                "mean_test_loss": [oracle_vs_mean(e.test_loss)[1] for e in res.evaluations],
                "diversity": [mean_pairwise(e.diversity) for e in res.evaluations],
                "train_loss": res.train_loss,
                "sparsity": res.sparsity,
                "weights_kl": [None if not np.isfinite(k) else k for k in res.weights_kl],
            },
            "diversity_matrix": ev.diversity.tolist(),
            "shares": assignment_shares(
                np.stack([e.selected for e in res.evaluations]), ev.diversity.shape[0]
            ).tolist(),
            "time_split": res.seconds,
            "rounds_done": res.rounds_done,
        }
        if error is not None:
            extra["error"] = error
        value = float(client_acc.mean()) if error is None else float("nan")
        return Run(method, seed, value, seconds, extra)

    def figures(self, result: ExperimentResult, out_dir: Path) -> list[Path]:
        from most.reports import figures as fig

        first = {}
        for r in result.runs:
            if r.seed == 0 and "curves" in r.extra:
                first[r.method] = r.extra
        if not first:
            return []
        paths = [
            fig.per_client_accuracy(
                {k: v["client_acc"] for k, v in first.items()}, out_dir / "per_client_accuracy.png"
            ),
            fig.curves(
                {
                    k: {
                        "training loss": np.asarray(v["curves"]["train_loss"]),
                        "test accuracy (%)": np.interp(
                            np.arange(1, len(v["curves"]["train_loss"]) + 1),
                            v["curves"]["round"],
                            v["curves"]["test_acc"],
                        ),
                    }
                    for k, v in first.items()
                },
                out_dir / "curves.png",
            ),
            fig.diversity_heatmap(
                {k: np.asarray(v["diversity_matrix"]) for k, v in first.items()}, out_dir / "diversity.png"
            ),
            fig.worst_k_bars(
                {
                    k: {g: v[g] for g in ("worst 20%", "worst 40%", "worst 60%", "worst 80%") if g in v}
                    for k, v in first.items()
                },
                out_dir / "worst_k.png",
            ),
        ]
        for name, v in first.items():
            if name.startswith("most"):
                kl = np.asarray([np.nan if k is None else k for k in v["curves"]["weights_kl"]], dtype=float)
                paths.append(fig.gamma_dynamics(np.asarray(v["curves"]["sparsity"]), kl, out_dir / f"gamma_{name}.png"))
            paths.append(fig.assignment_bands(np.asarray(v["shares"]), out_dir / f"assignment_{name}.png"))
        return paths


# ------------------------------------------------------------------------------------------------------------
# datasets


def _synthetic(ab: float) -> Callable[[int, bool], FederatedDataset]:
    def load(seed: int, quick: bool) -> FederatedDataset:
        from most.data.synthetic_fedprox import synthetic

        return synthetic(ab, ab, seed=seed)

    return load


def _logistic(data: FederatedDataset) -> Callable[[], nn.Module]:
    from most.models import LogisticRegression

    features = int(np.prod(data.input_shape))
    return lambda: LogisticRegression(features, data.num_classes)


def _cnn(data: FederatedDataset) -> Callable[[], nn.Module]:
    from most.models import SmallCNN

    c, h, w = data.input_shape
    return lambda: SmallCNN(c, data.num_classes, (h, w))


def _fashion(seed: int, quick: bool) -> FederatedDataset:
    from most.data.fashion import fashion_federated

    if quick:
        return fashion_federated(clients=20, per_client_cap=50, seed=seed)
    return fashion_federated(clients=100, per_client_cap=200, seed=seed)


def _femnist(seed: int, quick: bool) -> FederatedDataset:
    from most.data.leaf import load_leaf

    path = os.environ.get("MOST_FEMNIST_DIR")
    if not path:
        raise FileNotFoundError(
            "fl-femnist reads LEAF-format FEMNIST from $MOST_FEMNIST_DIR (a folder holding train/ and test/ JSON "
            "files, made by LEAF's femnist preprocess.sh); it cannot be downloaded here"
        )
    return load_leaf(path, max_clients=20 if quick else None, seed=seed)


SYN_FULL = Protocol(rounds=100, local=LocalConfig(epochs=4))
SYN_QUICK = Protocol(rounds=20, local=LocalConfig(epochs=2), eval_every=5, sweep=(0.05,))
IMG_FULL = Protocol(rounds=100, local=LocalConfig(epochs=1, batch_size=20), sweep=(0.05, 0.1))
IMG_QUICK = Protocol(rounds=5, local=LocalConfig(epochs=1), eval_every=5, sweep=(0.05,))


def _syn_experiment(ab: float) -> Callable[[], Experiment]:
    def make() -> Experiment:
        summary = f"FedProx Synthetic({ab}, {ab}): 30 clients × 100 samples, logistic regression"
        return FederatedExperiment(f"fl-syn-{ab}", _synthetic(ab), _logistic, summary, SYN_FULL, SYN_QUICK)

    return make


for _ab in (0.0, 0.5, 1.0):
    register(f"fl-syn-{_ab}", _syn_experiment(_ab))
register(
    "fl-fashion",
    lambda: FederatedExperiment(
        "fl-fashion",
        _fashion,
        _cnn,
        "Fashion-MNIST (Debian package), Dirichlet label skew, CNN",
        IMG_FULL,
        IMG_QUICK,
    ),
)
register(
    "fl-femnist",
    lambda: FederatedExperiment(
        "fl-femnist",
        _femnist,
        _cnn,
        "FEMNIST from a local LEAF folder ($MOST_FEMNIST_DIR), CNN",
        IMG_FULL,
        IMG_QUICK,
    ),
)
