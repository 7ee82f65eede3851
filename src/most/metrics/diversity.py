r"""Diversity of a model set (paper section 6.2, Figure 3(b)); how objectives split among models (Figure 7).

Prediction diversity of models a and b over N samples with C classes is the sample mean of the symmetric KL
(paper A.4) between their predictive distributions:

.. math::

    D_{ab} = \frac{1}{N}\sum_{s=1}^{N} \tfrac12\big(\mathrm{KL}(P_{a,s}\,\|\,P_{b,s})
        + \mathrm{KL}(P_{b,s}\,\|\,P_{a,s})\big).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from most.metrics.divergence import symmetric_kl


def prediction_diversity(probs: npt.ArrayLike) -> np.ndarray:
    r"""Pairwise symmetric-KL diversity :math:`D_{ab}` between m models' predictions, averaged over samples.

    Each probability vector gets :data:`most.metrics.divergence.EPS` added and is renormalised (as in
    :func:`~most.metrics.divergence.symmetric_kl`), so exact zeros give a large but finite divergence.

    Args:
        probs: (m, N, C) non-negative predictive distributions — model a's class probabilities for sample s
            are ``probs[a, s]`` (rows need not sum exactly to 1; they are normalised). m, N, C >= 1.

    Returns:
        (m, m) float64 matrix: symmetric, zero diagonal, non-negative.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 3 or min(p.shape) < 1:
        raise ValueError(f"probs must be a (m models, N samples, C classes) array with no empty axis, got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        a, s, c = np.argwhere(~np.isfinite(p) | (p < 0))[0]
        raise ValueError(f"probs[{a}, {s}, {c}] = {p[a, s, c]} is not a finite non-negative probability")
    m = p.shape[0]
    out = np.zeros((m, m), dtype=np.float64)
    # Pairs one at a time: broadcasting all pairs at once needs m²·N·C floats (GBs for FEMNIST-sized sets).
    for a in range(m):
        for b in range(a + 1, m):
            per_sample = np.asarray(symmetric_kl(p[a], p[b], axis=-1))
            # Clip round-off: the symmetric KL is a sum of (p - q)(log p - log q) >= 0 terms.
            out[a, b] = out[b, a] = max(float(per_sample.mean()), 0.0)
    return out


def mean_pairwise(matrix: npt.ArrayLike) -> float:
    r"""Off-diagonal mean :math:`\frac{1}{m(m-1)}\sum_{a \ne b} D_{ab}`; 0.0 when m = 1 (no pairs).

    Args:
        matrix: (m, m) square matrix, e.g. from :func:`prediction_diversity`.
    """
    d = np.asarray(matrix, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 1:
        raise ValueError(f"matrix must be square (m, m) with m >= 1, got shape {d.shape}")
    m = d.shape[0]
    if m == 1:
        return 0.0
    off = ~np.eye(m, dtype=bool)
    return float(d[off].mean())


def assignment_shares(winners: npt.ArrayLike, m: int) -> np.ndarray:
    r"""Share of objectives whose best model is j, per round (paper Figure 7's colour bands).

    .. math:: \mathrm{share}_{tj} = \frac{1}{n}\,\big|\{i : w_{ti} = j\}\big|

    Args:
        winners: (T, n) integer model index in [0, m) chosen by objective i at round t (e.g. rows of
            :func:`most.metrics.accuracy.select_models` on validation losses); n >= 1.
        m: number of models, >= 1.

    Returns:
        (T, m) float64 array; every row sums to 1.
    """
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    w = np.asarray(winners)
    if w.ndim != 2 or w.shape[1] < 1:
        raise ValueError(f"winners must be a (T rounds, n objectives) array with n >= 1, got shape {w.shape}")
    if w.size and not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"winners must hold integer model indices, got dtype {w.dtype}")
    if w.size and (w.min() < 0 or w.max() >= m):
        t, i = np.argwhere((w < 0) | (w >= m))[0]
        raise ValueError(f"winners[{t}, {i}] = {w[t, i]} is not a model index in [0, {m})")
    onehot = w[:, :, None] == np.arange(m)[None, None, :]
    return onehot.mean(axis=1, dtype=np.float64)
