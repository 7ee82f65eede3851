r"""EPO — Exact Pareto Optimal search (Mahapatra & Rajan, ICML 2020), one preference ray per solution.

Solution j carries a preference r (n,) > 0 and seeks the *exact Pareto optimal* point on its ray,
r_1 l_1 = r_2 l_2 = … = r_n l_n (losses inversely proportional to the preference). With l (n,) the losses and
G (n, d) the gradients at θ_j, define the relative weighted losses and their non-uniformity

.. math::

    u = \frac{r \odot l}{r^\top l}, \qquad \mu = \mathrm{KL}(u \,\|\, \tfrac1n\mathbf 1) = \sum_i u_i \log(n u_i),
    \qquad a = r \odot (\log(n u) - \mu) \;(= (r^\top l)\, \nabla_l \mu).

A step θ ← θ − η Gᵀβ changes the losses by about −η Cβ with C = G Gᵀ (n, n). EPO picks β ∈ Δ^{n−1} by a linear
program (solved with scipy's HiGHS):

* **balance mode** (μ > ε): maximise aᵀCβ — move the losses along −a, towards the ray — subject to
  (Cβ)_{j*} ≥ 0 for j* = argmax_i r_i l_i (the most over-weighted loss may not rise) and
  (Cβ)_j ≥ (Ca)_j for every j with (Ca)_j ≤ 0 (where the anchor direction itself would raise l_j, the rise is
  bounded by the anchor's: "controlled ascent"). If that is infeasible only the j* constraint is kept (β = e_{j*}
  is always feasible for it).
* **descent mode** (μ ≤ ε, already on the ray): maximise Σ_j (Cβ)_j subject to Cβ ≥ 0 — a Pareto descent step that
  decreases every loss (the MGDA min-norm λ is always feasible; it is the fallback if the LP fails).

Losses enter logarithms, so they are floored at :attr:`EpoConfig.loss_floor`; EPO assumes non-negative losses
(shift them otherwise).

Preference rays are shared with PMTL (:func:`preference_rays`): for n = 2 the default ``"even"`` spreads m rays at
evenly spaced angles in [margin, π/2 − margin] (EPO's and PMTL's experiments); for n > 2, or with ``"dirichlet"``,
they are drawn from Dirichlet(concentration · 1_n).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from scipy.optimize import linprog

from most.methods.base import Method, MethodConfig
from most.solvers.min_norm import solve_gram

Spread = Literal["even", "dirichlet"]


def preference_rays(
    n: int,
    m: int,
    rng: np.random.Generator,
    *,
    spread: Spread = "even",
    concentration: float = 1.0,
    margin: float = 0.1,
    explicit: tuple[tuple[float, ...], ...] | None = None,
) -> np.ndarray:
    r"""m preference vectors as the columns of an (n, m) array with unit ℓ2 norm and positive entries.

    Args:
        n: number of objectives.
        m: number of solutions (one ray each).
        rng: source of randomness for ``"dirichlet"``.
        spread: ``"even"``: for n = 2, angles φ_j evenly spaced in [margin, π/2 − margin], r_j = (cos φ_j, sin φ_j)
            (one ray at π/4 when m = 1); for n ≠ 2 this falls back to ``"dirichlet"``. ``"dirichlet"``: r_j ∝ w_j,
            w_j ~ Dirichlet(concentration · 1_n).
        concentration: Dirichlet concentration.
        margin: angular margin (radians) that keeps even rays off the axes (an axis ray has a zero entry).
        explicit: (n, m) rays given by the caller (rescaled to unit norm); must be non-negative, no zero column.

    Returns:
        (n, m) float64 array, column j is solution j's ray.
    """
    if explicit is not None:
        rays = np.asarray(explicit, dtype=np.float64)
        if rays.shape != (n, m):
            raise ValueError(f"preferences must have shape (n, m) = ({n}, {m}), got {rays.shape}")
        if np.any(rays < 0) or np.any(rays.sum(axis=0) <= 0):
            raise ValueError("preferences must be non-negative with a positive entry in every column")
    elif spread == "even" and n == 2:
        if not 0.0 <= margin < np.pi / 4:
            raise ValueError(f"margin must be in [0, π/4), got {margin}")
        phi = np.array([np.pi / 4]) if m == 1 else np.linspace(margin, np.pi / 2 - margin, m)
        rays = np.vstack([np.cos(phi), np.sin(phi)])
    elif spread in ("even", "dirichlet"):
        if concentration <= 0:
            raise ValueError(f"concentration must be positive, got {concentration}")
        rays = rng.dirichlet(np.full(n, concentration), size=m).T
    else:
        raise ValueError(f"spread must be 'even' or 'dirichlet', got {spread!r}")
    return rays / np.linalg.norm(rays, axis=0, keepdims=True)


@dataclass(frozen=True, kw_only=True)
class EpoConfig(MethodConfig):
    """EPO options (Mahapatra & Rajan 2020).

    Attributes:
        spread: how the m preference rays are laid out (see :func:`preference_rays`); default ``"even"``.
        concentration: Dirichlet concentration when rays are drawn at random.
        margin: angular margin of the even rays, radians (0.1 ≈ 5.7°).
        preferences: explicit (n, m) rays instead (column j is solution j's preference r).
        epsilon: non-uniformity μ below which a solution counts as on its ray (descent mode). Default 1e-4.
        loss_floor: losses are floored at this before the logarithms of u (EPO needs positive losses).
    """

    spread: Spread = "even"
    concentration: float = 1.0
    margin: float = 0.1
    preferences: tuple[tuple[float, ...], ...] | None = None
    epsilon: float = 1e-4
    loss_floor: float = 1e-12

    def __post_init__(self) -> None:
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")
        if self.loss_floor <= 0:
            raise ValueError(f"loss_floor must be positive, got {self.loss_floor}")


def non_uniformity(losses: np.ndarray, ray: np.ndarray, floor: float = 1e-12) -> tuple[float, np.ndarray]:
    r"""(μ, a) for losses l (n,) and preference r (n,): μ = KL(u ‖ uniform), u = r⊙l / rᵀl, a = r⊙(log(n u) − μ)."""
    n = losses.shape[0]
    rl = ray * np.maximum(losses, floor)
    u = rl / rl.sum()
    logs = np.log(n * u)
    mu = float(u @ logs)
    return mu, ray * (logs - mu)


def epo_weights(
    gram: np.ndarray, losses: np.ndarray, ray: np.ndarray, *, epsilon: float = 1e-4, floor: float = 1e-12
) -> tuple[np.ndarray, str]:
    r"""EPO's β (n,) on the simplex for one solution, and the mode used (``"balance"``, ``"descent"``, ``"relaxed"``
    or ``"min-norm"``).

    Args:
        gram: C = G Gᵀ (n, n), G the (n, d) gradients of the n losses.
        losses: l (n,).
        ray: preference r (n,) > 0.
        epsilon: μ threshold between the balance and descent modes.
        floor: loss floor for the logarithms.
    """
    n = losses.shape[0]
    if n == 1:
        return np.ones(1), "descent"
    mu, a = non_uniformity(losses, ray, floor)
    Ca = gram @ a
    A_eq, b_eq = np.ones((1, n)), np.ones(1)

    def solve(c: np.ndarray, rows: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        # maximise cᵀβ  s.t. (Cβ)_rows ≥ rhs, β ≥ 0, 1ᵀβ = 1
        if n == 2:
            return _segment_lp(c, gram[rows], rhs)
        A_ub = -gram[rows] if rows.size else None  # linprog minimises with A_ub x ≤ b_ub
        b_ub = -rhs if rows.size else None
        res = linprog(-c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if res.status != 0 or res.x is None:
            return None
        beta = np.clip(res.x, 0.0, None)
        return beta / beta.sum() if beta.sum() > 0 else None

    if mu > epsilon:
        worst = int(np.argmax(ray * np.maximum(losses, floor)))
        ascent = np.flatnonzero(Ca <= 0)
        ascent = ascent[ascent != worst]
        rows = np.concatenate([[worst], ascent]).astype(int)
        rhs = np.concatenate([[0.0], Ca[ascent]])
        beta = solve(gram @ a, rows, rhs)
        if beta is not None:
            return beta, "balance"
        beta = solve(gram @ a, np.array([worst]), np.zeros(1))
        if beta is not None:
            return beta, "relaxed"
    else:
        beta = solve(gram.sum(axis=0), np.arange(n), np.zeros(n))
        if beta is not None:
            return beta, "descent"
    return solve_gram(gram).weights, "min-norm"


def _segment_lp(c: np.ndarray, A: np.ndarray, rhs: np.ndarray, tol: float = 1e-12) -> np.ndarray | None:
    """The n = 2 LP in closed form: β = (t, 1 − t), t ∈ [0, 1]; maximise cᵀβ s.t. A β ≥ rhs (A (r, 2)).

    Each row is a_k t ≥ b_k with a_k = A_k1 − A_k2, b_k = rhs_k − A_k2, which bounds t from one side; the optimum is
    an end of the feasible interval (``None`` when it is empty). ``tol`` is relative to the largest |entry|.
    """
    scale = max(float(np.abs(A).max()) if A.size else 0.0, float(np.abs(rhs).max()) if rhs.size else 0.0, 1e-300)
    lo, hi = 0.0, 1.0
    for (a1, a2), r in zip(A, rhs, strict=True):
        a, b = a1 - a2, r - a2
        if abs(a) <= tol * scale:
            if b > tol * scale:
                return None
        elif a > 0:
            lo = max(lo, b / a)
        else:
            hi = min(hi, b / a)
    if lo > hi + tol:
        return None
    t = hi if c[0] > c[1] else lo
    t = min(max(t, 0.0), 1.0)
    return np.array([t, 1.0 - t])


class Epo(Method):
    """EPO (Mahapatra & Rajan 2020): each solution moves towards the exact Pareto optimum on its preference ray,
    by a preference-anchored linear program over the gradient Gram matrix."""

    name = "epo"
    config_class = EpoConfig
    config: EpoConfig

    def __init__(self, config: MethodConfig | None = None) -> None:
        super().__init__(config)
        self.rays: np.ndarray | None = None
        self.modes: list[str] = []

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

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        """The preference rays (n, m) (what EPO weights by; the step's β is decided in :meth:`directions`)."""
        assert self.rays is not None, "setup() was not called"
        return self.rays

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: torch.Tensor, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        """d_j = G_jᵀ β_j with β_j from :func:`epo_weights` (shapes as in :meth:`Method.directions`)."""
        assert self.rays is not None, "setup() was not called"
        m = thetas.shape[0]
        out = torch.zeros_like(thetas)
        lambdas: list[np.ndarray] = []
        self.modes = []
        t0 = time.perf_counter()
        grams = torch.einsum("mid,mkd->mik", jacobians, jacobians).detach().to("cpu", torch.float64).numpy()
        for j in range(m):
            beta, mode = epo_weights(
                grams[j], losses[:, j], self.rays[:, j], epsilon=self.config.epsilon, floor=self.config.loss_floor
            )
            out[j] = torch.as_tensor(beta, dtype=thetas.dtype, device=thetas.device) @ jacobians[j]
            lambdas.append(beta)
            self.modes.append(mode)
        return out, lambdas, time.perf_counter() - t0

    def state_dict(self) -> dict[str, Any]:
        return {"rays": self.rays}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rays = state.get("rays")
