"""End-to-end behaviour of most.fit: reductions, the clustered problem, records, errors, resume."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import most
from most.engine.problems import ModuleProblem
from tests.problems import small_clustered, two_quadratics


def test_most_with_one_solution_is_mgda() -> None:
    # With m = 1 every objective's row of Γ is α; uniform α (no curriculum) makes every weight equal, so the
    # min-norm problem and the step are MGDA's exactly (the diversity term is constant when m = 1).
    problem, init = small_clustered()
    a = most.fit(problem, init[:1], method="most", steps=25, lr=0.3, curriculum=False, tau=0.5)
    b = most.fit(problem, init[:1], method="mgda", steps=25, lr=0.3)
    # 1e-9: both paths solve the same min-norm QP to a 1e-10 duality gap; the trajectories differ by solver noise
    assert torch.allclose(a.solutions, b.solutions, atol=1e-9, rtol=0)


def test_linearization_with_one_hot_weight_is_gradient_descent() -> None:
    problem, init = small_clustered()
    k = 7
    prefs = tuple(tuple(1.0 if i == k else 0.0 for _ in range(2)) for i in range(problem.n))
    res = most.fit(problem, init[:2], method="linearization", steps=30, lr=0.2, preferences=prefs)
    theta = init[:2].clone()
    for _ in range(30):
        theta = theta - 0.2 * (theta - problem.targets[k])  # ∇ ‖θ − t_k‖²/2 = θ − t_k
    # 1e-12: the same arithmetic in float64, up to summation order
    assert torch.allclose(res.solutions, theta, atol=1e-12, rtol=0)


def test_most_serves_every_cluster_where_mgda_and_linearization_cannot() -> None:
    problem, init = small_clustered()
    worst = {
        name: most.fit(problem, init, method=name, steps=200, lr=0.5, seed=0).worst_loss()
        for name in ("most", "mgda", "linearization")
    }
    # a single solution in the hull of 5 orthogonal clusters (spread 4) leaves some objective at loss >= ~4;
    # MosT puts one solution per cluster, so its worst objective is within noise of its own centre
    assert worst["most"] < 0.25 * worst["mgda"], worst
    assert worst["most"] < 0.25 * worst["linearization"], worst


def test_most_plan_is_a_transport_plan_and_each_cluster_gets_its_own_solution() -> None:
    problem, init = small_clustered()
    res = most.fit(problem, init, method="most", steps=150, lr=0.5)
    plan = res.assignment.numpy()
    # 1e-9: emd's plan carries the (renormalised) curriculum marginals exactly, up to float64 rounding
    assert plan.min() >= 0 and abs(plan.sum() - 1) < 1e-9
    owner = res.losses.argmin(dim=1).numpy()  # each objective's best solution
    for c in range(5):  # each cluster's objectives are served by one solution, and different clusters differ
        assert len(set(owner[problem.labels.numpy() == c])) == 1
    assert len(set(owner)) == 5


@pytest.mark.parametrize("n", [10, 100])
def test_most_step_length_does_not_shrink_with_n(n: int) -> None:
    # n objectives in two groups of identical quadratics: MosT's first step should move a model as far as MGDA's
    targets = torch.zeros(n, 3, dtype=torch.float64)
    targets[n // 2 :, 0] = 1.0

    def objectives(theta: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((theta[None, :] - targets) ** 2).sum(-1)

    init = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    a = most.fit(objectives, init, method="most", steps=1, lr=0.1, curriculum=False)
    b = most.fit(objectives, init[:1], method="mgda", steps=1, lr=0.1)
    step_most = (a.solutions[0] - init[0]).norm()
    step_mgda = (b.solutions[0] - init[0]).norm()
    # MosT's model 0 serves the group it sits on; the MGDA step over both groups is no longer than that one
    assert 0.5 < float(step_most / step_mgda) < 2.5


def test_history_records_each_round() -> None:
    problem, init = small_clustered()
    res = most.fit(problem, init, method="most", steps=5, lr=0.5)
    assert len(res.history) == res.steps_done == 5
    first, last = res.history[0], res.history[-1]
    assert first.weights_kl is None and last.weights_kl is not None and last.weights_kl >= 0
    assert first.losses.shape == (problem.n, 5) and first.weights.shape == (problem.n, 5)
    # exact τ = 0 plans have at most n + m − 1 nonzeros; the regularised one is a vertex too
    assert (first.weights > 0).sum() <= problem.n + 5 - 1
    for lam in last.lambdas:
        assert lam.shape == (problem.n,) and abs(lam.sum() - 1) < 1e-8 and lam.min() >= -1e-12
    t = res.seconds()
    assert t.total > 0 and t.gradients > 0 and t.transport > 0 and t.min_norm > 0


def test_most_e_expands_objectives() -> None:
    init = torch.rand(5, 2, dtype=torch.float64)
    res = most.fit(two_quadratics, init, method="most-e", steps=40, lr=0.2, n_extended=25, seed=1)
    assert res.assignment.shape == (25, 5)
    assert res.losses.shape == (2, 5)
    # the solutions spread along the Pareto segment instead of collapsing onto its two ends
    first_obj = res.losses[0].numpy()
    assert len(np.unique(np.round(first_obj, 2))) >= 3


def test_every_registered_method_runs() -> None:
    problem, init = small_clustered()
    for name in most.methods.available():
        res = most.fit(problem, init, method=name, steps=3, lr=0.5)
        assert torch.isfinite(res.solutions).all(), name


def test_bounds_keep_solutions_in_the_box() -> None:
    init = torch.full((2, 2), 0.5, dtype=torch.float64)
    res = most.fit(two_quadratics, init, method="mgda", steps=50, lr=5.0, bounds=(0.0, 1.0))
    assert float(res.solutions.min()) >= 0.0 and float(res.solutions.max()) <= 1.0


def test_nan_objective_names_objective_and_solution() -> None:
    def objectives(theta: torch.Tensor) -> torch.Tensor:
        return torch.stack([theta.sum(), torch.log(theta[0]), theta.pow(2).sum()])

    init = torch.tensor([[1.0, 1.0], [-1.0, 2.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"objective 1 is nan at solution 1 \(step 0\)"):
        most.fit(objectives, init, method="mgda", steps=2)


def test_bad_inputs_are_named() -> None:
    init = torch.rand(5, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="use 'most-e'"):
        most.fit(two_quadratics, init, method="most", steps=1)
    with pytest.raises(ValueError, match=r"unknown method 'nope'; available: most, most-e"):
        most.fit(two_quadratics, init, method="nope")
    with pytest.raises(ValueError, match="has no option.*taus.*its options:.*tau"):
        most.fit(two_quadratics, init[:2], method="most", taus=1.0)
    with pytest.raises(ValueError, match=r"init must be an \(m, d\) tensor"):
        most.fit(two_quadratics, init[0])
    with pytest.raises(ValueError, match=r"objectives must map params \(3,\) to a 1-D tensor"):
        most.fit(lambda t: t.sum(), torch.rand(2, 3))


def test_interrupted_run_resumes_from_checkpoint(tmp_path) -> None:
    problem, init = small_clustered()
    path = tmp_path / "run.pt"
    straight = most.fit(problem, init, method="most", steps=20, lr=0.5, seed=3)
    most.fit(problem, init, method="most", steps=12, lr=0.5, seed=3, checkpoint=path, checkpoint_every=5)
    resumed = most.fit(problem, init, method="most", steps=20, lr=0.5, seed=3, checkpoint=path, checkpoint_every=5)
    assert resumed.steps_done == 20
    # bit-identical: the checkpoint holds solutions, the previous plan and the generator state
    assert torch.equal(resumed.solutions, straight.solutions)
    with pytest.raises(ValueError, match="checkpoint .* is for method 'most'"):
        most.fit(problem, init, method="mgda", steps=20, lr=0.5, seed=3, checkpoint=path)


def test_module_problem_matches_autograd_and_trains() -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 2).double()
    data = [(torch.randn(k, 3, dtype=torch.float64), torch.randint(0, 2, (k,))) for k in (5, 9, 7)]
    problem = ModuleProblem(model, data, lambda out, y: nn.functional.cross_entropy(out, y, reduction="none"))
    theta = problem.flatten()
    C, J = problem.evaluate(theta[None], grad=True)
    assert J is not None and C.shape == (3, 1) and J.shape == (1, 3, problem.dim)
    for i, (x, y) in enumerate(data):  # padding must not leak into objective i's loss or gradient
        model.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        g = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
        # 1e-12: same float64 computation, different reduction order
        assert math.isclose(float(C[i, 0]), loss.item(), abs_tol=1e-12)
        assert torch.allclose(J[0, i], g, atol=1e-12)
    init = torch.stack([theta, theta + 0.1])
    res = most.fit(problem, init, method="most-no-cl", steps=30, lr=0.5)
    assert float(res.losses.min(dim=1).values.mean()) < float(C.mean())
