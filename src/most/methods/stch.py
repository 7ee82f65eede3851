r"""STCH-Set — smooth Tchebycheff set scalarisation (Lin, Zhang, Zhao, Liu, Zhang & Zhang, 2024, "Few for Many:
Tchebycheff Set Scalarization for Many-Objective Optimization").

The m solutions jointly minimise one scalar, the smoothed worst (over objectives) best (over solutions) weighted
gap to the ideal point z*:

.. math::

    g_\mu(\Theta) = \mu \log \sum_{i=1}^n \exp\!\Big(\frac{\lambda_i s_i}{\mu}\Big), \qquad
    s_i = -\mu \log \sum_{j=1}^m \exp\!\Big(-\frac{f_i(\theta_j) - z^*_i}{\mu}\Big)
    \;(\text{a smooth } \min_j f_i(\theta_j) - z^*_i).

Its gradient is a weighting of the loss matrix's gradients: with p_ij = softmax_j(−f_i(θ_j)/μ) (which solution
serves objective i) and q_i = softmax_i(λ_i s_i / μ) (which objectives are worst served),

.. math::

    \nabla_{\theta_j} g_\mu = \sum_i W_{ij} \nabla f_i(\theta_j), \qquad W_{ij} = \lambda_i q_i p_{ij},
    \qquad \textstyle\sum_{ij} W_{ij} = \sum_i \lambda_i q_i .

:meth:`Stch.weights` returns m·W (the factor m makes one step move an average solution as far as one plain gradient
step would: W sums to ~1 over all m solutions) and each solution steps along Σ_i (m W_ij) ∇f_i(θ_j) — exactly
m ∇_{θ_j} g_μ. As μ → 0, g_μ → max_i λ_i (min_j f_i(θ_j) − z*_i) (TCH-Set).

STCH-Set is designed for m < n (a few solutions for many objectives); with m > n some solutions get (almost) no
weight once every objective has a solution that serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from most.methods.base import Method, MethodConfig


@dataclass(frozen=True, kw_only=True)
class StchConfig(MethodConfig):
    """STCH-Set options (Lin et al. 2024).

    Attributes:
        mu: smoothing parameter μ > 0, in the units of the losses (smaller is closer to TCH-Set). Default 0.1.
        ideal: z* (n,); ``None`` uses 0 (the losses this library trains are non-negative).
        preference: λ (n,) > 0 objective weights; ``None`` uses 1 for every objective.
    """

    mu: float = 0.1
    ideal: tuple[float, ...] | None = None
    preference: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not self.mu > 0:
            raise ValueError(f"mu must be positive, got {self.mu}")
        if self.preference is not None and any(v <= 0 for v in self.preference):
            raise ValueError("preference weights must be positive")


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def stch_set(losses: np.ndarray, *, mu: float, ideal: np.ndarray, preference: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Value g_μ and gradient weights W (n, m) of the STCH-Set scalarisation at the loss matrix ``losses`` (n, m)
    (so that ∇_{θ_j} g_μ = Σ_i W_ij ∇f_i(θ_j)); computed with log-sum-exp shifts, stable for small μ."""
    gaps = losses - ideal[:, None]  # (n, m)
    z = -gaps / mu
    zmax = z.max(axis=1, keepdims=True)
    s = -mu * (zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1)))  # smooth min_j, (n,)
    p = _softmax(z, axis=1)  # (n, m)
    y = preference * s / mu
    ymax = float(y.max())
    value = mu * (ymax + float(np.log(np.exp(y - ymax).sum())))
    q = _softmax(y, axis=0)  # (n,)
    return value, (preference * q)[:, None] * p


class Stch(Method):
    """STCH-Set (Lin et al. 2024): the m solutions jointly minimise a smooth Tchebycheff set scalarisation, so that
    every objective has one solution that serves it well."""

    name = "stch-set"
    config_class = StchConfig
    config: StchConfig

    def __init__(self, config: MethodConfig | None = None) -> None:
        super().__init__(config)
        self.value = float("nan")

    def _vector(self, given: tuple[float, ...] | None, n: int, default: float, label: str) -> np.ndarray:
        if given is None:
            return np.full(n, default)
        v = np.asarray(given, dtype=np.float64)
        if v.shape != (n,):
            raise ValueError(f"{label} must have one entry per objective ({n}), got {v.shape[0]}")
        return v

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        """m · W (n, m): the STCH-Set gradient weights of every (objective, solution) pair (see the module doc)."""
        n, m = losses.shape
        cfg = self.config
        ideal = self._vector(cfg.ideal, n, 0.0, "ideal")
        pref = self._vector(cfg.preference, n, 1.0, "preference")
        self.value, W = stch_set(losses, mu=cfg.mu, ideal=ideal, preference=pref)
        return m * W

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: torch.Tensor, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        """D_j = Σ_i weights_ij ∇f_i(θ_j): the gradient of m·g_μ (no min-norm; λ reports the weights)."""
        W = torch.as_tensor(weights, dtype=jacobians.dtype, device=jacobians.device)  # (n, m)
        out = torch.einsum("im,mid->md", W, jacobians)
        return out, [weights[:, j].copy() for j in range(weights.shape[1])], 0.0

    def state_dict(self) -> dict[str, Any]:
        return {}
