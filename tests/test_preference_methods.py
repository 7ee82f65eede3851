"""EPO, PMTL, STCH-Set and MOO-SVGD: behaviour on small problems with known answers, and their building blocks
against independent oracles (scipy's LP, torch autograd)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

import most
from most.methods import available, create
from most.methods.epo import _segment_lp, epo_weights, non_uniformity, preference_rays
from most.methods.pmtl import pmtl_vectors
from most.methods.stch import stch_set
from most.methods.svgd import rbf_kernel


@pytest.fixture(autouse=True)
def one_thread() -> object:
    """Tiny problems: one torch thread avoids thread hand-off costs (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TARGETS_2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def two_quadratics(theta: torch.Tensor) -> torch.Tensor:
    """L_i(θ) = ½‖θ − a_i‖², a_1 = (1, 0), a_2 = (0, 1): Pareto set = the segment [a_1, a_2], front convex."""
    return 0.5 * ((theta[None, :] - TARGETS_2) ** 2).sum(dim=1)


def start(m: int, d: int = 2, seed: int = 0, scale: float = 0.3, centre: float = -1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return centre + scale * torch.randn(m, d, generator=g, dtype=torch.float64)


def test_registered_with_keyword_only_configs() -> None:
    for name in ("epo", "pmtl", "stch-set", "svgd"):
        assert name in available()
        method = create(name)
        with pytest.raises(TypeError):
            type(method.config)(0.1)  # keyword-only: a positional option is an error
    with pytest.raises(ValueError, match="mu must be positive"):
        create("stch-set", mu=0.0)
    with pytest.raises(ValueError, match="repulsion"):
        create("svgd", repulsion=-1.0)
    with pytest.raises(ValueError, match="no option"):
        create("epo", tau=0.1)


# ---------------------------------------------------------------------------------------------------------------- EPO


def test_preference_rays_even_and_random() -> None:
    rng = np.random.default_rng(0)
    rays = preference_rays(2, 5, rng, spread="even", margin=0.1)
    assert rays.shape == (2, 5)
    # unit norm, positive, evenly spaced angles (1e-12: float64 round-off of cos/sin/arctan)
    assert np.allclose(np.linalg.norm(rays, axis=0), 1.0, atol=1e-12)
    angles = np.arctan2(rays[1], rays[0])
    assert np.allclose(np.diff(angles), np.diff(angles)[0], atol=1e-12)
    assert angles[0] == pytest.approx(0.1, abs=1e-12) and angles[-1] == pytest.approx(math.pi / 2 - 0.1, abs=1e-12)
    rand = preference_rays(3, 4, rng, spread="even")  # n > 2: Dirichlet fallback
    assert rand.shape == (3, 4) and np.all(rand >= 0)
    with pytest.raises(ValueError, match="shape"):
        preference_rays(2, 3, rng, explicit=((1.0, 0.0), (0.0, 1.0)))


def test_segment_lp_matches_scipy() -> None:
    """The n = 2 closed form against HiGHS on random LPs (objective values equal to 1e-8: HiGHS's tolerance)."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        A = rng.normal(size=(int(rng.integers(0, 3)), 2))
        rhs = 0.5 * rng.normal(size=A.shape[0])
        c = rng.normal(size=2)
        ours = _segment_lp(c, A, rhs)
        ref = linprog(
            -c,
            A_ub=-A if A.size else None,
            b_ub=-rhs if A.size else None,
            A_eq=np.ones((1, 2)),
            b_eq=[1.0],
            bounds=(0, None),
            method="highs",
        )
        assert (ours is None) == (ref.status != 0)
        if ours is not None:
            assert c @ ours == pytest.approx(c @ ref.x, abs=1e-8)


def test_epo_lp_constraints_hold() -> None:
    """Balance mode: the most over-weighted loss does not rise, (Cβ)_{j*} ≥ 0; descent mode: Cβ ≥ 0 (all fall).
    n = 3 exercises the HiGHS path. Tolerance 1e-9: LP feasibility tolerance."""
    rng = np.random.default_rng(2)
    for _ in range(50):
        G = rng.normal(size=(3, 6))
        C = G @ G.T
        losses = rng.uniform(0.1, 2.0, size=3)
        ray = rng.uniform(0.2, 1.0, size=3)
        beta, mode = epo_weights(C, losses, ray)
        assert beta.sum() == pytest.approx(1.0, abs=1e-9) and np.all(beta >= -1e-12)
        worst = int(np.argmax(ray * losses))
        assert mode in ("balance", "relaxed", "min-norm")
        assert (C @ beta)[worst] >= -1e-9
    on_ray = np.array([2.0, 1.0, 0.5])
    ray = 1.0 / on_ray  # r ⊙ l uniform: μ = 0
    mu, _ = non_uniformity(on_ray, ray)
    assert mu == pytest.approx(0.0, abs=1e-12)
    G = rng.normal(size=(3, 6))
    beta, mode = epo_weights(G @ G.T, on_ray, ray)
    assert mode == "descent"
    assert np.all(G @ G.T @ beta >= -1e-9)


def test_epo_reaches_its_preference_ray() -> None:
    """Two convex quadratics: each EPO solution converges to the Pareto point with r_1 l_1 = r_2 l_2 (its ray)."""
    res = most.fit(two_quadratics, start(3), method="epo", steps=200, lr=0.2, seed=0, epsilon=1e-6)
    L = res.losses.numpy()  # (2, 3)
    rays = preference_rays(2, 3, np.random.default_rng(0), spread="even", margin=0.1)
    rl = rays * L
    # on its ray: r_1 l_1 = r_2 l_2 within 1 %: EPO stops balancing once μ ≤ ε, i.e. |u_i − ½| ≲ √(2ε) = 0.14 %,
    # and a descent step of size η may drift a little further
    assert np.allclose(rl[0], rl[1], rtol=1e-2)
    # Pareto optimal: on the segment θ_1 + θ_2 = 1, θ ≥ 0 (1e-3: distance left after 200 steps)
    X = res.solutions.numpy()
    assert np.allclose(X.sum(axis=1), 1.0, atol=1e-3) and np.all(X > -1e-3)
    # different rays, different trade-offs: strictly ordered first losses
    assert np.all(np.diff(L[0]) > 0.05)


# ---------------------------------------------------------------------------------------------------------------- PMTL


def test_pmtl_vectors_initial_phase_uses_violated_constraints_only() -> None:
    rays = preference_rays(2, 3, np.random.default_rng(0), spread="even", margin=0.0)  # axes and 45°
    losses = np.array([1.0, 0.0])  # on the first axis: closest to u_0, violates solution 2's region
    coef, idx = pmtl_vectors(losses, rays, 2, epsilon=0.0, initial=True)
    assert list(idx) == [0, 1]  # both other rays are closer in angle than u_2 = (0, 1)
    assert np.allclose(coef, (rays[:, [0, 1]] - rays[:, [2]]).T)
    coef_main, _ = pmtl_vectors(losses, rays, 0, epsilon=0.0, initial=False)
    assert np.allclose(coef_main[:2], np.eye(2))  # main phase: the loss gradients first


def test_pmtl_solutions_end_in_their_regions() -> None:
    """Each PMTL solution ends Pareto optimal, in its own angular sub-region (closest ray = its own)."""
    res = most.fit(two_quadratics, start(3), method="pmtl", steps=400, lr=0.1, seed=0, warmup_steps=100)
    L = res.losses.numpy()
    rays = preference_rays(2, 3, np.random.default_rng(0), spread="even", margin=0.0)
    unit = L / np.linalg.norm(L, axis=0, keepdims=True)
    assert list(np.argmax(rays.T @ unit, axis=0)) == [0, 1, 2]
    X = res.solutions.numpy()
    assert np.allclose(X.sum(axis=1), 1.0, atol=1e-3)  # on the Pareto segment (1e-3: residual after 400 steps)


# ------------------------------------------------------------------------------------------------------------- STCH-Set


def _stch_torch(L: torch.Tensor, mu: float, ideal: torch.Tensor, pref: torch.Tensor) -> torch.Tensor:
    """Independent STCH-Set value by the formula (torch logsumexp)."""
    s = -mu * torch.logsumexp(-(L - ideal[:, None]) / mu, dim=1)
    return mu * torch.logsumexp(pref * s / mu, dim=0)


def test_stch_set_value_and_weights_match_autograd() -> None:
    rng = np.random.default_rng(3)
    for mu in (0.05, 0.3, 2.0):
        L = rng.uniform(0.0, 3.0, size=(4, 3))
        ideal = np.array([0.0, -0.1, 0.2, 0.0])
        pref = np.array([1.0, 0.5, 2.0, 1.0])
        value, W = stch_set(L, mu=mu, ideal=ideal, preference=pref)
        Lt = torch.tensor(L, requires_grad=True)
        ref = _stch_torch(Lt, mu, torch.tensor(ideal), torch.tensor(pref))
        ref.backward()
        assert Lt.grad is not None
        # 1e-10: both are float64 evaluations of the same formula
        assert value == pytest.approx(float(ref.detach()), abs=1e-10)
        assert np.allclose(W, Lt.grad.numpy(), atol=1e-10)


def test_stch_set_covers_different_objectives() -> None:
    """4 far-apart quadratic objectives, m = 4: every objective ends served by its own solution."""
    targets = 3.0 * torch.eye(4, dtype=torch.float64)

    def f(theta: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((theta[None, :] - targets) ** 2).sum(dim=1)

    init = 0.1 * torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = most.fit(f, init, method="stch-set", steps=1500, lr=0.1, seed=0, mu=0.1)
    L = res.losses.numpy()
    assert sorted(np.argmin(L, axis=1).tolist()) == [0, 1, 2, 3]  # a permutation: different objectives
    assert float(L.min(axis=1).max()) < 0.05  # each objective's best solution is close to its target


# ---------------------------------------------------------------------------------------------------------------- SVGD


def test_svgd_without_repulsion_and_narrow_kernel_is_mgda() -> None:
    """Reduction: repulsion 0 and a kernel narrower than any distance (K = I) give each particle its MGDA step."""
    init = start(4, seed=1, scale=1.0)
    # SVGD averages over the m = 4 particles: its step with 4η equals MGDA's with η
    a = most.fit(two_quadratics, init, method="svgd", steps=1, lr=0.4, seed=0, repulsion=0.0, bandwidth=1e-12)
    b = most.fit(two_quadratics, init, method="mgda", steps=1, lr=0.1, seed=0)
    assert torch.allclose(a.solutions, b.solutions, atol=1e-12)  # float64 round-off only


def test_svgd_keeps_solutions_apart() -> None:
    """From nearly identical starts MGDA keeps the particles together; MOO-SVGD's repulsion spreads them along
    the front (objective-space kernel)."""
    init = start(4, seed=2, scale=1e-3, centre=-0.5)

    def spread(res: most.Result) -> float:
        F = res.losses.numpy().T
        d = np.linalg.norm(F[:, None] - F[None, :], axis=2)
        return float(d[np.triu_indices(4, 1)].min())

    mgda = most.fit(two_quadratics, init, method="mgda", steps=300, lr=0.1, seed=0)
    svgd = most.fit(two_quadratics, init, method="svgd", steps=300, lr=0.1, seed=0, repulsion=1.0)
    assert spread(svgd) > 10 * spread(mgda)
    assert spread(svgd) > 0.02


def test_rbf_kernel_median_heuristic() -> None:
    z = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    K, h = rbf_kernel(z)
    sq = torch.tensor([1.0, 9.0, 4.0])
    assert h == pytest.approx(float(sq.median()) / math.log(3))
    assert torch.allclose(torch.diag(K), torch.ones(3, dtype=torch.float64))
    assert float(K[0, 1]) == pytest.approx(math.exp(-1.0 / h))
