r"""Optimal-transport assignment of n objectives to m solutions (paper eq. 2–5).

.. math::

    \Gamma^\star = \arg\min_{\Gamma \ge 0,\ \Gamma 1_m = \alpha,\ \Gamma^\top 1_n = \beta}
        \langle \Gamma, C \rangle + \tau R(\Gamma), \qquad R(\Gamma) = -\sum_i \max_j \Gamma_{ij}.

Shapes: ``cost`` is (n, m) — row i is objective i, column j is solution j; ``alpha`` (n,), ``beta`` (m,); the plan
has the shape and array type of ``cost`` (numpy or torch). Everything is computed in float64 numpy. POT does the
network simplex (called directly) and the log-domain Sinkhorn fallback; ours are the exact decomposition for n ≫ m,
the Sinkhorn sweeps, IPOT with its certified stop, the diversity regulariser, one-sided plans and the curriculum,
each for a reason given where it is defined.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal

import numpy as np

from most.solvers._arrays import ArrayLike, like, to_numpy64


@functools.cache
def _pot() -> ModuleType:
    """POT, imported on first use: its import (scipy.stats and friends) costs ~1 s that `import most` should not."""
    import ot

    return ot


def _emd_c(*args: Any) -> Any:
    """POT's compiled network simplex (``ot.lp.emd_wrap.emd_c``)."""
    return _pot().lp.emd_wrap.emd_c(*args)


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
    if not math.isfinite(float(cost.sum())):  # one reduction; locate the entry only when something is off
        bad = np.argwhere(~np.isfinite(cost))
        if bad.size:  # (else the sum merely overflowed: every entry is finite)
            i, j = bad[0]
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


EMD_DEFAULT_ITER = 100_000
"""Floor of the network simplex's iteration cap; the cap used is max(this, 50 · n · m)."""
LARGE_ROWS = 20_000
"""Row count from which :func:`emd` decomposes the problem (see :func:`_emd_many_rows`)."""
SAMPLE_ROWS = 8_000
"""Rows of the subsampled problem whose duals seed the decomposition."""
BOUNDARY_FRACTION = 0.1
"""Fraction of rows (the most nearly tied) first handed to the network simplex in the decomposition."""
SLACK_TOL = 1e-12
"""Reduced-cost slack, relative to max |C|, under which complementary slackness counts as met."""
SINKHORN_TOL = 1e-9
"""Default Sinkhorn stop: row-marginal error ‖Γ1 − α‖₁."""
IPOT_TOL = 1e-3
"""Default IPOT stop: certified ⟨Γ, C⟩ − OT(C) relative to the cost range (Sinkhorn's bias at reg = 0.01 is
about this size on random costs; 1e-4 takes ~4x the proximal steps at 1e5 × 16)."""
_EMD_STATUS = {0: "infeasible", 2: "unbounded", 3: "iteration cap reached before optimality"}
"""POT's network-simplex result codes other than 1 (optimal); its own ``check_result`` also emits a warning."""
_TINY = 1e-300
"""Floor for divisors and logarithms in the scaling loops (zero-mass rows/columns are removed before them)."""


def _normalised(M: np.ndarray) -> np.ndarray:
    """Cost mapped to [0, 1] by an affine change; the optimal plan is unchanged (marginals are fixed)."""
    lo, hi = float(M.min()), float(M.max())
    return (M - lo) / (hi - lo) if hi > lo else np.zeros_like(M)


def _normalised_transposed(M: np.ndarray) -> np.ndarray:
    """:func:`_normalised` of M, returned transposed as a C-contiguous (m, n) array in two passes."""
    lo, hi = float(M.min()), float(M.max())
    out = np.subtract(M.T, lo, out=np.empty(M.shape[::-1]))
    out *= 1.0 / (hi - lo) if hi > lo else 0.0
    return out


def _gibbs(MnT: np.ndarray, reg: float) -> np.ndarray:
    """exp(−MnT / reg) with one temporary-free pass for the scaling and one for exp."""
    out = np.multiply(MnT, -1.0 / reg)
    return np.exp(out, out=out)


