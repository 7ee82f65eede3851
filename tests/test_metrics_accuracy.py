"""Best-of-m selection, worst-fraction means and oracle-vs-mean loss (most.metrics.accuracy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from most.metrics.accuracy import (
    WORST_FRACTIONS,
    best_of_m,
    oracle_vs_mean,
    select_models,
    worst_count,
    worst_fraction_mean,
    worst_k_table,
)

# Scores in [0, 1] with few distinct values, so ties are common.
score_matrices = st.tuples(st.integers(1, 12), st.integers(1, 6)).flatmap(
    lambda nm: arrays(np.float64, nm, elements=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1))
)


def test_select_models_hand_case_and_ties_go_to_lowest_index() -> None:
    val = np.array([[0.1, 0.9, 0.5], [0.7, 0.7, 0.2], [0.3, 0.3, 0.3]])
    assert select_models(val).tolist() == [1, 0, 0]
    assert select_models(val, higher_is_better=False).tolist() == [0, 2, 0]
    assert select_models(val).dtype == np.int64


def test_best_of_m_reports_test_score_of_model_picked_on_validation() -> None:
    val = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])
    test = np.array([[0.6, 0.4], [0.3, 0.7], [0.2, 0.9]])
    # Client 0 picks model 1 (0.4), client 1 model 0 (0.3), client 2 ties -> model 0 (0.2): validation, not
    # test, decides — so the result is not the row-wise test maximum.
    assert best_of_m(val, test).tolist() == [0.4, 0.3, 0.2]
    # Losses: the smallest validation loss wins.
    assert best_of_m(val, test, higher_is_better=False).tolist() == [0.6, 0.7, 0.2]


@settings(max_examples=60, deadline=None)
@given(score_matrices)
def test_best_of_m_on_its_own_scores_beats_every_single_model(s: np.ndarray) -> None:
    acc = best_of_m(s, s)
    loss = best_of_m(s, s, higher_is_better=False)
    for j in range(s.shape[1]):
        # Exact (no tolerance): acc >= s[:, j] elementwise, and IEEE rounding is monotone, so numpy's
        # summation of the larger vector in the same order cannot come out smaller.
        assert acc.mean() >= s[:, j].mean()
        assert loss.mean() <= s[:, j].mean()


def test_select_and_best_of_m_reject_bad_input() -> None:
    with pytest.raises(ValueError, match=r"val_scores\[1, 0\]"):
        select_models(np.array([[0.1, 0.2], [np.nan, 0.3]]))
    with pytest.raises(ValueError, match="same"):
        best_of_m(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        select_models(np.zeros(3))
    with pytest.raises(ValueError, match="m >= 1"):
        select_models(np.zeros((3, 0)))


def test_worst_fraction_mean_hand_cases() -> None:
    v = np.array([0.9, 0.1, 0.5, 0.7, 0.3])
    # Tolerance 1e-15: a mean of at most five numbers of order 1 carries a few ulps of rounding.
    assert abs(worst_fraction_mean(v, 0.2) - 0.1) <= 1e-15  # k = 1
    assert abs(worst_fraction_mean(v, 0.4) - 0.2) <= 1e-15  # k = 2: (0.1 + 0.3) / 2
    assert abs(worst_fraction_mean(v, 0.5) - 0.3) <= 1e-15  # k = ceil(2.5) = 3
    assert abs(worst_fraction_mean(v, 1.0) - 0.5) <= 1e-15  # everyone: the plain mean
    assert abs(worst_fraction_mean(v, 0.4, higher_is_better=False) - 0.8) <= 1e-15  # losses: (0.9 + 0.7) / 2


def test_worst_count_is_not_fooled_by_floating_point_products() -> None:
    # In float64 0.28 * 25 = 7.000000000000001 and 0.56 * 50 = 28.000000000000004: a bare ceil would add one.
    assert 0.28 * 25 > 7 and 0.56 * 50 > 28
    assert worst_count(25, 0.28) == 7
    assert worst_count(50, 0.56) == 28
    assert [worst_count(30, f) for f in WORST_FRACTIONS] == [6, 12, 18, 24]
    assert worst_count(206, 0.2) == math.ceil(41.2) == 42
    assert worst_count(3, 0.01) == 1  # never an empty group
    with pytest.raises(ValueError, match="fraction"):
        worst_count(10, 0.0)
    with pytest.raises(ValueError, match="fraction"):
        worst_count(10, 1.5)


def test_worst_k_table_keys_and_values() -> None:
    v = np.arange(10, dtype=np.float64)  # worst 20% = {0, 1}, 40% = {0..3}, 60% = {0..5}, 80% = {0..7}
    table = worst_k_table(v)
    assert list(table) == ["worst 20%", "worst 40%", "worst 60%", "worst 80%"]
    # Tolerance 1e-15: means of small integers are exact up to the final division's rounding.
    for got, want in zip(table.values(), [0.5, 1.5, 2.5, 3.5], strict=True):
        assert abs(got - want) <= 1e-15
    assert list(worst_k_table(v, fractions=(0.125,))) == ["worst 12.5%"]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(0, 1)))
def test_worst_group_mean_grows_with_the_group_and_ends_at_the_mean(v: np.ndarray) -> None:
    means = [worst_fraction_mean(v, f) for f in (0.2, 0.4, 0.6, 0.8, 1.0)]
    # Tolerance 1e-12: mathematically non-decreasing; different-size float means may differ by a few ulps.
    assert all(b >= a - 1e-12 for a, b in zip(means, means[1:], strict=False))
    assert abs(means[-1] - v.mean()) <= 1e-12
    assert means[0] >= v.min() - 1e-12


def test_oracle_vs_mean_hand_case_and_invariant() -> None:
    oracle, mean = oracle_vs_mean(np.array([[1.0, 3.0], [4.0, 2.0]]))
    # Exact: (1 + 2) / 2 and (1 + 3 + 4 + 2) / 4 are representable and computed without rounding.
    assert oracle == 1.5
    assert mean == 2.5
    rng = np.random.default_rng(0)
    loss = rng.exponential(size=(30, 5))
    oracle, mean = oracle_vs_mean(loss)
    assert oracle <= mean
    # With one model the oracle is the mean (tolerance 1e-15: same numbers, same order of summation).
    o1, m1 = oracle_vs_mean(loss[:, :1])
    assert abs(o1 - m1) <= 1e-15
