"""The MGDA min-norm solver against independent oracles.

Oracles: (1) for n <= 8, enumeration of every support S with the KKT system of the equality-constrained problem on S
solved by least squares — the optimum has an affinely independent support (Carathéodory), on which that system is
non-singular and its solution non-negative, and every feasible candidate is an upper bound, so the minimum over
feasible candidates is the exact optimum; (2) the full QP through qpsolvers (piqp), a different code path; (3) a
third qpsolvers backend when one is installed (clarabel, osqp, quadprog, ...).

Objectives are compared, not weights: λ is not unique when the vectors are affinely dependent. Tolerances are relative
to max_i ‖v_i‖² (the scale of f = ‖Σ λ_i v_i‖², which is at most that).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from most.mgda import duality_gap, min_norm, solve_gram
from most.solvers import min_norm as mn

# The solver certifies f(λ) − f* ≤ DEFAULT_TOL · max‖v‖² = 1e-10 · scale; the oracles carry float64 rounding of
# order 1e-15 · scale on top. 1e-9 leaves 10x headroom over the certificate and is still a tight check.
OBJ_TOL = 1e-9


def kkt_oracle(G: np.ndarray) -> float:
    """min λᵀGλ on the simplex by enumerating supports (n <= 8): the exact optimal value."""
    n = G.shape[0]
    best = np.inf
    for size in range(1, n + 1):
        for S in itertools.combinations(range(n), size):
            idx = list(S)
            K = np.zeros((size + 1, size + 1))
            K[:size, :size] = G[np.ix_(idx, idx)]
            K[:size, size] = 1.0
            K[size, :size] = 1.0
            rhs = np.zeros(size + 1)
            rhs[size] = 1.0
            sol = np.linalg.lstsq(K, rhs, rcond=None)[0]
            lam_s = sol[:size]
            if lam_s.min() < -1e-12 or abs(lam_s.sum() - 1.0) > 1e-9:
                continue  # infeasible (or the system was inconsistent): not a candidate
            lam = np.zeros(n)
            lam[idx] = np.clip(lam_s, 0.0, None) / np.clip(lam_s, 0.0, None).sum()
            best = min(best, float(lam @ G @ lam))
    return best


def objective(G: np.ndarray, lam: np.ndarray) -> float:
    return float(lam @ G @ lam)


def assert_on_simplex(lam: np.ndarray) -> None:
    assert lam.min() >= 0.0  # clipped by construction: exactly non-negative
    assert abs(lam.sum() - 1.0) <= 1e-12  # renormalised: 1 up to float64 rounding of an n-term sum


def check_against_oracle(V: np.ndarray) -> None:
    G = V @ V.T
    scale = max(float(np.max(np.diag(G))), 1e-300)
    lam = np.asarray(min_norm(V))
    assert_on_simplex(lam)
    f_star = kkt_oracle(G)
    assert abs(objective(G, lam) - f_star) <= OBJ_TOL * scale


# ---------------------------------------------------------------------------------------------------------------
# the exact oracle on chosen and random instances


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("d", [2, 5, 40])
def test_matches_kkt_enumeration_random(n: int, d: int) -> None:
    rng = np.random.default_rng(100 * n + d)
    check_against_oracle(rng.standard_normal((n, d)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 7),
    d=st.integers(1, 12),
    shift=st.floats(0.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_matches_kkt_enumeration_hypothesis(n: int, d: int, shift: float, seed: int) -> None:
    """Random vectors around a shared direction (shift 0: origin often in the hull; large: one face active)."""
    rng = np.random.default_rng(seed)
    V = shift * rng.standard_normal(d) + rng.standard_normal((n, d))
    check_against_oracle(V)


def test_nearly_collinear() -> None:
    rng = np.random.default_rng(1)
    base = rng.standard_normal(30)
    check_against_oracle(base + 1e-6 * rng.standard_normal((6, 30)))


def test_origin_in_hull_gives_zero_norm() -> None:
    rng = np.random.default_rng(2)
    V = rng.standard_normal((8, 3))  # 8 Gaussian points in 3-D: the hull contains 0 here (checked by the oracle)
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    assert kkt_oracle(G) <= 1e-12 * scale  # the oracle agrees that 0 is in the hull (exact 0 up to rounding)
    lam = np.asarray(min_norm(V))
    assert_on_simplex(lam)
    assert objective(G, lam) <= OBJ_TOL * scale


def test_opposite_pair_gives_midpoint() -> None:
    v = np.array([[1.0, 2.0], [-1.0, -2.0]])
    lam = np.asarray(min_norm(v))
    assert np.max(np.abs(lam - 0.5)) <= 1e-15  # closed form (G22 − G12)/(G11 + G22 − 2G12) = 10/20 exactly


def test_n_equals_one() -> None:
    lam = np.asarray(min_norm(np.array([[3.0, -4.0]])))
    assert lam.shape == (1,)
    assert lam[0] == 1.0  # the only point of the simplex


@pytest.mark.parametrize("seed", range(5))
def test_n_equals_two_closed_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((2, 4)) + (seed % 2) * 2.0
    G = V @ V.T
    lam = np.asarray(min_norm(V))
    t = np.clip((G[1, 1] - G[0, 1]) / (G[0, 0] + G[1, 1] - 2 * G[0, 1]), 0.0, 1.0)
    assert np.max(np.abs(lam - [t, 1 - t])) <= 1e-12  # same formula; only rounding in the 1/scale rescaling
    assert abs(objective(G, lam) - kkt_oracle(G)) <= OBJ_TOL * np.max(np.diag(G))


def test_duplicated_vectors() -> None:
    rng = np.random.default_rng(3)
    V = rng.standard_normal((4, 6)) + 1.0
    check_against_oracle(np.vstack([V, V[:3]]))  # affinely dependent: singular working-set Hessians


def test_zero_vector_gives_zero_norm() -> None:
    rng = np.random.default_rng(4)
    V = rng.standard_normal((5, 3)) + 2.0
    V[2] = 0.0
    lam = np.asarray(min_norm(V))
    G = V @ V.T
    assert_on_simplex(lam)
    assert objective(G, lam) <= OBJ_TOL * np.max(np.diag(G))  # the zero vector alone is optimal, f* = 0


def test_all_zero_vectors() -> None:
    lam = np.asarray(min_norm(np.zeros((4, 3))))
    assert np.array_equal(lam, np.full(4, 0.25))  # every λ is optimal; the documented choice is uniform


# ---------------------------------------------------------------------------------------------------------------
# input forms and methods


def correlated(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(d) + rng.standard_normal((n, d))


@pytest.mark.parametrize("n", [12, 120])
def test_gram_input_equals_vectors_input(n: int) -> None:
    V = correlated(n, 50, 5)
    G = V @ V.T
    lam_v, lam_g = np.asarray(min_norm(V)), np.asarray(min_norm(gram=G))
    # The two paths form G differently (einsum / blocks vs this BLAS product): G agrees to ~1e-16 relative. For
    # generic vectors the optimum is unique and its KKT system well conditioned, so λ agrees to ~1e-12; 1e-8
    # leaves ample room while still catching a different answer.
    assert np.max(np.abs(lam_v - lam_g)) <= 1e-8
    assert abs(objective(G, lam_v) - objective(G, lam_g)) <= OBJ_TOL * float(np.max(np.diag(G)))


@pytest.mark.parametrize("n", [3, 8, 30])
def test_frank_wolfe_reaches_the_same_objective(n: int) -> None:
    V = correlated(n, 20, n)
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    exact = objective(G, np.asarray(min_norm(V)))
    fw = np.asarray(min_norm(V, method="frank-wolfe"))
    assert_on_simplex(fw)
    assert abs(objective(G, fw) - exact) <= OBJ_TOL * scale  # both certified to a 1e-10 · scale gap
    if n <= 8:
        assert abs(objective(G, fw) - kkt_oracle(G)) <= OBJ_TOL * scale


@pytest.mark.parametrize("method", ["auto", "active-set", "qp", "frank-wolfe"])
def test_every_method_certifies_its_gap(method: str) -> None:
    V = correlated(40, 30, 6)
    G = V @ V.T
    res = solve_gram(G, method=method)  # type: ignore[arg-type]
    scale = float(np.max(np.diag(G)))
    assert res.gap <= mn.DEFAULT_TOL * scale * (1 + 1e-9)  # the stated stop (relative slack: the rescaling)
    # The certificate is recomputed here from G alone: 2(λᵀGλ − min(Gλ)) bounds f(λ) − f* (weak duality).
    assert duality_gap(G, res.weights) <= mn.DEFAULT_TOL * scale * (1 + 1e-6)
    assert abs(res.value - objective(G, res.weights)) <= 1e-12 * scale  # value is f(λ), up to rounding


@pytest.mark.parametrize("n", [50, 200])
def test_active_set_matches_full_qp(n: int) -> None:
    """The working-set method against one QP on all n vectors (qpsolvers + piqp: another code path)."""
    V = correlated(n, 610, n)
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    ours = solve_gram(G, method="active-set")
    full = solve_gram(G, method="qp")
    assert ours.method == "active-set"  # no Frank–Wolfe polish needed: the working-set answer was exact
    assert abs(ours.value - full.value) <= OBJ_TOL * scale


@pytest.mark.parametrize(("n", "d", "shift"), [(100, 610, 1.0), (600, 20, 1.0), (300, 10, 0.0)])
def test_vectors_path_matches_the_gram_path(n: int, d: int, shift: float) -> None:
    """Above the first working set, min_norm(vectors) never forms G; same optimum as solve_gram(V Vᵀ)."""
    rng = np.random.default_rng(n + d)
    V = shift * rng.standard_normal(d) + rng.standard_normal((n, d))  # shift 0, n >> d: origin in the hull
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    res = mn.solve_vectors(V)
    assert res.method == "active-set"  # the G-free path answered (no fallback)
    assert_on_simplex(res.weights)
    assert abs(res.value - objective(G, res.weights)) <= 1e-12 * scale  # value = f(λ) up to rounding
    assert abs(res.value - solve_gram(G).value) <= OBJ_TOL * scale
    assert duality_gap(G, res.weights) <= mn.DEFAULT_TOL * scale * (1 + 1e-6)  # certificate recomputed from G


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(49, 150),
    d=st.integers(2, 80),
    shift=st.floats(0.0, 2.0),
    duplicates=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_working_set_paths_hypothesis(n: int, d: int, shift: float, duplicates: bool, seed: int) -> None:
    """Sizes past the first working set, n below and above d, with duplicated rows: both paths vs the full QP."""
    rng = np.random.default_rng(seed)
    V = shift * rng.standard_normal(d) + rng.standard_normal((n, d))
    if duplicates:
        V[n // 2 :] = V[: n - n // 2]
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    full = solve_gram(G, method="qp").value
    for res in (mn.solve_vectors(V), solve_gram(G)):
        assert_on_simplex(res.weights)
        assert abs(res.value - full) <= OBJ_TOL * scale
        assert duality_gap(G, res.weights) <= mn.DEFAULT_TOL * scale * (1 + 1e-6)


THIRD_BACKENDS = ("clarabel", "proxqp", "osqp", "quadprog", "cvxopt", "ecos", "scs", "highs", "gurobi", "mosek")


@pytest.mark.parametrize("n", [10, 60, 200])
def test_matches_a_third_qpsolvers_backend(n: int) -> None:
    import qpsolvers

    backend = next((b for b in THIRD_BACKENDS if b in qpsolvers.available_solvers), None)
    # the dev extras install clarabel: an absent third backend is a broken install, not a reason to skip
    assert backend is not None, "no qpsolvers backend besides piqp/daqp installed (pip install clarabel)"
    V = correlated(n, 610, 10 + n)
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    Gs = G / scale
    P = Gs + Gs.T + (1e-12 * np.eye(n) if backend == "quadprog" else 0.0)  # quadprog needs strictly PD
    A = np.ones((1, n))
    if backend in ("clarabel", "osqp", "scs", "ecos", "highs"):  # sparse-only backends: hand them CSC
        P, A = scipy.sparse.csc_matrix(P), scipy.sparse.csc_matrix(A)
    x = qpsolvers.solve_qp(P, np.zeros(n), A=A, b=np.ones(1), lb=np.zeros(n), solver=backend)
    assert x is not None
    x = np.clip(x, 0.0, None) / np.clip(x, 0.0, None).sum()
    ours = np.asarray(min_norm(V))
    # Interior-point backends stop at ~1e-8 relative accuracy by default, so they can only be *worse* than the
    # certified optimum by that much; ours must never be worse than theirs beyond our own 1e-10 certificate.
    assert objective(G, ours) <= objective(G, x) + OBJ_TOL * scale
    assert objective(G, x) - objective(G, ours) <= 1e-6 * scale


def test_without_daqp_the_subproblems_go_to_piqp(monkeypatch: pytest.MonkeyPatch) -> None:
    V = correlated(120, 40, 9)
    G = V @ V.T
    scale = float(np.max(np.diag(G)))
    with_daqp = solve_gram(G)
    monkeypatch.setattr(mn, "_daqp", None)
    without = solve_gram(G)
    assert without.method.startswith("active-set")
    assert abs(without.value - with_daqp.value) <= OBJ_TOL * scale  # both certified to 1e-10 · scale


def test_a_failing_subproblem_falls_back_to_the_full_qp(monkeypatch: pytest.MonkeyPatch) -> None:
    V = correlated(30, 20, 10)
    G = V @ V.T
    exact = solve_gram(G)
    monkeypatch.setattr(mn, "_restricted", lambda block: None)
    res = solve_gram(G)
    assert res.method.startswith("qp")
    assert abs(res.value - exact.value) <= OBJ_TOL * float(np.max(np.diag(G)))


def test_frank_wolfe_polishes_an_inexact_start(monkeypatch: pytest.MonkeyPatch) -> None:
    V = correlated(20, 15, 11)
    G = V @ V.T
    exact = solve_gram(G)
    monkeypatch.setattr(mn, "_active_set", lambda ops, tol: np.full(ops.n, 1.0 / ops.n))
    res = solve_gram(G)
    assert res.method == "active-set+frank-wolfe"
    assert abs(res.value - exact.value) <= OBJ_TOL * float(np.max(np.diag(G)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_in_torch_out(dtype: torch.dtype) -> None:
    V = torch.as_tensor(correlated(6, 10, 7), dtype=dtype)
    lam = min_norm(V)
    assert isinstance(lam, torch.Tensor) and lam.dtype == dtype and lam.shape == (6,)
    ref = np.asarray(min_norm(V.double().numpy()))
    # float32 input is promoted to float64 inside; only the float32 input rounding (~1e-7 relative) differs.
    assert np.max(np.abs(lam.double().numpy() - ref)) <= (1e-4 if dtype == torch.float32 else 1e-12)
    lam_g = min_norm(gram=V @ V.T)
    assert isinstance(lam_g, torch.Tensor) and lam_g.dtype == dtype


def test_numpy_in_numpy_out() -> None:
    lam = min_norm(correlated(5, 8, 8))
    assert isinstance(lam, np.ndarray) and lam.dtype == np.float64


# ---------------------------------------------------------------------------------------------------------------
# bad input


def test_bad_input_messages() -> None:
    with pytest.raises(ValueError, match="exactly one of vectors"):
        min_norm()
    with pytest.raises(ValueError, match="exactly one of vectors"):
        min_norm(np.ones((2, 2)), gram=np.eye(2))
    with pytest.raises(ValueError, match=r"2-D \(n, d\), got shape \(3,\)"):
        min_norm(np.ones(3))
    bad = np.ones((3, 2))
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="vectors row 1 is not finite"):
        min_norm(bad)
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix with n >= 1, got shape \(2, 3\)"):
        min_norm(gram=np.ones((2, 3)))
    g = np.eye(3)
    g[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"gram\[2, 1\] is not finite"):
        min_norm(gram=g)
    with pytest.raises(ValueError, match="unknown min-norm method 'newton'"):
        min_norm(np.ones((3, 2)), method="newton")  # type: ignore[arg-type]
