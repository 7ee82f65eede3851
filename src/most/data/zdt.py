r"""ZDT1, ZDT2 and ZDT3 (Zitzler, Deb & Thiele 2000) as differentiable, vmap-compatible torch objectives.

With x ∈ [0, 1]^d (d = 30), f_1(x) = x_1 and g(x) = 1 + 9/(d − 1) · Σ_{i ≥ 2} x_i:

* ZDT1 (convex front):        f_2 = g · (1 − √(f_1/g))
* ZDT2 (concave front):       f_2 = g · (1 − (f_1/g)²)
* ZDT3 (disconnected front):  f_2 = g · (1 − √(f_1/g) − (f_1/g) · sin(10π f_1))

Both objectives are minimised; the Pareto set is x_2 = … = x_d = 0 (g = 1), so the true front is f_2 = h(f_1) with
f_1 ∈ [0, 1] (for ZDT3 only the non-dominated pieces of that curve). These are pymoo's definitions (tests compare).

**The square root at 0.** √r has an infinite derivative at r = 0 (f_1 = 0), which would put an infinite entry in the
Jacobian at the left end of the box. We evaluate √max(r, ε) with ε = :data:`SQRT_EPS` = 1e-12: for r ≥ ε values and
gradients are exact; for r < ε the value is off by at most g·√ε ≤ 1e-5 and the derivative in f_1 is 0 (the clamp),
so every Jacobian entry stays finite (at most 0.5 g/√ε in magnitude).

Reference points for the hypervolume: the paper's (those of Liu et al. 2021's MOO-SVGD code, which Table 5 follows)
and the normalised reference (1.1, 1.1) in raw units — the ZDT fronts already span [0, 1] in f_1 and (for ZDT1/2)
[0, 1] in f_2, so (1.1, 1.1) is the usual "nadir + 10 %" reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

N_VAR = 30
"""Number of decision variables of the paper's ZDT problems."""
SQRT_EPS = 1e-12
"""√ is evaluated at max(r, SQRT_EPS): finite gradients at f_1 = 0 (see the module docstring)."""
BOUNDS = (0.0, 1.0)
"""The box every variable lives in."""


def _g(x: torch.Tensor) -> torch.Tensor:
    """g(x) = 1 + 9/(d − 1) Σ_{i≥2} x_i for x (d,) (or (..., d)) → (...)."""
    d = x.shape[-1]
    return 1.0 + 9.0 / (d - 1) * x[..., 1:].sum(dim=-1)


def _sqrt(r: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.clamp(r, min=SQRT_EPS))


def zdt1(x: torch.Tensor) -> torch.Tensor:
    r"""ZDT1: x (d,) ∈ [0, 1]^d → (f_1, f_2) (2,) with f_2 = g (1 − √(f_1/g)). Convex front f_2 = 1 − √f_1."""
    f1 = x[..., 0]
    g = _g(x)
    return torch.stack([f1, g * (1.0 - _sqrt(f1 / g))], dim=-1)


def zdt2(x: torch.Tensor) -> torch.Tensor:
    r"""ZDT2: x (d,) → (f_1, f_2) (2,) with f_2 = g (1 − (f_1/g)²). Concave front f_2 = 1 − f_1²."""
    f1 = x[..., 0]
    g = _g(x)
    return torch.stack([f1, g * (1.0 - (f1 / g) ** 2)], dim=-1)


def zdt3(x: torch.Tensor) -> torch.Tensor:
    r"""ZDT3: x (d,) → (f_1, f_2) (2,) with f_2 = g (1 − √(f_1/g) − (f_1/g) sin(10π f_1)). Five disconnected pieces."""
    f1 = x[..., 0]
    g = _g(x)
    r = f1 / g
    return torch.stack([f1, g * (1.0 - _sqrt(r) - r * torch.sin(10.0 * math.pi * f1))], dim=-1)


def _front_curve(name: str, f1: np.ndarray) -> np.ndarray:
    if name == "zdt1":
        return 1.0 - np.sqrt(f1)
    if name == "zdt2":
        return 1.0 - f1**2
    return 1.0 - np.sqrt(f1) - f1 * np.sin(10.0 * np.pi * f1)


def nondominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask (k,) of the rows of ``points`` (k, 2) not dominated by another row (minimisation)."""
    p = np.asarray(points, dtype=np.float64)
    order = np.lexsort((p[:, 1], p[:, 0]))  # by f1, then f2
    keep = np.zeros(p.shape[0], dtype=bool)
    best = np.inf
    for k in order:
        if p[k, 1] < best:
            keep[k] = True
            best = p[k, 1]
    return keep


def pareto_front(name: str, n_points: int = 500) -> np.ndarray:
    """The true Pareto front (P, 2) of ``name`` ∈ {zdt1, zdt2, zdt3}, sorted by f_1.

    ZDT1/2: ``n_points`` evenly spaced f_1 ∈ [0, 1]. ZDT3: the non-dominated points of a dense sampling of the curve
    f_2 = 1 − √f_1 − f_1 sin(10π f_1) (its five pieces; about ``n_points`` points in all).
    """
    spec = problem(name)
    if spec.name == "zdt3":
        f1 = np.linspace(0.0, 1.0, 40 * n_points)
        pts = np.column_stack([f1, _front_curve("zdt3", f1)])
        pts = pts[nondominated(pts)]
        keep = np.linspace(0, pts.shape[0] - 1, min(n_points, pts.shape[0])).round().astype(int)
        return pts[np.unique(keep)]
    f1 = np.linspace(0.0, 1.0, n_points)
    return np.column_stack([f1, _front_curve(spec.name, f1)])


@dataclass(frozen=True)
class ZdtSpec:
    """One ZDT problem: its objective function x (d,) → (2,), the paper's hypervolume reference point, and d.

    Attributes:
        name: ``"zdt1"``, ``"zdt2"`` or ``"zdt3"``.
        objectives: the torch function (vmap-compatible).
        reference: the paper's reference point (Liu et al. 2021's, listed in ENVIRONMENT.md).
        normalised_reference: (1.1, 1.1).
        n_var: number of variables (30).
    """

    name: str
    objectives: Callable[[torch.Tensor], torch.Tensor]
    reference: tuple[float, float]
    normalised_reference: tuple[float, float] = (1.1, 1.1)
    n_var: int = N_VAR


PROBLEMS: dict[str, ZdtSpec] = {
    "zdt1": ZdtSpec("zdt1", zdt1, (0.99022638, 6.39358545)),
    "zdt2": ZdtSpec("zdt2", zdt2, (0.99022638, 7.71577261)),
    "zdt3": ZdtSpec("zdt3", zdt3, (0.99022638, 6.54635266)),
}


def problem(name: str) -> ZdtSpec:
    """The :class:`ZdtSpec` called ``name``; an unknown name lists the valid ones."""
    key = name.lower().replace("-", "")
    if key not in PROBLEMS:
        raise ValueError(f"unknown ZDT problem {name!r}; available: {', '.join(PROBLEMS)}")
    return PROBLEMS[key]


def check_feasible(name: str, x: torch.Tensor, *, step: int | None = None, tol: float = 0.0) -> None:
    """Raise ``ValueError`` naming the problem, the solution (row) and the step if a row of ``x`` (m, d) is outside
    the box [0, 1]^d (beyond ``tol``) or not finite."""
    at = "" if step is None else f" at step {step}"
    finite = torch.isfinite(x).all(dim=1)
    if not bool(finite.all()):
        j = int(torch.nonzero(~finite)[0])
        raise ValueError(f"{name}: solution {j} has non-finite variables{at}")
    lo, hi = BOUNDS
    outside = ((x < lo - tol) | (x > hi + tol)).any(dim=1)
    if bool(outside.any()):
        j = int(torch.nonzero(outside)[0])
        k = int(torch.nonzero((x[j] < lo - tol) | (x[j] > hi + tol))[0])
        raise ValueError(
            f"{name}: solution {j} is infeasible{at}: x[{k}] = {float(x[j, k]):.6g} is outside [{lo:g}, {hi:g}]"
        )


def evaluate(name: str, x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Objective values (m, 2) of solutions ``x`` (m, d) of problem ``name``, after checking they are feasible and
    that the values are finite (errors name the problem and the solution)."""
    spec = problem(name)
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float64)
    if xt.ndim != 2 or xt.shape[1] != spec.n_var:
        raise ValueError(f"{spec.name}: solutions must have shape (m, {spec.n_var}), got {tuple(xt.shape)}")
    check_feasible(spec.name, xt)
    with torch.no_grad():
        F = spec.objectives(xt)
    bad = ~torch.isfinite(F).all(dim=1)
    if bool(bad.any()):
        j = int(torch.nonzero(bad)[0])
        raise ValueError(f"{spec.name}: objective values of solution {j} are not finite: {F[j].tolist()}")
    return F.numpy()


def initial_solutions(m: int, *, n_var: int = N_VAR, seed: int = 0) -> torch.Tensor:
    """(m, n_var) starting points uniform in [0, 1]^n_var (float64), as in Liu et al. (2021)'s ZDT runs."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(m, n_var, generator=gen, dtype=torch.float64)
