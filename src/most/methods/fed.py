r"""Federated baselines as methods: FedAvg, FedProx, FedMGDA+ and IFCA, each producing m models.

In the federated engine the "vectors" of a pair (client i, model j) are pseudo-gradients Δ_ij = θ_j − θ_j^{local,i};
a method weights clients per model and combines their Δ into the server step θ_j ← θ_j − d_j.
``objective_sizes`` (client sample counts) is set by the engine; without it clients count equally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from most.methods.base import Method, MethodConfig


def _size_weights(method: Method) -> np.ndarray:
    sizes = method.objective_sizes
    p = np.ones(method.n) if sizes is None else np.asarray(sizes, dtype=np.float64)
    return p / p.sum()


class FedAvg(Method):
    """FedAvg (McMahan et al. 2017), one run per model: d_j = Σ_i p_i Δ_ij with p_i ∝ client size."""

    name = "fedavg"
    combine_rule = "mean"

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        return np.repeat(_size_weights(self)[:, None], self.m, axis=1)


@dataclass(frozen=True, kw_only=True)
class FedProxConfig(MethodConfig):
    """FedProx (Li et al. 2020): local objectives add μ/2 ‖θ − θ_global‖²; μ = 0 is FedAvg."""

    mu: float = 0.01


class FedProx(FedAvg):
    """FedProx: FedAvg whose clients train with the proximal term μ/2 ‖θ − θ_global‖²."""

    name = "fedprox"
    config_class = FedProxConfig
    config: FedProxConfig

    @property
    def local_prox_mu(self) -> float:
        return self.config.mu


@dataclass(frozen=True, kw_only=True)
class FedMgdaPlusConfig(MethodConfig):
    """FedMGDA+ (Hu et al. 2022).

    Attributes:
        epsilon: λ is boxed to [p_i − ε, p_i + ε] around the size-proportional weights p (ε = 1 is plain MGDA on
            normalised updates, ε = 0 FedAvg on them).
        server_lr: global step; the step length is server_lr × the mean ‖Δ_ij‖ of the round, so that normalising
            the updates does not change the units of the learning rate.
    """

    epsilon: float = 0.5
    server_lr: float = 1.0


class FedMgdaPlus(Method):
    """FedMGDA+: min-norm over *normalised* client updates with λ boxed around the size weights, global step."""

    name = "fedmgda+"
    config_class = FedMgdaPlusConfig
    config: FedMgdaPlusConfig

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        return np.repeat(_size_weights(self)[:, None], self.m, axis=1)

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: Any, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        import time

        import qpsolvers

        n, m = weights.shape
        p = _size_weights(self)
        eps = self.config.epsilon
        lb, ub = np.clip(p - eps, 0.0, None), np.clip(p + eps, None, 1.0)
        out = torch.zeros_like(thetas)
        lambdas = []
        seconds = 0.0
        for j in range(m):
            idx = np.arange(n)
            V = jacobians[j, idx]
            norms = V.norm(dim=1).clamp_min(1e-12)
            U = V / norms[:, None]
            t0 = time.perf_counter()
            G = (U @ U.T).to(torch.float64).numpy()
            lam = qpsolvers.solve_qp(2 * G, np.zeros(n), A=np.ones((1, n)), b=np.ones(1), lb=lb, ub=ub, solver="piqp")
            if lam is None:  # infeasible box cannot happen (p is inside it); a backend failure falls back to p
                lam = p
            lam = np.clip(lam, 0, None)
            lam /= lam.sum()
            seconds += time.perf_counter() - t0
            coef = torch.as_tensor(lam, dtype=U.dtype)
            out[j] = self.config.server_lr * float(norms.mean()) * (coef @ U)
            lambdas.append(lam)
        return out, lambdas, seconds


class Ifca(Method):
    """IFCA (Ghosh et al. 2020), clustered FL: each client joins the model with its lowest loss and each model
    averages its clients' updates (size-weighted). A model no client picks does not move."""

    name = "ifca"
    combine_rule = "mean"

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        W = np.zeros_like(losses)
        W[np.arange(losses.shape[0]), losses.argmin(axis=1)] = _size_weights(self)
        return W
