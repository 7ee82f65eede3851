r"""The in-process federated engine: m global models, n clients, rounds of local training and a server step.

One round t:

1. **Cost.** C[i, j] = model j's mean training loss on client i (a forward pass over every pair — cheap next to
   local training, and it measures every pair, so the method can schedule only some of them).
2. **Weights.** W = method.weights(C, t) (Γ for MosT); the pairs to train are the active ones (W_ij > 0 after the
   method's pruning): ~n + m − 1 for MosT at τ = 0 (Proposition 1), n for IFCA, n·m for FedAvg/MGDA.
3. **Local training** of the scheduled pairs, batched (:class:`most.engine.local.PairTrainer`), giving the
   pseudo-gradients Δ_ij.
4. **Server step.** D = method.directions(Θ, C, Δ, W) and θ_j ← θ_j − D_j.

Every ``eval_every`` rounds (and at the end) each client picks its best model on its own validation split and the
engine records that model's test accuracy (paper section 6.2), the oracle and mean test loss, and the diversity of
the models' predictions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from most.data.federated import FederatedDataset
from most.engine.local import FlatModel, LocalConfig, Padded, PairTrainer
from most.methods import Method
from most.metrics.divergence import symmetric_kl


class FederatedRunError(ValueError):
    """A run that cannot go on (NaN loss, divergence); names the client, model and round. ``partial`` holds what
    the run had recorded up to the failure."""

    def __init__(self, message: str, partial: FederatedResult | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class PairVectors:
    """Pseudo-gradients of the trained pairs, indexed like a dense (m, n, d) tensor: ``vectors[j, idx]``."""

    def __init__(self, rows: torch.Tensor, row_of: np.ndarray) -> None:
        self.rows = rows  # (P, d)
        self.row_of = row_of  # (n, m) row index of pair (i, j) or -1

    def __getitem__(self, key: tuple[int, np.ndarray]) -> torch.Tensor:
        j, idx = key
        r = self.row_of[np.asarray(idx), j]
        if np.any(r < 0):
            missing = int(np.asarray(idx)[np.argmin(r)])
            raise KeyError(f"pair (client {missing}, model {j}) was not trained this round")
        return self.rows[torch.as_tensor(r, dtype=torch.long)]


@dataclass
class Evaluation:
    """Per-client, per-model numbers at one evaluation point."""

    round: int
    val_acc: np.ndarray  # (n, m)
    test_acc: np.ndarray  # (n, m)
    test_loss: np.ndarray  # (n, m)
    selected: np.ndarray  # (n,) model chosen on validation
    client_acc: np.ndarray  # (n,) test accuracy of the chosen model
    diversity: np.ndarray  # (m, m) symmetric KL between models' test predictions

    @property
    def mean_acc(self) -> float:
        return float(self.client_acc.mean())


@dataclass
class FederatedResult:
    """Everything a federated run produced (arrays are numpy; ``models`` is the (m, d) parameter matrix)."""

    method: str
    models: torch.Tensor
    final: Evaluation
    evaluations: list[Evaluation] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)  # per round: mean over clients of min_j C[i, j]
    weights: list[np.ndarray] = field(default_factory=list)  # per round (n, m)
    sparsity: list[float] = field(default_factory=list)
    weights_kl: list[float] = field(default_factory=list)
    pairs_trained: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    rounds_done: int = 0


def init_models(factory: Callable[[], nn.Module], m: int, seed: int) -> tuple[FlatModel, torch.Tensor]:
    """m independently initialised copies of ``factory()``'s architecture, as a (m, d) matrix (seeded)."""
    thetas = []
    template: nn.Module | None = None
    with torch.random.fork_rng():
        for j in range(m):
            torch.manual_seed(1_000_003 * seed + j)
            module = factory()
            template = template or module
            thetas.append(torch.cat([p.detach().reshape(-1) for p in module.parameters()]))
    assert template is not None
    return FlatModel(template), torch.stack(thetas)


def _check(values: torch.Tensor, what: str, pairs: tuple[np.ndarray, np.ndarray], round_: int) -> None:
    bad = ~torch.isfinite(values.reshape(values.shape[0], -1)).all(dim=1)
    if bool(bad.any()):
        k = int(torch.nonzero(bad)[0])
        raise FederatedRunError(
            f"{what} of client {int(pairs[0][k])}, model {int(pairs[1][k])} is not finite in round {round_}"
        )


