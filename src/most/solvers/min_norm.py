r"""The min-norm problem of MGDA (paper eq. 7): the point of the convex hull of n vectors closest to the origin.

.. math::

    \lambda^\star = \arg\min_{\lambda \in \Delta^{n-1}} \Big\|\sum_i \lambda_i v_i\Big\|^2
                  = \arg\min_{\lambda \in \Delta^{n-1}} \lambda^\top G \lambda, \qquad G = V V^\top.

Solved to a stated tolerance on the Frank–Wolfe duality gap
:math:`g(\lambda) = 2(\lambda^\top G\lambda - \min_i (G\lambda)_i) \ge f(\lambda) - f^\star`,
relative to max_i G_ii. n = 1 and n = 2 are closed forms; larger n is an exact QP (qpsolvers: piqp, then daqp),
polished — or replaced, when no QP backend answers — by pairwise Frank–Wolfe with exact line search, which runs until
the gap is met (never a fixed iteration count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from most.solvers._arrays import ArrayLike, like, to_numpy64

Method = Literal["auto", "qp", "frank-wolfe"]
DEFAULT_TOL = 1e-10
"""Default relative duality gap: f(λ) − f* ≤ tol · max_i ‖v_i‖²."""


@dataclass(frozen=True)
class MinNormResult:
    """λ (n,) on the simplex, the squared norm f = λᵀGλ, the duality gap certified, and the solver used."""

    weights: np.ndarray
    value: float
    gap: float
    method: str


def duality_gap(gram: np.ndarray, lam: np.ndarray) -> float:
    """Frank–Wolfe gap 2(λᵀGλ − min_i (Gλ)_i): an upper bound on λᵀGλ − min over the simplex."""
    g = gram @ lam
    return float(max(2.0 * (lam @ g - g.min()), 0.0))


def _two(gram: np.ndarray) -> np.ndarray:
    """Closed form for n = 2: λ_1 = clip((G22 − G12) / (G11 + G22 − 2 G12), 0, 1)."""
    denom = gram[0, 0] + gram[1, 1] - 2.0 * gram[0, 1]
    t = 0.5 if denom <= 0 else float(np.clip((gram[1, 1] - gram[0, 1]) / denom, 0.0, 1.0))
    return np.array([t, 1.0 - t])


def _qp(gram: np.ndarray) -> np.ndarray | None:
    """Exact QP min λᵀGλ s.t. 1ᵀλ = 1, λ ≥ 0 with qpsolvers (piqp, then daqp); None if no backend answers."""
    import qpsolvers  # local import: qpsolvers' import is slow and only needed for n >= 3

    n = gram.shape[0]
    P = gram + gram.T  # 2G, symmetrised
    q = np.zeros(n)
    A = np.ones((1, n))
    b = np.ones(1)
    lb = np.zeros(n)
    for backend in ("piqp", "daqp"):
        if backend not in qpsolvers.available_solvers:
            continue
        try:
            x = qpsolvers.solve_qp(P, q, A=A, b=b, lb=lb, solver=backend, eps_abs=1e-12, eps_rel=1e-12)
        except Exception:  # a backend's numerical failure: try the next one, Frank–Wolfe is the last resort
            x = None
        if x is not None and np.all(np.isfinite(x)):
            x = np.clip(x, 0.0, None)
            if x.sum() > 0:
                return x / x.sum()
    return None


def _pairwise_frank_wolfe(gram: np.ndarray, lam: np.ndarray, gap_tol: float, max_iter: int) -> np.ndarray:
    """Pairwise Frank–Wolfe with exact line search: moves mass from the worst active vertex to the best one.

    Linear convergence on polytopes (Lacoste-Julien & Jaggi 2015); stops when the duality gap ≤ ``gap_tol``.
    """
    lam = lam.copy()
    g = gram @ lam
    for _ in range(max_iter):
        s = int(np.argmin(g))
        if 2.0 * (lam @ g - g[s]) <= gap_tol:
            break
        active = np.flatnonzero(lam > 0)
        a = int(active[np.argmax(g[active])])
        if a == s:
            break
        # direction e_s − e_a; f(λ + γ d) is quadratic in γ with curvature dᵀGd
        slope = g[s] - g[a]
        curv = gram[s, s] + gram[a, a] - 2.0 * gram[s, a]
        step = lam[a] if curv <= 0 else min(lam[a], -slope / curv)
        if step <= 0:
            break
        lam[s] += step
        lam[a] -= step
        g += step * (gram[:, s] - gram[:, a])
    return lam


def solve_gram(gram: np.ndarray, *, method: Method = "auto", tol: float = DEFAULT_TOL) -> MinNormResult:
    """Min-norm weights from a Gram matrix G (n, n) (float64 numpy); see the module docstring."""
    n = gram.shape[0]
    if gram.ndim != 2 or gram.shape != (n, n) or n < 1:
        raise ValueError(f"gram must be a square (n, n) matrix with n >= 1, got shape {gram.shape}")
    if not np.all(np.isfinite(gram)):
        i, j = np.argwhere(~np.isfinite(gram))[0]
        raise ValueError(f"gram[{i}, {j}] is not finite")
    scale = float(np.max(np.diag(gram)))
    if n == 1 or scale <= 0.0:  # one vector, or all vectors zero: any λ is optimal
        lam = np.full(n, 1.0 / n)
        return MinNormResult(lam, float(lam @ gram @ lam), 0.0, "closed-form")
    G = gram / scale  # λ is invariant to scaling; this conditions the QP
    gap_tol = tol
    if n == 2 and method != "frank-wolfe":
        lam, used = _two(G), "closed-form"
    else:
        lam = _qp(G) if method in ("auto", "qp") else None
        used = "qp"
        if lam is None:
            if method == "qp":
                raise RuntimeError("no QP backend (piqp, daqp) solved the min-norm problem")
            lam, used = np.full(n, 1.0 / n), "frank-wolfe"
    if duality_gap(G, lam) > gap_tol:  # polish (or solve) to the stated gap
        lam = _pairwise_frank_wolfe(G, lam, gap_tol, max_iter=100_000 + 100 * n)
        used = used if used == "frank-wolfe" else used + "+frank-wolfe"
    return MinNormResult(lam, float(lam @ gram @ lam), duality_gap(G, lam) * scale, used)


def min_norm(
    vectors: ArrayLike | None = None,
    *,
    gram: ArrayLike | None = None,
    method: Method = "auto",
    tol: float = DEFAULT_TOL,
) -> ArrayLike:
    r"""λ (n,) on the simplex minimising ‖λᵀV‖² for vectors V (n, d), or λᵀGλ for a Gram matrix G (n, n).

    Args:
        vectors: (n, d) rows v_i (numpy or torch). Give this or ``gram``.
        gram: (n, n) Gram matrix G_ik = ⟨v_i, v_k⟩, used instead of ``vectors``.
        method: ``"auto"`` (closed form for n ≤ 2, exact QP otherwise), ``"qp"``, or ``"frank-wolfe"``.
        tol: stop when f(λ) − f* ≤ tol · max_i ‖v_i‖² (certified by the duality gap).

    Returns:
        λ of shape (n,), same array type as the input. ‖Σ_i λ_i v_i‖ is 0 when the origin is in the hull.
    """
    if (vectors is None) == (gram is None):
        raise ValueError("give exactly one of vectors (n, d) or gram (n, n)")
    if vectors is not None:
        V = to_numpy64(vectors, "vectors")
        if V.ndim != 2:
            raise ValueError(f"vectors must be 2-D (n, d), got shape {V.shape}")
        if not np.all(np.isfinite(V)):
            raise ValueError(f"vectors row {int(np.argwhere(~np.isfinite(V))[0, 0])} is not finite")
        G, ref = V @ V.T, vectors
    else:
        G, ref = to_numpy64(gram, "gram"), gram
    return like(solve_gram(G, method=method, tol=tol).weights, ref)
