r"""Per-objective evaluation of a set of m models (paper section 6.2): best-of-m selection on validation data,
the mean of the worst clients, and the oracle-versus-mean loss of Figure 2(b).

Conventions: a score matrix ``S`` has shape (n, m) — row i is objective (client) i, column j is model j.
In the paper's federated protocol every client picks the model with the best *validation* score and reports
that model's *test* score:

.. math::

    \hat{j}_i = \arg\operatorname{best}_j S^{\mathrm{val}}_{ij}, \qquad a_i = S^{\mathrm{test}}_{i \hat{j}_i}.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

WORST_FRACTIONS: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
"""The client groups of the paper's Figure 3(c): worst 20 %, 40 %, 60 % and 80 %."""

_CEIL_DIGITS = 9
"""``fraction · n`` is rounded to this many decimals before the ceiling (0.28 · 25 = 7.000000000000001)."""


def _scores(x: object, name: str) -> np.ndarray:
    """Return ``x`` as a finite float64 (n, m) array with m >= 1, or raise ``ValueError`` naming ``name``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D (n objectives, m models) array with m >= 1, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        i, j = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name}[{i}, {j}] = {a[i, j]} (objective {i}, model {j}) is not finite")
    return a


def _values(x: object, name: str) -> np.ndarray:
    """Return ``x`` as a finite, non-empty float64 (n,) array, or raise ``ValueError`` naming ``name``."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty 1-D (n,) array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        i = int(np.argwhere(~np.isfinite(a))[0, 0])
        raise ValueError(f"{name}[{i}] = {a[i]} is not finite")
    return a


def select_models(val_scores: npt.ArrayLike, higher_is_better: bool = True) -> np.ndarray:
    r"""Index of each objective's best model on validation: :math:`\hat{j}_i = \arg\max_j S_{ij}` (argmin when
    ``higher_is_better`` is False); ties go to the lowest index.

    Args:
        val_scores: (n, m) validation score (accuracy) or loss of model j on objective i; finite.
        higher_is_better: True for accuracies, False for losses.

    Returns:
        (n,) int64 array of model indices in [0, m).
    """
    s = _scores(val_scores, "val_scores")
    # numpy's argmax/argmin return the first occurrence of the extreme value: ties -> lowest index.
    idx = np.argmax(s, axis=1) if higher_is_better else np.argmin(s, axis=1)
    return idx.astype(np.int64)


def best_of_m(val_scores: npt.ArrayLike, test_scores: npt.ArrayLike, higher_is_better: bool = True) -> np.ndarray:
    r"""Test score of each objective's model selected on validation: :math:`a_i = S^{test}_{i \hat{j}_i}`.

    Args:
        val_scores: (n, m) validation scores used for the selection (see :func:`select_models`).
        test_scores: (n, m) test scores of the same models on the same objectives.
        higher_is_better: direction of both score matrices.

    Returns:
        (n,) float64 array; its mean is the paper's "mean accuracy across clients" (Table 1).
    """
    test = _scores(test_scores, "test_scores")
    val = _scores(val_scores, "val_scores")
    if val.shape != test.shape:
        raise ValueError(f"val_scores {val.shape} and test_scores {test.shape} must have the same (n, m) shape")
    idx = select_models(val, higher_is_better)
    return test[np.arange(test.shape[0]), idx]


def worst_count(n: int, fraction: float) -> int:
    r"""Clients in the worst ``fraction``: :math:`k = \lceil \mathrm{fraction} \cdot n \rceil`, at least 1.

    Args:
        n: number of clients, >= 1.
        fraction: in (0, 1].
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, math.ceil(round(fraction * n, _CEIL_DIGITS)))


def worst_fraction_mean(values: npt.ArrayLike, fraction: float, higher_is_better: bool = True) -> float:
    r"""Mean over the worst :math:`k = \lceil \mathrm{fraction} \cdot n \rceil` clients (paper Figure 3(c)).

    With :math:`v_{(1)} \le \dots \le v_{(n)}` sorted ascending, the result is
    :math:`\frac{1}{k}\sum_{r \le k} v_{(r)}` when higher is better (worst = lowest) and the mean of the k
    largest values otherwise (worst = highest loss).

    Args:
        values: (n,) per-client score, e.g. the output of :func:`best_of_m`; finite, n >= 1.
        fraction: share of clients in the group, in (0, 1]; 1 gives the plain mean.
        higher_is_better: True for accuracies, False for losses.
    """
    v = _values(values, "values")
    k = worst_count(v.shape[0], fraction)
    ordered = np.sort(v) if higher_is_better else np.sort(v)[::-1]
    return float(ordered[:k].mean())


def worst_label(fraction: float) -> str:
    """Column name of a worst-fraction group: 0.2 -> ``"worst 20%"``, 0.125 -> ``"worst 12.5%"``."""
    return f"worst {100.0 * fraction:g}%"


def worst_k_table(
    values: npt.ArrayLike, fractions: Sequence[float] = WORST_FRACTIONS, higher_is_better: bool = True
) -> dict[str, float]:
    """:func:`worst_fraction_mean` for each fraction, keyed by :func:`worst_label` in the given order.

    Args:
        values: (n,) per-client score.
        fractions: group sizes, each in (0, 1].
        higher_is_better: direction of ``values``.
    """
    return {worst_label(f): worst_fraction_mean(values, f, higher_is_better) for f in fractions}


def oracle_vs_mean(test_losses: npt.ArrayLike) -> tuple[float, float]:
    r"""Oracle and mean test loss of a model set (paper Figure 2(b)).

    .. math::

        \mathrm{oracle} = \frac{1}{n}\sum_i \min_j L_{ij}, \qquad
        \mathrm{mean} = \frac{1}{nm}\sum_{i,j} L_{ij},

    so oracle <= mean, with equality iff every objective's losses are equal across models.

    Args:
        test_losses: (n, m) test loss of model j on objective i; finite, n >= 1.

    Returns:
        ``(oracle, mean)`` as floats.
    """
    loss = _scores(test_losses, "test_losses")
    if loss.shape[0] < 1:
        raise ValueError("test_losses needs at least one objective (row)")
    return float(loss.min(axis=1).mean()), float(loss.mean())
