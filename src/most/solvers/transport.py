r"""Optimal-transport assignment of n objectives to m solutions (paper eq. 2–5).

.. math::

    \Gamma^\star = \arg\min_{\Gamma \ge 0,\ \Gamma 1_m = \alpha,\ \Gamma^\top 1_n = \beta}
        \langle \Gamma, C \rangle + \tau R(\Gamma), \qquad R(\Gamma) = -\sum_i \max_j \Gamma_{ij}.

Shapes: ``cost`` is (n, m) — row i is objective i, column j is solution j; ``alpha`` (n,), ``beta`` (m,); the plan
has the shape and array type of ``cost`` (numpy or torch). Everything is computed in float64 numpy; POT does the
network simplex and Sinkhorn, the rest (IPOT, the diversity regulariser, one-sided plans, curriculum) is ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import ot

from most.solvers._arrays import ArrayLike, like, to_numpy64

Solver = Literal["emd", "sinkhorn", "ipot"]
SOLVERS: tuple[str, ...] = ("emd", "sinkhorn", "ipot")
MARGINAL_TOL = 1e-6
"""Marginals must sum to 1 within this; they are then renormalised exactly (POT's emd asserts equal sums)."""


# ----------------------------------------------------------------------------------------------------------------
# validation


def check_cost(cost: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``cost`` is a finite (n, m) matrix with n, m >= 1."""
    if cost.ndim != 2 or cost.shape[0] < 1 or cost.shape[1] < 1:
        raise ValueError(f"cost must be a 2-D (n objectives, m solutions) array, got shape {cost.shape}")
    if not np.all(np.isfinite(cost)):
        i, j = np.argwhere(~np.isfinite(cost))[0]
        raise ValueError(f"cost[{i}, {j}] = {cost[i, j]} (objective {i}, solution {j}) is not finite")


def check_marginal(x: ArrayLike | None, size: int, name: str) -> np.ndarray:
    """Validate a marginal of length ``size`` and return it in float64, renormalised to sum exactly 1.

    ``None`` means uniform. Raises ``ValueError`` naming ``name`` for a wrong shape, a non-finite or negative entry,
    or a sum off 1 by more than :data:`MARGINAL_TOL`.
    """
    if x is None:
        return np.full(size, 1.0 / size)
    v = to_numpy64(x, name)
    if v.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},) to match the cost matrix, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}[{int(np.argmin(np.isfinite(v)))}] is not finite")
    if np.any(v < 0):
        k = int(np.argmin(v))
        raise ValueError(f"{name} must be non-negative: {name}[{k}] = {v[k]:.3g}")
    total = float(v.sum())
    if abs(total - 1.0) > MARGINAL_TOL:
        raise ValueError(f"{name} must sum to 1 (within {MARGINAL_TOL:g}); it sums to {total:.9g}")
    return v / total


# ----------------------------------------------------------------------------------------------------------------
# linear OT solvers: (a (n,), b (m,), M (n, m)) -> plan (n, m), all float64 numpy


def _normalised(M: np.ndarray) -> np.ndarray:
    """Cost mapped to [0, 1] by an affine change; the optimal plan is unchanged (marginals are fixed)."""
    lo, hi = float(M.min()), float(M.max())
    return (M - lo) / (hi - lo) if hi > lo else np.zeros_like(M)


def emd(a: np.ndarray, b: np.ndarray, M: np.ndarray, *, max_iter: int | None = None) -> np.ndarray:
    """Exact OT by POT's network simplex; raises ``RuntimeError`` unless POT reports an optimal plan.

    POT's default iteration cap (1e5) stops early on 1e5-row problems and returns a non-optimal plan without
    raising, so the cap scales with the problem and the result code is checked.
    """
    n, m = M.shape
    cap = max_iter if max_iter is not None else max(100_000, 50 * n * m)
    plan, log = ot.emd(a, b, M, numItermax=cap, log=True)
    code = log.get("result_code", 1)
    if code != 1:
        raise RuntimeError(f"ot.emd did not reach an optimal plan (result_code={code}: {log.get('warning')})")
    return np.asarray(plan, dtype=np.float64)


def sinkhorn(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, *, reg: float = 0.01, max_iter: int = 10_000, tol: float = 1e-9
) -> np.ndarray:
    """Entropic OT (POT's Sinkhorn) on the cost rescaled to [0, 1]; ``reg`` is relative to that range."""
    Mn = _normalised(M)
    plan = np.asarray(ot.sinkhorn(a, b, Mn, reg, numItermax=max_iter, stopThr=tol), dtype=np.float64)
    if not np.all(np.isfinite(plan)):  # exp(-M/reg) underflowed: the log-domain version is slower but stable
        plan = np.asarray(
            ot.sinkhorn(a, b, Mn, reg, method="sinkhorn_log", numItermax=max_iter, stopThr=tol), dtype=np.float64
        )
    return plan


def ipot(
    a: np.ndarray,
    b: np.ndarray,
    M: np.ndarray,
    *,
    step: float = 0.02,
    max_iter: int = 1000,
    tol: float = 1e-9,
    inner: int = 1,
) -> np.ndarray:
    r"""Inexact proximal point OT (Xie et al. 2020) — ours because POT 0.9.7's proximal solver has a sign bug.

    Each outer step solves :math:`\min_\Gamma \langle \Gamma, M\rangle + \text{step}\cdot KL(\Gamma\|\Gamma^{t})`
    by ``inner`` Sinkhorn sweeps on the kernel :math:`e^{-M/\text{step}} \odot \Gamma^t`; the proximal sequence
    converges to an exact OT plan as the iterations go (unlike Sinkhorn, whose bias is fixed by its ``reg``).
    ``step`` is relative to the cost rescaled to [0, 1]. Stops when the row-marginal error is below ``tol``
    and the plan moved less than ``tol``.
    """
    n, m = M.shape
    kernel = np.exp(-_normalised(M) / step)
    plan = np.outer(a, b)
    v = np.ones(m)
    for _ in range(max_iter):
        Q = kernel * plan
        for _ in range(inner):
            u = a / np.maximum(Q @ v, 1e-300)
            v = b / np.maximum(Q.T @ u, 1e-300)
        new = u[:, None] * Q * v[None, :]
        moved = float(np.abs(new - plan).sum())
        plan = new
        if moved < tol and float(np.abs(plan.sum(1) - a).sum()) < tol:
            break
    if not np.all(np.isfinite(plan)):
        raise RuntimeError("ipot produced a non-finite plan; use a larger step")
    return plan


# ----------------------------------------------------------------------------------------------------------------
# the diversity regulariser


def diversity(plan: ArrayLike) -> float:
    r""":math:`D(\Gamma) = \sum_i \max_j \Gamma_{ij} = -R(\Gamma)`; larger means rows concentrate on one column."""
    return float(to_numpy64(plan, "plan").max(axis=1).sum())


def _row_argmax_indicator(plan: np.ndarray) -> np.ndarray:
    """(n, m) one-hot of each row's argmax: a supergradient of D (so −τ times it is one of τR)."""
    E = np.zeros_like(plan)
    E[np.arange(plan.shape[0]), plan.argmax(axis=1)] = 1.0
    return E


def _regularised(
    linear: Callable[[np.ndarray], np.ndarray],
    M: np.ndarray,
    tau: float,
    init: np.ndarray | None,
    max_rounds: int,
) -> np.ndarray:
    r"""Minimise the concave :math:`F(\Gamma) = \langle\Gamma,M\rangle - \tau D(\Gamma)` by full-step linearisation.

    Because F is concave, :math:`F(Y) \le F(X) + \langle M - \tau E(X), Y - X\rangle` with E the row-argmax
    indicator, so replacing X by the LP solution Y of the linearised cost never increases F (full steps, no line
    search: POT's ``ot.optim.cg`` line search assumes a convex objective). It stops at a fixed point (finitely many
    vertices). Two starts: the τ = 0 plan — which guarantees D(Γ_τ) ≥ D(Γ_0) — and, when ``init`` (a previous plan)
    is given, the plan linearised at its argmax pattern (the warm start). The better F wins.
    """

    def objective(G: np.ndarray) -> float:
        return float((G * M).sum() - tau * G.max(axis=1).sum())

    starts = [linear(M)]
    if init is not None:
        starts.append(linear(M - tau * _row_argmax_indicator(init)))
    best, best_f = starts[0], math.inf
    for G in starts:
        f = objective(G)
        for _ in range(max_rounds):
            cand = linear(M - tau * _row_argmax_indicator(G))
            fc = objective(cand)
            if fc >= f - 1e-15 * max(1.0, abs(f)):
                break
            G, f = cand, fc
        if f < best_f:
            best, best_f = G, f
    return best


# ----------------------------------------------------------------------------------------------------------------
# public entry points


def assign(
    cost: ArrayLike,
    alpha: ArrayLike | None = None,
    beta: ArrayLike | None = None,
    *,
    tau: float = 0.0,
    solver: Solver = "emd",
    reg: float = 0.01,
    init: ArrayLike | None = None,
    max_iter: int | None = None,
    tol: float = 1e-9,
    max_rounds: int = 50,
) -> ArrayLike:
    r"""Optimal transport plan Γ between n objectives (rows) and m solutions (columns).

    Args:
        cost: (n, m) transport cost, C[i, j] = L_i(θ_j). numpy or torch; the plan comes back the same way.
        alpha: (n,) row marginal on the simplex, default uniform 1/n.
        beta: (m,) column marginal on the simplex, default uniform 1/m.
        tau: weight of the diversity regulariser R(Γ) = −Σ_i max_j Γ_ij (paper eq. 4), in the units of ``cost``.
            With τ > 0 the problem is concave and is solved by full-step linearisation (see :func:`_regularised`),
            each step a linear OT problem for the chosen solver.
        solver: ``"emd"`` exact network simplex (a vertex: at most n + m − 1 nonzeros), ``"sinkhorn"`` entropic
            (``reg`` relative to the cost range), ``"ipot"`` proximal point (converges to the exact plan).
        reg: entropic regularisation for ``"sinkhorn"``, proximal step for ``"ipot"``; relative to the cost range.
        init: (n, m) previous plan, used as a warm start for τ > 0.
        max_iter: iteration cap of the linear solver (default: scaled to the size for emd, 10⁴/10³ otherwise).
        tol: stopping tolerance of the iterative solvers.
        max_rounds: cap on linearisation rounds for τ > 0.

    Returns:
        Γ of shape (n, m) with Γ 1 = α and Γᵀ 1 = β (exactly for emd; to ``tol`` for the iterative solvers).
    """
    C = to_numpy64(cost, "cost")
    check_cost(C)
    n, m = C.shape
    a = check_marginal(alpha, n, "alpha")
    b = check_marginal(beta, m, "beta")
    if not math.isfinite(tau) or tau < 0:
        raise ValueError(f"tau must be a finite non-negative number, got {tau}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown OT solver {solver!r}; choose one of {', '.join(SOLVERS)}")

    def linear(M: np.ndarray) -> np.ndarray:
        if solver == "emd":
            return emd(a, b, M, max_iter=max_iter)
        if solver == "sinkhorn":
            return sinkhorn(a, b, M, reg=reg, max_iter=max_iter or 10_000, tol=tol)
        return ipot(a, b, M, step=reg, max_iter=max_iter or 1000, tol=tol)

    if tau == 0.0 or m == 1:  # with one column every row max is fixed by α: R is constant
        plan = linear(C)
    else:
        G0 = None if init is None else to_numpy64(init, "init")
        if G0 is not None and G0.shape != C.shape:
            raise ValueError(f"init must have the cost's shape {C.shape}, got {G0.shape}")
        plan = _regularised(linear, C, tau, G0, max_rounds)
    return like(plan, cost)


def assign_rows(cost: ArrayLike, alpha: ArrayLike | None = None) -> ArrayLike:
    """Semi-relaxed plan with only Γ 1 = α ("objective selects model", MosT-O): Γ_ij = α_i [j = argmin_j C_ij].

    This is the exact LP optimum once the column constraint is dropped. Shapes as in :func:`assign`.
    """
    C = to_numpy64(cost, "cost")
    check_cost(C)
    a = check_marginal(alpha, C.shape[0], "alpha")
    plan = np.zeros_like(C)
    plan[np.arange(C.shape[0]), C.argmin(axis=1)] = a
    return like(plan, cost)


def assign_columns(cost: ArrayLike, beta: ArrayLike | None = None) -> ArrayLike:
    """Semi-relaxed plan with only Γᵀ 1 = β ("model selects objective", MosT-M): Γ_ij = β_j [i = argmin_i C_ij]."""
    C = to_numpy64(cost, "cost")
    check_cost(C)
    b = check_marginal(beta, C.shape[1], "beta")
    plan = np.zeros_like(C)
    plan[C.argmin(axis=0), np.arange(C.shape[1])] = b
    return like(plan, cost)


def assign_columns_soft(cost: ArrayLike, beta: ArrayLike | None = None, *, temperature: float = 0.1) -> ArrayLike:
    r"""Soft "model selects objective" (MosT-M soft): Γ_{:,j} = β_j softmax_i(−C̃_{:,j} / temperature).

    C̃ is the cost divided by its mean (scale-free), so ``temperature`` is relative to the mean loss.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    C = to_numpy64(cost, "cost")
    check_cost(C)
    b = check_marginal(beta, C.shape[1], "beta")
    scale = float(np.abs(C).mean()) or 1.0
    z = -C / (scale * temperature)
    z -= z.max(axis=0, keepdims=True)
    w = np.exp(z)
    plan = w / w.sum(axis=0, keepdims=True) * b[None, :]
    return like(plan, cost)


# ----------------------------------------------------------------------------------------------------------------
# curriculum (paper section 3.3)


def normalised_cost(cost: ArrayLike) -> np.ndarray:
    """ℓ = (C − min(0, min C)) / Σ(·): shifted to be non-negative, then summing to 1 (uniform if all zero)."""
    C = to_numpy64(cost, "cost")
    check_cost(C)
    shifted = C - min(0.0, float(C.min()))
    total = float(shifted.sum())
    return shifted / total if total > 0 else np.full_like(C, 1.0 / C.size)


def _to_simplex(v: np.ndarray) -> np.ndarray:
    total = float(v.sum())
    return v / total if total > 0 else np.full_like(v, 1.0 / v.size)


def curriculum_marginals(cost: ArrayLike, s: float, *, top_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r"""Marginals (α_s, β_s) of the solution-specialisation curriculum, as float64 arrays summing exactly to 1.

    With ℓ = :func:`normalised_cost` (n, m) and k = max(⌊top_fraction · n⌋, 1):

    * α_perf[i] ∝ min_j ℓ[i, j];   β_perf[j] ∝ sum of the k smallest entries of ℓ[:, j];
    * α_s = s α_perf + (1 − s) 1/n;   β_s = s 1/m + (1 − s) β_perf.

    ``s`` goes from 1 to 0 over training (:func:`curriculum_schedule`). As the paper (section 3.3, A.5.2) states,
    β starts uniform (every model trained) and α slightly performance-driven; at the end α is uniform (every
    objective covered) and β performance-driven.
    """
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"curriculum s must be in [0, 1], got {s}")
    ell = normalised_cost(cost)
    n, m = ell.shape
    k = max(int(math.floor(top_fraction * n)), 1)
    alpha_perf = _to_simplex(ell.min(axis=1))
    beta_perf = _to_simplex(np.sort(ell, axis=0)[:k].sum(axis=0))
    alpha = s * alpha_perf + (1.0 - s) / n
    beta = s / m + (1.0 - s) * beta_perf
    return alpha / alpha.sum(), beta / beta.sum()


def curriculum_schedule(step: int, *, decay: float = 0.995) -> float:
    """s_t = decay^t: 1 at the first round, decaying multiplicatively towards 0."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"curriculum decay must be in (0, 1], got {decay}")
    return float(decay ** max(step, 0))
