"""ZDT1/2/3 as torch objectives: values against pymoo, gradients against finite differences, the true fronts
against pymoo's and the hypervolumes ENVIRONMENT.md lists, feasibility errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymoo.problems.multi.zdt import ZDT1, ZDT2, ZDT3

import most
from most.data import zdt
from most.engine.problems import VectorProblem
from most.experiments.few_objective import _fit, make_method
from most.metrics.hypervolume import hypervolume

PYMOO = {"zdt1": ZDT1, "zdt2": ZDT2, "zdt3": ZDT3}
NAMES = ("zdt1", "zdt2", "zdt3")


def pymoo_values(name: str, X: np.ndarray) -> np.ndarray:
    out: dict[str, np.ndarray] = {}
    PYMOO[name](n_var=X.shape[1])._evaluate(X, out)
    return np.asarray(out["F"])


@pytest.mark.parametrize("name", NAMES)
def test_values_match_pymoo(name: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(64, 30))
    X[:4, 1:] = 0.0  # on the Pareto set (g = 1)
    X[4:8, 0] = 1.0
    ours = zdt.evaluate(name, X)
    # 1e-12: same float64 formula; f_1/g ≥ SQRT_EPS at these points, so the √ clamp is inactive
    assert np.allclose(ours, pymoo_values(name, X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_value_at_f1_zero_within_clamp_error(name: str) -> None:
    X = np.random.default_rng(1).uniform(size=(8, 30))
    X[:, 0] = 0.0
    # the √ clamp changes f_2 by at most g·√1e-12 ≤ 10 · 1e-6
    assert np.allclose(zdt.evaluate(name, X), pymoo_values(name, X), atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_finite_differences(name: str) -> None:
    f = zdt.problem(name).objectives
    rng = np.random.default_rng(2)
    X = torch.as_tensor(rng.uniform(0.05, 0.95, size=(6, 30)))
    C, J = VectorProblem(f, 2, 30).evaluate(X, grad=True)  # vmap(jacrev): (m, 2, 30)
    assert J is not None
    h = 1e-6
    eye = torch.eye(30, dtype=torch.float64)
    for j in range(X.shape[0]):
        fd = torch.stack([(f(X[j] + h * eye[k]) - f(X[j] - h * eye[k])) / (2 * h) for k in range(30)], dim=1)
        # central differences: O(h²) truncation (|f'''| ≲ 10^3 for ZDT3's sin term) + O(ε/h) round-off ≈ 1e-9
        assert torch.allclose(J[j], fd, atol=1e-6, rtol=1e-6)
    assert torch.allclose(C.T, torch.stack([f(x) for x in X]), atol=0.0)  # vmap equals the loop exactly


@pytest.mark.parametrize("name", NAMES)
def test_jacobian_finite_at_the_box_edge(name: str) -> None:
    X = torch.zeros(3, 30, dtype=torch.float64)
    X[1] = 1.0
    X[2, 0] = 1e-14  # inside the clamp region of √(f_1/g)
    _, J = VectorProblem(zdt.problem(name).objectives, 2, 30).evaluate(X, grad=True)
    assert J is not None and bool(torch.isfinite(J).all())


@pytest.mark.parametrize("name", NAMES)
def test_true_front_matches_pymoo_and_known_hypervolume(name: str) -> None:
    ours = zdt.pareto_front(name, 2000)
    theirs = PYMOO[name]().pareto_front(**({"n_points": 2000} if name == "zdt3" else {"n_pareto_points": 2000}))
    # every pymoo front point lies on ours (2e-3: spacing of our sampling along the curve)
    dist = np.min(np.linalg.norm(theirs[:, None, :] - ours[None, :, :], axis=2), axis=1)
    assert float(dist.max()) < 2e-3
    assert np.all(zdt.nondominated(ours))
    expected = {"zdt1": 0.87141, "zdt2": 0.5383, "zdt3": 1.32914}[name]  # ENVIRONMENT.md, ref (1.1, 1.1)
    # ENVIRONMENT.md's values are for pymoo's default 100-point fronts; 1e-4: ZDT3's 100 points are placed
    # differently from pymoo's (the five pieces sampled along the curve, not per piece)
    assert hypervolume(zdt.pareto_front(name, 100), (1.1, 1.1)) == pytest.approx(expected, abs=1e-4)
    # a denser front only adds volume (the staircase fills in towards the continuous front)
    assert hypervolume(ours, (1.1, 1.1)) > expected


def test_reference_points_are_the_papers() -> None:
    assert zdt.problem("zdt1").reference == (0.99022638, 6.39358545)
    assert zdt.problem("ZDT-2").reference == (0.99022638, 7.71577261)
    assert zdt.problem("zdt3").reference == (0.99022638, 6.54635266)
    with pytest.raises(ValueError, match="available: zdt1, zdt2, zdt3"):
        zdt.problem("zdt4")


def test_infeasible_and_nan_solutions_are_named() -> None:
    X = np.full((3, 30), 0.5)
    X[2, 7] = 1.5
    with pytest.raises(ValueError, match=r"zdt1: solution 2 is infeasible.*x\[7\] = 1\.5"):
        zdt.evaluate("zdt1", X)
    X[2, 7] = np.nan
    with pytest.raises(ValueError, match="zdt2: solution 2 has non-finite"):
        zdt.evaluate("zdt2", X)
    with pytest.raises(ValueError, match=r"zdt3 \(mgda\): solution 1 is infeasible at step 4"):
        zdt.check_feasible("zdt3 (mgda)", torch.tensor([[0.5] * 30, [-0.1] + [0.5] * 29]), step=4)


def test_nan_objective_names_problem_solution_and_step() -> None:
    """A NaN from the objectives during training is reported with the problem, the solution and the step."""

    def broken(x: torch.Tensor) -> torch.Tensor:
        F = zdt.zdt1(x)
        return torch.where(x[0] > 0.9, F * torch.nan, F)

    init = torch.full((2, 30), 0.5, dtype=torch.float64)
    init[1, 0] = 0.95
    with pytest.raises(ValueError, match=r"zdt1 \(mgda\): objective 0 is nan at solution 1 \(step 0\)"):
        _fit("zdt1", broken, init, make_method("mgda", {}), steps=3, lr=0.01, bounds=zdt.BOUNDS)


def test_solutions_stay_in_the_box() -> None:
    init = zdt.initial_solutions(3, seed=0)
    res = most.fit(zdt.zdt1, init, method="linearization", steps=30, lr=0.5, seed=0, bounds=zdt.BOUNDS)
    assert float(res.solutions.min()) >= 0.0 and float(res.solutions.max()) <= 1.0
