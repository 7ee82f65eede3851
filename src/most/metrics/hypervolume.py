r"""Hypervolume of a point set for minimisation (paper A.3; Zitzler & Thiele 1999).

.. math::

    H(S; r) = \Lambda\big(\{q \in \mathbb{R}^{d} : \exists p \in S,\ p \le q \le r\}\big),

the Lebesgue measure of the region weakly dominated by S and bounded above by the reference point r. The exact
computation is moocore's (the field's reference implementation, also what pymoo calls); this module adds input
checks, the empty set, and min–max normalisation.
"""

from __future__ import annotations

import moocore
import numpy as np
import numpy.typing as npt


def _points(points: npt.ArrayLike, n_obj: int) -> np.ndarray:
    """``points`` as a float64 (k, n_obj) array (an empty input becomes (0, n_obj)); raise on NaN rows."""
    p = np.asarray(points, dtype=np.float64)
    if p.size == 0:
        return np.zeros((0, n_obj), dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"points must be a 2-D (k points, n_obj objectives) array, got shape {p.shape}")
    if p.shape[1] != n_obj:
        raise ValueError(f"points have {p.shape[1]} objectives but the reference point has {n_obj}")
    nan_rows = np.flatnonzero(np.isnan(p).any(axis=1))
    if nan_rows.size:
        row = int(nan_rows[0])
        raise ValueError(f"points[{row}] = {p[row].tolist()} contains NaN")
    return p


def _reference(ref: npt.ArrayLike, name: str = "ref") -> np.ndarray:
    """Return ``ref`` as a finite float64 (n_obj,) vector with n_obj >= 1."""
    r = np.asarray(ref, dtype=np.float64)
    if r.ndim != 1 or r.shape[0] < 1:
        raise ValueError(f"{name} must be a 1-D vector with one entry per objective, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{name} = {r.tolist()} must be finite")
    return r


def hypervolume(points: npt.ArrayLike, ref: npt.ArrayLike) -> float:
    r"""Hypervolume :math:`H(S; r)` of ``points`` (all objectives minimised) with respect to ``ref``.

    Points that do not strictly dominate ``ref`` (some coordinate >= r) bound a box of zero volume and
    contribute nothing; an empty set gives 0.0. Dominated and duplicate points are allowed. A coordinate of
    -inf makes the volume infinite.

    Args:
        points: (k, n_obj) objective vectors, one per row; k may be 0. NaN raises ``ValueError`` naming
            the row.
        ref: (n_obj,) finite reference point.

    Returns:
        The hypervolume, a float >= 0.
    """
    r = _reference(ref)
    p = _points(points, r.shape[0])
    inside = p[np.all(p < r, axis=1)]
    if inside.shape[0] == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=r))


def normalised_hypervolume(
    points: npt.ArrayLike,
    ideal: npt.ArrayLike,
    nadir: npt.ArrayLike,
    ref: npt.ArrayLike = 1.1,
) -> float:
    r"""Hypervolume after min–max normalisation :math:`\tilde p = (p - z^{ideal}) / (z^{nadir} - z^{ideal})`,
    with reference point ``ref`` in the normalised space (a scalar is used for every objective).

    The result is :math:`H(S; r^{orig}) / \prod_d (z^{nadir}_d - z^{ideal}_d)` with
    :math:`r^{orig} = z^{ideal} + \mathrm{ref}\,(z^{nadir} - z^{ideal})`, so objectives on different scales
    weigh equally and the default ``ref`` = 1.1 gives a maximum of :math:`1.1^{n_{obj}}`.

    Args:
        points: (k, n_obj) objective vectors (minimised); k may be 0.
        ideal: (n_obj,) per-objective lower bound (maps to 0).
        nadir: (n_obj,) per-objective upper bound (maps to 1); must exceed ``ideal`` elementwise.
        ref: scalar or (n_obj,) reference point in normalised units.
    """
    lo = _reference(ideal, "ideal")
    hi = _reference(nadir, "nadir")
    if lo.shape != hi.shape:
        raise ValueError(f"ideal {lo.shape} and nadir {hi.shape} must have the same shape")
    if np.any(hi <= lo):
        raise ValueError(f"nadir {hi.tolist()} must exceed ideal {lo.tolist()} in every objective")
    r = np.broadcast_to(np.asarray(ref, dtype=np.float64), lo.shape).copy()
    p = _points(points, lo.shape[0])
    return hypervolume((p - lo) / (hi - lo), _reference(r))
