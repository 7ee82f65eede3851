"""Prediction diversity, its pairwise mean and the objective shares per model (most.metrics.diversity)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr

from most.metrics.diversity import assignment_shares, mean_pairwise, prediction_diversity


def _random_probs(rng: np.random.Generator, m: int, n: int, c: int) -> np.ndarray:
    return rng.dirichlet(np.ones(c), size=(m, n))


def test_two_models_one_sample_by_hand() -> None:
    p, q = [0.5, 0.5], [0.9, 0.1]
    want = 0.5 * ((0.5 - 0.9) * (math.log(0.5) - math.log(0.9)) + (0.5 - 0.1) * (math.log(0.5) - math.log(0.1)))
    d = prediction_diversity(np.array([[p], [q]]))
    # Tolerance 1e-9: the 1e-12 smoothing added to every probability moves the value by about 1e-12 / 0.1.
    assert abs(d[0, 1] - want) <= 1e-9
    assert d[1, 0] == d[0, 1]
    assert d[0, 0] == 0.0 and d[1, 1] == 0.0


def test_matches_an_independent_kl_computation_averaged_over_samples() -> None:
    rng = np.random.default_rng(1)
    probs = _random_probs(rng, 4, 50, 6)
    d = prediction_diversity(probs)
    for a in range(4):
        for b in range(4):
            kl_ab = rel_entr(probs[a], probs[b]).sum(axis=-1)
            kl_ba = rel_entr(probs[b], probs[a]).sum(axis=-1)
            want = float(np.mean(0.5 * (kl_ab + kl_ba)))
            # Tolerance 1e-8 relative: Dirichlet draws can be ~1e-4, where the 1e-12 smoothing shifts a log
            # term by ~1e-8 relative; float64 summation error is far smaller.
            assert abs(d[a, b] - want) <= 1e-8 * max(want, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 20), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_matrix_is_symmetric_with_zero_diagonal_and_non_negative(m: int, n: int, c: int, seed: int) -> None:
    probs = _random_probs(np.random.default_rng(seed), m, n, c)
    d = prediction_diversity(probs)
    assert d.shape == (m, m)
    # Exact checks: the function writes both triangles from one value and leaves the diagonal at 0.
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0.0)
    assert np.all(d >= 0.0)


def test_identical_models_have_zero_diversity_and_zeros_stay_finite() -> None:
    probs = np.tile(np.array([[0.2, 0.8], [1.0, 0.0]]), (3, 1, 1))
    # Exact zero: (p - q) is exactly 0 for identical rows.
    assert np.all(prediction_diversity(probs) == 0.0)
    hard = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # one-hot predictions that disagree
    d = prediction_diversity(hard)
    assert np.isfinite(d).all() and d[0, 1] > 20.0  # log(1e12) ~ 27.6: large but finite


def test_prediction_diversity_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="m models"):
        prediction_diversity(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"probs\[1, 0, 1\]"):
        prediction_diversity(np.array([[[0.5, 0.5]], [[1.5, -0.5]]]))


def test_mean_pairwise_hand_case() -> None:
    mat = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    # Exact: (1 + 2 + 1 + 3 + 2 + 3) / 6 = 2 with small integers.
    assert mean_pairwise(mat) == 2.0
    assert mean_pairwise(np.zeros((1, 1))) == 0.0
    with pytest.raises(ValueError, match="square"):
        mean_pairwise(np.zeros((2, 3)))


def test_assignment_shares_hand_case() -> None:
    winners = np.array([[0, 0, 1, 2], [1, 1, 1, 1]])
    shares = assignment_shares(winners, 3)
    # Exact: quarters are representable.
    assert shares.tolist() == [[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.integers(1, 30), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_assignment_shares_rows_sum_to_one(t: int, n: int, m: int, seed: int) -> None:
    winners = np.random.default_rng(seed).integers(0, m, size=(t, n))
    shares = assignment_shares(winners, m)
    assert shares.shape == (t, m)
    # Tolerance 1e-12: a sum of m multiples of 1/n, each rounded once.
    assert np.all(np.abs(shares.sum(axis=1) - 1.0) <= 1e-12)
    assert np.all(shares >= 0.0)


def test_assignment_shares_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"winners\[0, 1\] = 3"):
        assignment_shares(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="integer"):
        assignment_shares(np.array([[0.0, 1.0]]), 3)
    with pytest.raises(ValueError, match="m must be"):
        assignment_shares(np.array([[0]]), 0)