def run_federated(
    data: FederatedDataset,
    factory: Callable[[], nn.Module],
    method: Method,
    *,
    m: int = 5,
    rounds: int = 100,
    local: LocalConfig | None = None,
    seed: int = 0,
    eval_every: int = 10,
    divergence_factor: float = 1e3,
    cost: str = "forward",
    progress: bool = False,
) -> FederatedResult:
    """Train m models with ``method`` on ``data``; see the module docstring.

    Args:
        data: clients with train/val/test splits.
        factory: builds the model architecture (called m times under different seeds for the initialisations).
        method: a configured method (``most.methods.create(name, **options)``).
        m: number of models.
        rounds: communication rounds.
        local: client-side SGD settings.
        seed: seeds the initialisations, shuffles and the method's randomness.
        eval_every: rounds between evaluations (the last round is always evaluated).
        divergence_factor: stop when the mean training loss exceeds this times its first value.
        cost: ``"forward"`` — C from a forward pass at the round's start, then only active pairs train; or
            ``"local"`` — every pair trains and C is its mean loss over the last local epoch (the paper's research
            code; no pair is skipped, so no saving).
        progress: show a progress bar over rounds.

    Raises:
        FederatedRunError: a non-finite loss or update (naming client, model and round) or a diverging run;
            its ``partial`` attribute holds the result up to the previous round.
    """
    local = local or LocalConfig()
    n = data.n_clients
    flat, thetas = init_models(factory, m, seed)
    train = Padded([c.train.x for c in data.clients], [c.train.y for c in data.clients])
    val = Padded([c.val.x for c in data.clients], [c.val.y for c in data.clients])
    test = Padded([c.test.x for c in data.clients], [c.test.y for c in data.clients])
    trainer = PairTrainer(flat, train, local)
    method.objective_sizes = train.counts.numpy().astype(np.float64)
    method.setup(n, m, np.random.default_rng(seed))
    gen = torch.Generator().manual_seed(seed)
    prox = method.local_prox_mu
    res = FederatedResult(method=method.name, models=thetas, final=None)  # type: ignore[arg-type]
    secs = {"cost": 0.0, "transport": 0.0, "local": 0.0, "min_norm": 0.0, "server": 0.0, "eval": 0.0}
    prev_w: np.ndarray | None = None
    start_all = time.perf_counter()

    def evaluate(round_: int) -> Evaluation:
        t0 = time.perf_counter()
        v_loss, v_acc, _ = trainer.evaluate(thetas, val)
        t_loss, t_acc, probs = trainer.evaluate(thetas, test)
        va, ta = v_acc.numpy(), t_acc.numpy()
        selected = va.argmax(axis=1)
        valid = test.mask.bool()
        assert probs is not None
        p = probs[:, valid].numpy()  # (m, samples, C)
        div = np.zeros((m, m))
        for a in range(m):
            for b in range(a + 1, m):
                div[a, b] = div[b, a] = float(np.mean(symmetric_kl(p[a], p[b], axis=-1)))
        ev = Evaluation(round_, va, ta, t_loss.numpy(), selected, ta[np.arange(n), selected], div)
        secs["eval"] += time.perf_counter() - t0
        return ev

    bar = tqdm(range(rounds), desc=method.name, disable=not progress, leave=False)
    for t in bar:
        t0 = time.perf_counter()
        if cost == "local":
            ci_all, mj_all = np.nonzero(np.ones((n, m), dtype=bool))
            delta_all, loss_all = trainer.train(
                torch.as_tensor(ci_all), thetas[torch.as_tensor(mj_all)], t, gen, prox_mu=prox
            )
            C = loss_all.numpy().astype(np.float64).reshape(n, m)
            secs["local"] += time.perf_counter() - t0
        else:
            C = trainer.evaluate(thetas, train, probabilities=False)[0].numpy().astype(np.float64)
            secs["cost"] += time.perf_counter() - t0
        if not np.all(np.isfinite(C)):
            i, j = np.argwhere(~np.isfinite(C))[0]
            raise FederatedRunError(f"training loss of client {i}, model {j} is not finite in round {t}", res)
        mean_best = float(C.min(axis=1).mean())
        if res.train_loss and mean_best > divergence_factor * max(res.train_loss[0], 1e-12):
            raise FederatedRunError(
                f"{method.name} diverged in round {t}: mean best training loss {mean_best:.3g} "
                f"(round 0: {res.train_loss[0]:.3g}); lower the learning rate",
                res,
            )
        t0 = time.perf_counter()
        W = np.asarray(method.weights(C, t), dtype=np.float64)
        secs["transport"] += time.perf_counter() - t0
        active = method.active(W)
        ci, mj = np.nonzero(active)
        row_of = np.full((n, m), -1)
        row_of[ci, mj] = np.arange(ci.size)
        t0 = time.perf_counter()
        if cost == "local":
            delta = delta_all[torch.as_tensor(ci * m + mj)]
        else:
            clients_t = torch.as_tensor(ci, dtype=torch.long)
            delta, _ = trainer.train(clients_t, thetas[torch.as_tensor(mj, dtype=torch.long)], t, gen, prox_mu=prox)
        secs["local"] += time.perf_counter() - t0
        try:
            _check(delta, "the update", (ci, mj), t)
        except FederatedRunError as exc:
            exc.partial = res
            raise
        t0 = time.perf_counter()
        D, _lams, mn = method.directions(thetas, C, PairVectors(delta, row_of), W)
        thetas = thetas - D
        secs["min_norm"] += mn
        secs["server"] += time.perf_counter() - t0 - mn
        res.models = thetas
        res.train_loss.append(mean_best)
        res.weights.append(W)
        res.sparsity.append(float((W == 0).mean()))
        res.weights_kl.append(float("nan") if prev_w is None else float(symmetric_kl(W, prev_w)))
        res.pairs_trained.append(int(ci.size))
        res.rounds_done = t + 1
        prev_w = W
        if (t + 1) % eval_every == 0 or t == rounds - 1:
            res.evaluations.append(evaluate(t + 1))
            bar.set_postfix(acc=f"{100 * res.evaluations[-1].mean_acc:.1f}")
    bar.close()
    res.final = res.evaluations[-1] if res.evaluations else evaluate(0)
    secs["total"] = time.perf_counter() - start_all
    res.seconds = secs
    return res
