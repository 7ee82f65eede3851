r"""The min-norm problem of MGDA (paper eq. 7): the point of the convex hull of n vectors closest to the origin.

.. math::

    \lambda^\star = \arg\min_{\lambda \in \Delta^{n-1}} \Big\|\sum_i \lambda_i v_i\Big\|^2
                  = \arg\min_{\lambda \in \Delta^{n-1}} \lambda^\top G \lambda, \qquad G = V V^\top.

Solved to a stated tolerance on the Frank–Wolfe duality gap
:math:`g(\lambda) = 2(\lambda^\top G\lambda - \min_i (G\lambda)_i) \ge f(\lambda) - f^\star`,
relative to max_i G_ii. n = 1 and n = 2 are closed forms. Larger n is solved exactly by an active-set column
generation (:func:`_active_set`): the QP restricted to a working set of at most a few dozen vectors is solved by a
dense active-set QP solver (daqp, called directly; piqp if daqp is missing), then every vector is priced and the
working set grows by the violators — λ is optimal once none is left, which the duality gap certifies. Its cost
scales with the size of the optimal support, not with n. The full QP through qpsolvers (piqp, then daqp) is the
fallback and ``method="qp"``; pairwise Frank–Wolfe with exact line search polishes any result whose gap is still
above the tolerance (or solves alone, ``method="frank-wolfe"``) and runs until the gap is met (never a fixed
iteration count).
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np

from most.solvers._arrays import ArrayLike, like, to_numpy64

_daqp: ModuleType | None
try:  # daqp is optional: without it the working-set subproblems go to piqp (slower at small n, same answer)
    _daqp = importlib.import_module("daqp")
except ImportError:  # pragma: no cover - exercised only where daqp is not installed
    _daqp = None

Method = Literal["auto", "active-set", "qp", "frank-wolfe"]
METHODS: tuple[str, ...] = ("auto", "active-set", "qp", "frank-wolfe")
DEFAULT_TOL = 1e-10
"""Default relative duality gap: f(λ) − f* ≤ tol · max_i ‖v_i‖²."""
WORKING_SET = 48
"""Vectors in the first working set of :func:`_active_set` (all of them when n is at most this)."""
PRICE_BATCH = 24
"""Most violating vectors added to the working set per round of :func:`_active_set`."""
MAX_ROUNDS = 200
"""Cap on working-set rounds; each strictly lowers the objective, so the cap only guards against stalls."""
TINY_PRODUCT = 400_000
SMALL_PRODUCT = 4_000_000
"""Products with more than TINY_PRODUCT and at most SMALL_PRODUCT multiply-adds use ``einsum`` instead of BLAS.

On a busy 2-core machine OpenBLAS hands mid-sized products to its worker threads and the call then waits for the
scheduler: a 30 × 610 Gram took 36 ms instead of 0.4 ms single-threaded. Below TINY_PRODUCT OpenBLAS stays on one
thread (and beats einsum); above SMALL_PRODUCT its threads pay off.
"""


def _outer_gram(V: np.ndarray) -> np.ndarray:
    """V Vᵀ (n, n) for V (n, d), by ``einsum`` in the band where BLAS threading stalls (see above)."""
    n, d = V.shape
    return np.einsum("id,jd->ij", V, V) if TINY_PRODUCT < n * n * d <= SMALL_PRODUCT else V @ V.T


def _matvec(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A x for A (n, d), by ``einsum`` in the same band."""
    return np.einsum("ij,j->i", A, x) if TINY_PRODUCT < A.size <= SMALL_PRODUCT else A @ x


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
    import qpsolvers  # local import: qpsolvers' import is slow and only needed on the fallback path

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