def _simplex(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, cap: int, duals: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """POT's network simplex called directly: (plan, u, v); raises ``RuntimeError`` unless the plan is optimal.

    Ours rather than ``ot.emd`` because its wrapper (backend detection, checks, dual centring) costs ~0.3 ms a
    call, several times the solve itself at the sizes MosT meets (n ≤ a few hundred, m ≤ 16), and τ > 0 calls it
    several times a round. ``a`` and ``b`` must be positive with equal sums; ``duals`` warm-starts the simplex.
    """
    u0, v0 = (None, None) if duals is None else duals
    M = np.ascontiguousarray(M)
    try:
        plan, _, u, v, code = _emd_c(a, b, M, cap, 1, u0, v0)
    except TypeError:  # POT < 0.9.6: no warm-start arguments
        plan, _, u, v, code = _emd_c(a, b, M, cap, 1)
    if code != 1:
        status = _EMD_STATUS.get(code, "unknown")
        raise RuntimeError(
            f"the network simplex did not reach an optimal plan (result_code={code}: {status}); "
            f"raise max_iter (it was {cap})"
        )
    return plan, u, v


def _emd_many_rows(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, cap: int, v0: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact OT for n ≫ m by decomposition: rows far from a tie are settled by the column duals alone.

    With column duals v, every row i whose best reduced cost :math:`\min_j C_{ij} - v_j` is attained by a single
    column j(i) by a clear margin is sent entirely to j(i) ("forced"); the network simplex solves only the
    remaining "boundary" rows against the residual column capacities :math:`\beta - \text{forced}`, returning
    new duals v. The combined plan is optimal iff every forced row's column still attains its row minimum under
    these v (complementary slackness, with :math:`u_i = \min_j C_{ij} - v_j` dual feasible by construction;
    the boundary rows' duals come from the simplex, which saw every column). Forced rows that fail the check move
    to the boundary and the boundary problem is solved again, warm-started — so the loop ends (the boundary only
    grows; at worst it is every row, which is the plain problem) and the result is exactly optimal, a vertex
    with at most n + m − 1 nonzeros. The first v comes from an exact solve on a subsample of rows (or ``v0``).

    Returns (plan (n, m), column duals v (m,)).
    """
    n, m = M.shape
    rows = np.arange(n)
    if v0 is None:
        pick = np.linspace(0, n - 1, min(n, SAMPLE_ROWS)).astype(np.intp)
        a_s = a[pick] / a[pick].sum()
        _, _, v = _simplex(a_s, b, M[pick], cap)
    else:
        v = v0
    R = M - v
    best = R.argmin(axis=1)
    r1 = R[rows, best]
    R[rows, best] = np.inf
    margin = R.min(axis=1) - r1
    del R
    k = max(int(BOUNDARY_FRACTION * n), 1)
    boundary = margin <= np.partition(margin, k)[k]  # ties at the threshold all go in
    slack = SLACK_TOL * max(float(np.abs(M).max()), 1e-300)
    while True:
        forced = np.flatnonzero(~boundary)
        load = np.bincount(best[forced], weights=a[forced], minlength=m)
        starved = np.flatnonzero(b - load <= 1e-3 * b)
        if starved.size:  # every column keeps some residual capacity, so the simplex returns its dual
            for j in starved:
                cand = forced[best[forced] == j]
                take = min(cand.size, cand.size // 10 + 1)
                boundary[cand[np.argpartition(margin[cand], take - 1)[:take]]] = True
            continue
        inner = np.flatnonzero(boundary)
        a_b = a[inner]
        residual = b - load
        residual *= a_b.sum() / residual.sum()
        M_b = M[inner]
        plan_b, _, v = _simplex(a_b, residual, M_b, cap, ((M_b - v).min(axis=1), v.copy()))
        R = M[forced] - v
        bad = R[np.arange(forced.size), best[forced]] - R.min(axis=1) > slack
        if not bad.any():
            plan = np.zeros_like(M)
            plan[forced, best[forced]] = a[forced]
            plan[inner] = plan_b
            return plan, v
        boundary[forced[bad]] = True


def emd(
    a: np.ndarray,
    b: np.ndarray,
    M: np.ndarray,
    *,
    max_iter: int | None = None,
    v0: np.ndarray | None = None,
) -> np.ndarray:
    """Exact OT by POT's network simplex; raises ``RuntimeError`` unless POT reports an optimal plan.

    POT's default iteration cap (1e5) stops early on 1e5-row problems and returns a non-optimal plan without
    raising, so the cap scales with the problem (``max(1e5, 50 n m)``, per simplex call) and the result code is
    checked. From :data:`LARGE_ROWS` rows (and n ≥ 64 m) the problem is decomposed (:func:`_emd_many_rows`),
    still exactly. ``v0`` (m,) are column duals from a related problem (warm start for the large case).
    Zero-mass rows and columns are dropped and get zero plan entries.
    """
    plan, _ = _emd_duals(a, b, M, max_iter=max_iter, v0=v0)
    return plan


def _emd_duals(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, *, max_iter: int | None = None, v0: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`emd` that also returns column duals (m,) when every column has mass (else None)."""
    n, m = M.shape
    cap = max_iter if max_iter is not None else max(EMD_DEFAULT_ITER, 50 * n * m)
    rows, cols = a > 0, b > 0
    if not (rows.all() and cols.all()):  # solve on the support, embed
        plan = np.zeros_like(M)
        sub, _ = _emd_duals(a[rows], b[cols], M[np.ix_(rows, cols)], max_iter=cap)
        plan[np.ix_(rows, cols)] = sub
        return plan, None
    b = b * (a.sum() / b.sum())  # equal masses to the last bit (they already agree to rounding)
    if n >= LARGE_ROWS and n >= 64 * m:
        return _emd_many_rows(a, b, M, cap, v0)
    plan, _, v = _simplex(a, b, M, cap)
    return plan, v


def _sweeps(
    Q: np.ndarray, a: np.ndarray, b: np.ndarray, v: np.ndarray, max_sweeps: int, row_tol: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sinkhorn sweeps on a kernel stored transposed, Q (m, n): returns (u (n,), v (m,), row error ‖Γ1 − a‖₁).

    The plan is diag(v) Q diag(u) in that layout; each sweep fits the rows (u) then the columns (v), so columns
    are exact on return. Stops after ``max_sweeps`` or once the row error is at most ``row_tol``. Products use
    ``einsum`` rather than BLAS: on a busy 2-core machine OpenBLAS's threads turn a 1 ms product into 10 ms.
    """
    r = np.einsum("j,ji->i", v, Q)
    u = a / np.maximum(r, _TINY)
    row_err = math.inf
    for _ in range(max(max_sweeps, 1)):
        u = a / np.maximum(r, _TINY)
        v = b / np.maximum(np.einsum("ji,i->j", Q, u), _TINY)
        r = np.einsum("j,ji->i", v, Q)
        row_err = float(np.abs(u * r - a).sum())
        if row_err <= row_tol:
            break
    return u, v, row_err


def sinkhorn(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, *, reg: float = 0.01, max_iter: int = 10_000, tol: float = SINKHORN_TOL
) -> np.ndarray:
    r"""Entropic OT :math:`\min \langle\Gamma,\hat C\rangle - \text{reg}\,H(\Gamma)` on the cost rescaled to [0, 1].

    Sinkhorn–Knopp sweeps (ours, on the transposed kernel — 2–3× faster than POT's loop for n ≫ m and free of
    BLAS threading stalls) until the row-marginal error ‖Γ1 − α‖₁ ≤ ``tol`` (columns are exact after each sweep).
    Its bias is fixed by ``reg``: ⟨Γ, Ĉ⟩ − OT(Ĉ) ≤ reg · log min(n, m). When exp(−Ĉ/reg) underflows (reg below
    ~1/700) POT's log-domain Sinkhorn is used instead.
    """
    MnT = _normalised_transposed(M)
    if reg < 1.0 / 700.0:
        return np.asarray(
            _pot().sinkhorn(a, b, MnT.T, reg, method="sinkhorn_log", numItermax=max_iter, stopThr=tol), dtype=np.float64
        )
    Q = _gibbs(MnT, reg)
    u, v, _ = _sweeps(Q, a, b, np.ones_like(b), max_iter, tol)
    Q *= u[None, :]
    Q *= v[:, None]
    return np.ascontiguousarray(Q.T)


def round_to_marginals(plan: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Nearest-feasible rounding (Altschuler, Weed & Rigollet 2017, alg. 2): a plan with marginals exactly (a, b).

    Rows then columns are scaled down to at most their marginal, and the remaining mass is added as the rank-one
    :math:`e_r e_c^\top / \|e_c\|_1`. The result is non-negative and
    :math:`\|R - P\|_1 \le 2(\|P1 - a\|_1 + \|P^\top 1 - b\|_1)`.
    """
    r = plan.sum(axis=1)
    out = plan * np.minimum(a / np.maximum(r, 1e-300), 1.0)[:, None]
    c = out.sum(axis=0)
    out *= np.minimum(b / np.maximum(c, 1e-300), 1.0)[None, :]
    err_r = np.maximum(a - out.sum(axis=1), 0.0)
    err_c = np.maximum(b - out.sum(axis=0), 0.0)
    total = float(err_c.sum())
    if total > 0:
        w = err_c / total
        if out.shape[0] <= 64:  # few long rows (the transposed layout): no (n, m) temporary
            for i in np.flatnonzero(err_r):
                out[i] += err_r[i] * w
        else:
            out += np.outer(err_r, w)
    return out


def ipot(
    a: np.ndarray,
    b: np.ndarray,
    M: np.ndarray,
    *,
    step: float = 0.01,
    max_iter: int = 1000,
    tol: float = IPOT_TOL,
    inner: int = 20,
) -> np.ndarray:
    r"""Inexact proximal point OT (Xie et al. 2020) with a certified stop — ours: POT 0.9.7's has a sign bug.

    On the cost rescaled to [0, 1] (Ĉ), outer step t solves
    :math:`\min_\Gamma \langle \Gamma, \hat C\rangle + \text{step}\cdot KL(\Gamma\|\Gamma^{t-1})` approximately
    by Sinkhorn sweeps on :math:`e^{-\hat C/\text{step}} \odot \Gamma^{t-1}`, warm-started with the previous
    column scaling as in the paper's algorithm — at most ``inner`` of them, stopping early once the row error is
    a quarter of ``tol``. The proximal sequence tends to an exact OT plan (unlike Sinkhorn, whose bias is fixed).

    Stopping is certified by LP duality. Unrolled, :math:`\Gamma^t_{ij} = a_i b_j \exp((F_i + G_j - t\hat C_{ij})
    /\text{step})` with G = step · Σ_s log v_s. For the column potential g = G / t, its c-transform
    :math:`f_i = \min_j \hat C_{ij} - g_j` makes (f, g) dual feasible, so
    :math:`D = a^\top f + b^\top g \le OT(\hat C)`; the rounding R of Γᵗ (:func:`round_to_marginals`) is
    feasible, so :math:`\langle R, \hat C\rangle \ge OT(\hat C)`. The loop stops once
    :math:`\langle R, \hat C\rangle - D \le` ``tol`` and returns R: exactly the marginals (a, b), with
    :math:`\langle R, C\rangle - OT(C) \le \text{tol}\cdot(\max C - \min C)`.
    """
    MnT = _normalised_transposed(M)  # (m, n) layout, as in :func:`_sweeps`
    kernel = _gibbs(MnT, step)
    plan = np.outer(b, a)
    Q = np.empty_like(plan)
    v = np.ones_like(b)
    log_v = np.zeros_like(b)
    rounded = plan
    for t in range(1, max_iter + 1):
        np.multiply(kernel, plan, out=Q)
        u, v, _ = _sweeps(Q, a, b, v, inner, 0.25 * tol)
        np.multiply(Q, u[None, :], out=plan)
        plan *= v[:, None]
        if not np.all(np.isfinite(v)):
            raise RuntimeError("ipot produced a non-finite plan; use a larger step")
        log_v += np.log(np.maximum(v, _TINY))
        lower = _dual_value(MnT, a, b, step * log_v / t)
        rounded = round_to_marginals(plan, b, a)
        if float(np.vdot(rounded, MnT)) - lower <= tol:
            break
    return np.ascontiguousarray(rounded.T)


def _dual_value(MnT: np.ndarray, a: np.ndarray, b: np.ndarray, g: np.ndarray) -> float:
    """Dual objective aᵀf + bᵀg of column potentials g (m,) with f their c-transform: a lower bound on OT."""
    f = (MnT - g[:, None]).min(axis=0)
    return float(a @ f + b @ g)


# ----------------------------------------------------------------------------------------------------------------
# the diversity regulariser


def diversity(plan: ArrayLike) -> float:
    r""":math:`D(\Gamma) = \sum_i \max_j \Gamma_{ij} = -R(\Gamma)`; larger means rows concentrate on one column."""
    return float(to_numpy64(plan, "plan").max(axis=1).sum())


def _linearised(M: np.ndarray, tau: float, plan: np.ndarray) -> np.ndarray:
    """M − τ E(plan), E the (n, m) one-hot of each row's argmax: a supergradient of D, so −τE is one of τR."""
    out = M.copy()
    out[np.arange(M.shape[0]), plan.argmax(axis=1)] -= tau
    return out


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
    vertices). Two starts: the τ = 0 plan — which guarantees D(Γ_τ) ≥ D(Γ_0) when the linear solver is exact,
    since F(Γ_τ) ≤ F(Γ_0) and ⟨Γ_τ, M⟩ ≥ ⟨Γ_0, M⟩ — and, when ``init`` (a previous plan) is given, the plan
    linearised at its argmax pattern (the warm start). The better F wins.
    """

    def objective(G: np.ndarray) -> float:
        return float(np.vdot(G, M)) - tau * float(G.max(axis=1).sum())

    starts = [linear(M)]
    if init is not None:
        starts.append(linear(_linearised(M, tau, init)))
    best, best_f = starts[0], math.inf
    for G in starts:
        f = objective(G)
        for _ in range(max_rounds):
            cand = linear(_linearised(M, tau, G))
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
    tol: float | None = None,
    max_rounds: int = 50,
) -> ArrayLike:
    r"""Optimal transport plan Γ between n objectives (rows) and m solutions (columns).

    Args:
        cost: (n, m) transport cost, C[i, j] = L_i(θ_j). numpy or torch; the plan comes back the same way (torch:
            same dtype and device).
        alpha: (n,) row marginal on the simplex, default uniform 1/n.
        beta: (m,) column marginal on the simplex, default uniform 1/m.
        tau: weight of the diversity regulariser R(Γ) = −Σ_i max_j Γ_ij (paper eq. 4), in the units of ``cost``.
            With τ > 0 the problem is concave and is solved by full-step linearisation (see :func:`_regularised`),
            each step a linear OT problem for the chosen solver.
        solver: ``"emd"`` exact network simplex (a vertex: at most n + m − 1 nonzeros), ``"sinkhorn"`` entropic
            (``reg`` relative to the cost range), ``"ipot"`` proximal point (tends to the exact plan; stops on a
            certified duality gap).
        reg: entropic regularisation for ``"sinkhorn"``, proximal step for ``"ipot"``; relative to the cost range.
        init: (n, m) previous plan, used as a warm start for τ > 0.
        max_iter: iteration cap of the linear solver (default: scaled to the size for emd — per network-simplex
            call —, 10⁴ Sinkhorn iterations, 10³ IPOT steps).
        tol: stopping tolerance of the iterative solvers: for ``"sinkhorn"`` the row-marginal error (default
            1e-9); for ``"ipot"`` the certified gap ⟨Γ, C⟩ − OT(C) relative to max C − min C (default 1e-3,
            tighter than Sinkhorn's bias at the default ``reg``; smaller values cost more proximal steps).
            Unused by ``"emd"``, which is exact.
        max_rounds: cap on linearisation rounds for τ > 0.

    Returns:
        Γ of shape (n, m), non-negative, with Γ 1 = α and Γᵀ 1 = β (to rounding for emd and ipot; Sinkhorn's
        rows to ``tol``).

    Raises:
        ValueError: a malformed cost, marginal, τ or solver name (the message says which and why).
        RuntimeError: the network simplex hit ``max_iter`` before reaching an optimal plan.
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
    rows, cols = a > 0, b > 0
    full = bool(rows.all() and cols.all())
    cap = max_iter if max_iter is not None else max(EMD_DEFAULT_ITER, 50 * n * m)
    b_eq = b * (a.sum() / b.sum())  # equal masses to the last bit, as the network simplex needs
    many_rows = n >= LARGE_ROWS and n >= 64 * m
    duals: list[np.ndarray | None] = [None]  # column duals of the last exact solve: a warm start for the next

    def solve(M: np.ndarray) -> np.ndarray:
        if solver == "emd":
            if not full:  # zero-mass rows/columns: solved on the support, embedded
                return _emd_duals(a, b, M, max_iter=cap)[0]
            if many_rows:
                plan, duals[0] = _emd_many_rows(a, b_eq, M, cap, duals[0])
                return plan
            return _simplex(a, b_eq, M, cap)[0]
        if not full:  # the iterative solvers work on the support of (α, β); zero-mass rows/columns get 0
            out = np.zeros_like(M)
            out[np.ix_(rows, cols)] = iterative(a[rows], b[cols], M[np.ix_(rows, cols)])
            return out
        return iterative(a, b, M)

    def iterative(a_: np.ndarray, b_: np.ndarray, M: np.ndarray) -> np.ndarray:
        if solver == "sinkhorn":
            return sinkhorn(a_, b_, M, reg=reg, max_iter=max_iter or 10_000, tol=SINKHORN_TOL if tol is None else tol)
        return ipot(a_, b_, M, step=reg, max_iter=max_iter or 1000, tol=IPOT_TOL if tol is None else tol)

    if tau == 0.0 or m == 1:  # with one column every row max is fixed by α: R is constant
        plan = solve(C)
    else:
        G0 = None if init is None else to_numpy64(init, "init")
        if G0 is not None and G0.shape != C.shape:
            raise ValueError(f"init must have the cost's shape {C.shape}, got shape {G0.shape}")
        plan = _regularised(solve, C, tau, G0, max_rounds)
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
