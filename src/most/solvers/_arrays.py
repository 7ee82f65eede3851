"""Array plumbing shared by the solvers: accept numpy or torch, compute in float64 numpy, return the input type."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = Any  # numpy.ndarray | torch.Tensor; kept loose so both pass through the public functions


def to_numpy64(x: ArrayLike, name: str) -> np.ndarray:
    """Return ``x`` as a float64 numpy array (a copy for torch input); ``name`` is used in error messages."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from exc


def like(result: np.ndarray, reference: ArrayLike) -> ArrayLike:
    """Return ``result`` as the same array type (and, for torch, dtype and device) as ``reference``."""
    if isinstance(reference, torch.Tensor):
        dtype = reference.dtype if reference.is_floating_point() else torch.float64
        return torch.as_tensor(result, dtype=dtype, device=reference.device)
    return result