@functools.lru_cache(maxsize=64)
def _daqp_constraints(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """daqp's encoding of the simplex for k weights: (A (1, k), upper, lower, sense (k + 1,), zero cost (k,)).

    Bounds first (0 ≤ x_i), then the row 1ᵀx = 1 (sense 5: equality). Cached: the solver is called m times a
    round with the same few sizes, and rebuilding these dominated its small-n latency. daqp only reads them.
    """
    upper = np.full(k + 1, 1e30)  # daqp's "no upper bound"
    lower = np.zeros(k + 1)
    upper[k] = lower[k] = 1.0
    sense = np.zeros(k + 1, dtype=np.int32)
    sense[k] = 5
    out = (np.ones((1, k)), upper, lower, sense, np.zeros(k))
    return out


def _simplex_qp_daqp(H: np.ndarray, prox: float = 0.0) -> np.ndarray | None:
    """min ½ xᵀHx on the simplex with daqp (dense dual active set, C); None if it fails or is missing.

    ``prox`` is daqp's ``eps_prox``: 0 needs H positive definite (it fails otherwise); -1 lets it regularise a
    singular H by proximal-point iterations, which converge but stop short of the 1e-10 gaps asked here.
    """
    if _daqp is None:
        return None
    A, upper, lower, sense, zero = _daqp_constraints(H.shape[0])
    x, _, flag, _ = _daqp.solve(H, zero, A, upper, lower, sense, eps_prox=prox)
    return np.asarray(x, dtype=np.float64) if flag >= 1 else None


def _simplex_qp_piqp(H: np.ndarray) -> np.ndarray | None:
    """min ½ xᵀHx on the simplex with piqp's dense interior-point solver; None if it fails."""
    import piqp

    k = H.shape[0]
    solver = piqp.DenseSolver()
    solver.settings.eps_abs = 1e-12
    solver.settings.eps_rel = 1e-12
    solver.setup(
        np.asfortranarray(H), np.zeros(k), np.ones((1, k), order="F"), np.ones(1), None, None, None, np.zeros(k)
    )
    status = solver.solve()
    return np.asarray(solver.result.x, dtype=np.float64) if status == piqp.PIQP_SOLVED else None


def _restricted(block: np.ndarray) -> np.ndarray | None:
    r"""λ (k,) minimising λᵀBλ on the simplex for the working set's Gram block B = G_WW (k, k); None on failure.

    The Hessian handed over is :math:`2(B + 11^\top)`: on the simplex
    :math:`\lambda^\top(B + 11^\top)\lambda = \lambda^\top B\lambda + 1`, so the minimiser is the same, and
    :math:`B + 11^\top = [V_W, 1][V_W, 1]^\top` is positive definite whenever the vectors are affinely
    independent — also when the origin is in their hull, where B itself is singular.
    """
    H = block + block.T + 2.0  # symmetrised: a Gram matrix computed in floating point may be off by rounding
    x = _simplex_qp_daqp(H)
    if x is None:  # singular H (affinely dependent vectors, e.g. more than d + 1 of them): an interior point
        x = _simplex_qp_piqp(H)
    if x is None:
        x = _simplex_qp_daqp(H, prox=-1.0)
    if x is None or not np.all(np.isfinite(x)):
        return None
    x = np.maximum(x, 0.0)
    total = float(x.sum())
    return x / total if total > 0 else None


class _Gram:
    """The working-set method's access to G when G (n, n) is given."""

    def __init__(self, gram: np.ndarray) -> None:
        self.gram = gram
        self.n = gram.shape[0]

    def scores(self) -> np.ndarray:
        return self.gram.sum(axis=1)  # (G 1)_i: n times the first pricing at uniform λ

    def block(self, idx: np.ndarray) -> np.ndarray:
        return self.gram if idx.size == self.n else self.gram[np.ix_(idx, idx)]

    def price(self, idx: np.ndarray, lam_w: np.ndarray) -> np.ndarray:
        return _matvec(self.gram[:, idx], lam_w)  # g = Gλ for λ supported on idx


class _Vectors:
    """The same access computed from the vectors V (n, d), never forming G: O(n d) per pricing, not O(n² d)."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = vectors
        self.n = vectors.shape[0]

    def scores(self) -> np.ndarray:
        return _matvec(self.vectors, self.vectors.sum(axis=0))

    def block(self, idx: np.ndarray) -> np.ndarray:
        return _outer_gram(self.vectors[idx])

    def price(self, idx: np.ndarray, lam_w: np.ndarray) -> np.ndarray:
        return _matvec(self.vectors, _matvec(self.vectors[idx].T, lam_w))  # g = V x with x = Σ_W λ_i v_i


def _active_set(ops: _Gram | _Vectors, tol: float) -> np.ndarray | None:
    """Exact min-norm weights by working-set (column generation) iterations; None if a subproblem fails.

    W starts as the :data:`WORKING_SET` vectors with the smallest (G 1)_i (all vectors for small n). Each round
    solves the QP on W exactly (:func:`_restricted`), prices every vector with g = Gλ, and stops when
    2(λᵀGλ − min g) ≤ ``tol`` (the duality gap: λ is then optimal for all n vectors to ``tol``). Otherwise W
    becomes λ's support plus the :data:`PRICE_BATCH` vectors with the smallest g_i < λᵀGλ; each of those is a
    descent direction, so the objective strictly falls from round to round and W never repeats. G (scaled to
    max_i G_ii = 1) is reached through ``ops``: given, or computed block by block from the vectors.
    """
    n = ops.n
    idx = np.arange(n) if n <= WORKING_SET else np.argpartition(ops.scores(), WORKING_SET)[:WORKING_SET]
    for _ in range(MAX_ROUNDS):
        lam_w = _restricted(ops.block(idx))
        if lam_w is None:
            return None
        if idx.size == n:  # the whole problem: nothing left to price (the caller checks the gap)
            return _embed(lam_w, idx, n)
        g = ops.price(idx, lam_w)
        f = float(lam_w @ g[idx])
        if 2.0 * (f - float(g.min())) <= tol:
            return _embed(lam_w, idx, n)
        violators = np.flatnonzero(g < f - 0.5 * tol)
        if violators.size > PRICE_BATCH:
            violators = violators[np.argpartition(g[violators], PRICE_BATCH)[:PRICE_BATCH]]
        grown = np.union1d(idx[lam_w > 0], violators)
        if np.array_equal(grown, idx):  # every violator already in W: the subproblem answer was inexact
            return _embed(lam_w, idx, n)  # the caller polishes it to the gap
        idx = grown
    return None


def _embed(lam_w: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    lam = np.zeros(n)
    lam[idx] = lam_w
    return lam


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
    """Min-norm weights from a Gram matrix G (n, n) (float64 numpy); see the module docstring.

    ``method``: ``"auto"`` (= ``"active-set"``, closed forms for n ≤ 2), ``"active-set"``, ``"qp"`` (one QP on
    all n through qpsolvers) or ``"frank-wolfe"``. Whatever the method, the returned λ is polished by pairwise
    Frank–Wolfe until the duality gap is at most ``tol`` · max_i G_ii (``result.gap`` reports the certified gap).
    """
    if method not in METHODS:
        raise ValueError(f"unknown min-norm method {method!r}; choose one of {', '.join(METHODS)}")
    if gram.ndim != 2 or gram.shape[0] != gram.shape[1] or gram.shape[0] < 1:
        raise ValueError(f"gram must be a square (n, n) matrix with n >= 1, got shape {gram.shape}")
    n = gram.shape[0]
    if not math.isfinite(float(gram.sum())):  # one reduction; locate the entry only when something is off
        bad = np.argwhere(~np.isfinite(gram))
        if bad.size:
            raise ValueError(f"gram[{bad[0, 0]}, {bad[0, 1]}] is not finite")
    scale = float(gram.diagonal().max())
    if n == 1 or scale <= 0.0:  # one vector, or all vectors zero: any λ is optimal
        lam = np.full(n, 1.0 / n)
        return MinNormResult(lam, float(lam @ gram @ lam), 0.0, "closed-form")
    G = gram * (1.0 / scale)  # λ is invariant to scaling; this conditions the QP
    weights: np.ndarray | None = None
    used: str = method
    if n == 2 and method != "frank-wolfe":
        weights, used = _two(G), "closed-form"
    elif method in ("auto", "active-set"):
        weights, used = _active_set(_Gram(G), tol), "active-set"
    if weights is None and method != "frank-wolfe":
        weights, used = _qp(G), "qp"
        if weights is None and method == "qp":
            raise RuntimeError("no QP backend (piqp, daqp) solved the min-norm problem")
    lam = np.full(n, 1.0 / n) if weights is None else weights
    if weights is None:
        used = "frank-wolfe"
    g = _matvec(G, lam)
    f = float(lam @ g)
    if 2.0 * (f - float(g.min())) > tol:  # polish (or solve) to the stated gap
        lam = _pairwise_frank_wolfe(G, lam, tol, max_iter=100_000 + 100 * n)
        used = used if used == "frank-wolfe" else used + "+frank-wolfe"
        g = _matvec(G, lam)
        f = float(lam @ g)
    return MinNormResult(lam, f * scale, max(2.0 * (f - float(g.min())), 0.0) * scale, used)


def solve_vectors(vectors: np.ndarray, *, method: Method = "auto", tol: float = DEFAULT_TOL) -> MinNormResult:
    """Min-norm weights from the vectors V (n, d) (float64 numpy), as :func:`solve_gram` on G = V Vᵀ.

    For n above :data:`WORKING_SET` and the active-set method, G is never formed: the working-set blocks and the
    pricing g = V (Vᵀλ) are computed from V, O(rounds · n d) instead of O(n² d) — at n = 2000, d = 610 forming G
    alone costs more than the whole solve. The result is certified on V the same way (gap from g = V x, x = Vᵀλ).
    Anything else (small n, other methods, a failed subproblem, a gap to polish) goes through :func:`solve_gram`.
    """
    n = vectors.shape[0]
    if n <= WORKING_SET or method not in ("auto", "active-set"):
        return solve_gram(_outer_gram(vectors), method=method, tol=tol)
    scale = float(np.einsum("ij,ij->i", vectors, vectors).max())
    if scale <= 0.0:
        return solve_gram(np.zeros((n, n)), method=method, tol=tol)
    V = vectors * (1.0 / math.sqrt(scale))
    lam = _active_set(_Vectors(V), tol)
    if lam is not None:
        x = _matvec(V.T, lam)
        g = _matvec(V, x)
        f = float(x @ x)
        gap = 2.0 * (f - float(g.min()))
        if gap <= tol:
            return MinNormResult(lam, f * scale, max(gap, 0.0) * scale, "active-set")
    return solve_gram(_outer_gram(vectors), method=method, tol=tol)


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
        method: ``"auto"`` (closed form for n ≤ 2, exact active set otherwise), ``"active-set"``, ``"qp"``, or
            ``"frank-wolfe"`` (see :func:`solve_gram`).
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
        if method not in METHODS:
            raise ValueError(f"unknown min-norm method {method!r}; choose one of {', '.join(METHODS)}")
        return like(solve_vectors(V, method=method, tol=tol).weights, vectors)
    return like(solve_gram(to_numpy64(gram, "gram"), method=method, tol=tol).weights, gram)
