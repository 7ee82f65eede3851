"""Hypervolume (most.metrics.hypervolume) against hand-computed areas, an inclusion–exclusion oracle, pymoo.

Note on the pymoo comparison: pymoo >= 0.6.2 computes ``HV`` by calling ``moocore.hypervolume`` itself, so
it checks our input handling (filtering, shapes, reference point) rather than the volume algorithm. The
independent check of the volumes is the inclusion–exclusion oracle below, exact for the small sets used here.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.indicators.hv import HV

from most.metrics.hypervolume import hypervolume, normalised_hypervolume

REL_TOL = 1e-9
"""Relative tolerance between exact methods: both sides are float64 sums of box volumes of order 1 whose
rounding error is below 1e-13 (inclusion–exclusion over k <= 8 points sums < 2^8 terms, each with relative
error ~1e-16); 1e-9 leaves a wide margin yet catches any wrong box (which moves the volume far more)."""


def _union_of_boxes(points: np.ndarray, ref: np.ndarray) -> float:
    """Oracle: volume of the union of boxes [p, ref] by inclusion–exclusion,
    sum over non-empty subsets S of (-1)^(|S|+1) · vol([max_{p in S} p, ref])."""
    total = 0.0
    k = points.shape[0]
    for size in range(1, k + 1):
        for subset in itertools.combinations(range(k), size):
            corner = points[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * float(np.prod(np.clip(ref - corner, 0.0, None)))
    return total


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-300)


def test_closed_form_two_dimensional_cases() -> None:
    # One point: a 0.5 x 0.5 square. Exact: products of dyadic numbers are representable.
    assert hypervolume([[0.5, 0.5]], [1.0, 1.0]) == 0.25
    # Two boxes 0.8 x 0.2 overlapping in a 0.2 x 0.2 square: 0.16 + 0.16 - 0.04 = 0.28.
    assert _close(hypervolume([[0.2, 0.8], [0.8, 0.2]], [1.0, 1.0]), 0.28)
    # Staircase (0, 1), (0.5, 0.5), (1, 0) under ref (2, 2): strips 0.5 * 1 + 0.5 * 1.5 + 1 * 2 = 3.25,
    # exact in float64.
    assert hypervolume([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]], [2.0, 2.0]) == 3.25
    # k points evenly on the segment f2 = 1 - f1 with ref (1, 1): the staircase under the line has area
    # sum_{i=1}^{k} (1/(k+1)) * (i/(k+1)) = k / (2 (k + 1)).
    k = 9
    f1 = np.arange(1, k + 1) / (k + 1)
    assert _close(hypervolume(np.column_stack([f1, 1 - f1]), [1.0, 1.0]), k / (2 * (k + 1)))


def test_closed_form_other_dimensions() -> None:
    assert hypervolume([[0.0, 0.0, 0.0]], [1.0, 2.0, 3.0]) == 6.0  # one box 1 x 2 x 3, exact
    assert hypervolume([[0.25]], [1.0]) == 0.75  # 1-D: a segment, exact


def test_points_outside_the_reference_box_and_empty_sets_give_nothing() -> None:
    ref = [1.0, 1.0]
    assert hypervolume([[1.5, 0.5]], ref) == 0.0
    assert hypervolume([[1.0, 0.5]], ref) == 0.0  # on the boundary: a zero-width box
    assert hypervolume(np.zeros((0, 2)), ref) == 0.0
    assert hypervolume([], ref) == 0.0
    inside = [[0.2, 0.8], [0.8, 0.2]]
    # Exact equality: the outside points are filtered out, so moocore sees identical input.
    assert hypervolume([*inside, [1.5, 0.1], [0.1, 2.0], [np.inf, 0.0]], ref) == hypervolume(inside, ref)


def test_dominated_and_duplicate_points_change_nothing() -> None:
    base = [[0.2, 0.8], [0.8, 0.2]]
    more = [*base, [0.9, 0.9], [0.2, 0.8]]  # (0.9, 0.9) is dominated; (0.2, 0.8) repeated
    assert _close(hypervolume(more, [1.0, 1.0]), hypervolume(base, [1.0, 1.0]))


def test_bad_input_is_rejected_with_the_offending_row() -> None:
    with pytest.raises(ValueError, match=r"points\[1\]"):
        hypervolume([[0.1, 0.2], [np.nan, 0.3]], [1.0, 1.0])
    with pytest.raises(ValueError, match="objectives"):
        hypervolume([[0.1, 0.2, 0.3]], [1.0, 1.0])
    with pytest.raises(ValueError, match="finite"):
        hypervolume([[0.1, 0.2]], [1.0, np.nan])


@pytest.mark.parametrize("n_obj", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_inclusion_exclusion_and_pymoo_on_random_sets(n_obj: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    # Some points fall outside the unit reference box, to exercise the filtering.
    points = rng.uniform(0.0, 1.2, size=(k, n_obj))
    ref = np.ones(n_obj)
    ours = hypervolume(points, ref)
    assert _close(ours, _union_of_boxes(points, ref))
    inside = points[np.all(points < ref, axis=1)]
    pymoo_value = float(HV(ref_point=ref)(inside)) if inside.shape[0] else 0.0
    assert _close(ours, pymoo_value)


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 3), st.integers(0, 10), st.integers(0, 2**32 - 1))
def test_adding_a_point_never_decreases_the_volume(n_obj: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 1.1, size=(k, n_obj))
    extra = rng.uniform(0.0, 1.1, size=(1, n_obj))
    ref = np.ones(n_obj)
    before = hypervolume(points, ref)
    after = hypervolume(np.vstack([points, extra]), ref)
    # Tolerance 1e-12 absolute: volumes are <= 1 and a dominated extra point may reorder moocore's sweep,
    # moving the result by a few ulps.
    assert after >= before - 1e-12
    assert before >= 0.0


def test_normalised_hypervolume() -> None:
    ideal, nadir = np.array([0.0, 10.0]), np.array([2.0, 30.0])
    # The ideal point maps to the origin: a 1.1 x 1.1 square.
    assert _close(normalised_hypervolume([ideal], ideal, nadir), 1.1**2)
    # Equal to the raw volume under the mapped reference point, divided by the box's volume (2 * 20).
    points = np.array([[0.5, 20.0], [1.5, 12.0]])
    ref_raw = ideal + 1.1 * (nadir - ideal)
    assert _close(normalised_hypervolume(points, ideal, nadir), hypervolume(points, ref_raw) / 40.0)
    # A per-objective reference point.
    assert _close(normalised_hypervolume([ideal], ideal, nadir, ref=[1.0, 2.0]), 2.0)
    with pytest.raises(ValueError, match="exceed"):
        normalised_hypervolume(points, nadir, ideal)
