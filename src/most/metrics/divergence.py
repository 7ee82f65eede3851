"""Symmetric KL divergence, (KL(P‖Q) + KL(Q‖P)) / 2 (paper A.4), for plans and predictive distributions."""

from __future__ import annotations

import numpy as np

EPS = 1e-12
"""Added to every probability before normalising: exact zeros (sparse plans) would make KL infinite."""


def symmetric_kl(p: np.ndarray, q: np.ndarray, *, axis: int | None = None, eps: float = EPS) -> np.ndarray | float:
    """Symmetric KL between non-negative arrays normalised along ``axis`` (all entries when ``axis`` is None).

    Shapes: ``p`` and ``q`` equal; the result drops ``axis`` (a float when ``axis`` is None).
    """
    p = np.asarray(p, dtype=np.float64) + eps
    q = np.asarray(q, dtype=np.float64) + eps
    if p.shape != q.shape:
        raise ValueError(f"symmetric_kl needs equal shapes, got {p.shape} and {q.shape}")
    p = p / p.sum(axis=axis, keepdims=axis is not None)
    q = q / q.sum(axis=axis, keepdims=axis is not None)
    d = 0.5 * ((p - q) * (np.log(p) - np.log(q))).sum(axis=axis)
    return float(d) if axis is None else d
