r"""PMTL — Pareto Multi-Task Learning (Lin, Zhen, Li, Zhang & Kwong, NeurIPS 2019).

The objective space is split into m sub-regions by unit preference vectors u_1..u_m (n,) (:func:`preference_rays`).
Solution k solves the constrained problem

.. math::

    \min_\theta F(\theta) \quad\text{s.t.}\quad \mathcal G_j(\theta) = (u_j - u_k)^\top F(\theta) \le 0
    \quad \forall j \ne k,

i.e. F(θ_k) must be at least as close (in angle) to u_k as to any other u_j. With F the losses (n,) and
G (n, d) their gradients at θ_k, ∇𝒢_j = (u_j − u_k)ᵀ G. The constraints are tested on F/‖F‖ (they are
homogeneous in F, so this changes nothing but makes ε scale-free): I_ε = {j ≠ k : 𝒢_j(F/‖F‖) ≥ −ε}.

* **Initial phase** (the first :attr:`PmtlConfig.warmup_steps` rounds, while a constraint is violated): find a
  feasible start by descending the violated constraints only, d = the min-norm point of {∇𝒢_j : 𝒢_j > 0}.
* **Main phase**: d = argmin_d max{∇f_iᵀd (all i), ∇𝒢_jᵀd (j ∈ I_ε)} + ½‖d‖², i.e. the min-norm point of the
  convex hull of the n loss gradients and the active constraint gradients (the MGDA dual, solved to tolerance by
  :func:`most.solvers.min_norm.solve_gram`).

θ_k ← θ_k − η d. PMTL assumes non-negative losses only through the angle test (F/‖F‖).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from most.methods.base import Method, MethodConfig
from most.methods.epo import Spread, preference_rays
from most.solvers.min_norm import solve_gram


@dataclass(frozen=True, kw_only=True)
class PmtlConfig(MethodConfig):
    """PMTL options (Lin et al. 2019).

    Attributes:
        spread: layout of the m preference vectors (see :func:`most.methods.epo.preference_rays`); ``"even"``.
        concentration: Dirichlet concentration when the vectors are drawn at random.
        margin: angular margin of the even vectors, radians. 0 puts the outer vectors on the axes, as the paper's
            two-task experiments do.
        preferences: explicit (n, m) preference vectors instead.
        warmup_steps: rounds of the initial (feasibility-seeking) phase.
        epsilon: a constraint is active when 𝒢_j(F/‖F‖) ≥ −epsilon.
    """

    spread: Spread = "even"
    concentration: float = 1.0
    margin: float = 0.0
    preferences: tuple[tuple[float, ...], ...] | None = None
    warmup_steps: int = 50
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")


def pmtl_vectors(
    losses: np.ndarray, rays: np.ndarray, k: int, *, epsilon: float, initial: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (r, n) that map the n loss gradients to the r vectors whose min-norm point is solution k's
    direction, and the constraint indices j (≠ k) involved.

    Args:
        losses: F (n,) at θ_k.
        rays: (n, m) unit preference vectors, column k is u_k.
        k: the solution.
        epsilon: activity threshold.
        initial: the initial phase (only violated constraints, when there are any).
    """
    n, m = rays.shape
    norm = float(np.linalg.norm(losses))
    f = losses / norm if norm > 0 else losses
    others = np.array([j for j in range(m) if j != k], dtype=int)
    diffs = (rays[:, others] - rays[:, [k]]).T  # (m−1, n): row j is u_j − u_k
    values = diffs @ f
    if initial:
        violated = values > 0
        if bool(violated.any()):
            return diffs[violated], others[violated]
    active = values >= -epsilon
    return np.vstack([np.eye(n), diffs[active]]), others[active]


class Pmtl(Method):
    """PMTL (Lin et al. 2019): each solution solves MOO restricted to its preference sub-region by a constrained
    MGDA step (min-norm over loss gradients and active region-constraint gradients)."""

    name = "pmtl"
    config_class = PmtlConfig
    config: PmtlConfig

    def __init__(self, config: MethodConfig | None = None) -> None:
        super().__init__(config)
        self.rays: np.ndarray | None = None
        self.step = 0

    def setup(self, n: int, m: int, rng: np.random.Generator) -> None:
        super().setup(n, m, rng)
        cfg = self.config
        self.rays = preference_rays(
            n,
            m,
            rng,
            spread=cfg.spread,
            concentration=cfg.concentration,
            margin=cfg.margin,
            explicit=cfg.preferences,
        )
        self.step = 0

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        """The preference vectors (n, m); also records the round for the initial phase."""
        assert self.rays is not None, "setup() was not called"
        self.step = step
        return self.rays

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: torch.Tensor, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        """Per solution, the min-norm point of its loss and active-constraint gradients (shapes as in
        :meth:`Method.directions`); λ reports the weight each loss gradient gets in the direction."""
        assert self.rays is not None, "setup() was not called"
        m = thetas.shape[0]
        initial = self.step < self.config.warmup_steps
        out = torch.zeros_like(thetas)
        lambdas: list[np.ndarray] = []
        seconds = 0.0
        for k in range(m):
            coef, _ = pmtl_vectors(losses[:, k], self.rays, k, epsilon=self.config.epsilon, initial=initial)
            coef_t = torch.as_tensor(coef, dtype=thetas.dtype, device=thetas.device)
            vectors = coef_t @ jacobians[k]  # (r, d)
            t0 = time.perf_counter()
            gram = (vectors @ vectors.T).detach().to("cpu", torch.float64).numpy()
            lam = solve_gram(gram, tol=self.config.min_norm_tol).weights
            seconds += time.perf_counter() - t0
            out[k] = torch.as_tensor(lam, dtype=thetas.dtype, device=thetas.device) @ vectors
            lambdas.append(lam @ coef)  # the direction as a combination of the n loss gradients
        return out, lambdas, seconds

    def state_dict(self) -> dict[str, Any]:
        return {"rays": self.rays}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rays = state.get("rays")
