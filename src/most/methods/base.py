r"""What every method is: a rule that weights objectives per solution, and a rule that combines weighted gradients.

Each round the engine hands a method the loss matrix C (n, m) and asks for a weight matrix W (n, m) — Γ for MosT,
fixed preferences for Linearization — then, for each solution j, combines the vectors g_ij (gradients ∇L_i(θ_j) or
federated pseudo-gradients) of the objectives active for j into one descent direction (:func:`combine`).
Methods are composed from these two rules; the engine (centralised or federated) never knows which method runs.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from most.solvers.min_norm import DEFAULT_TOL, solve_gram

Combine = Literal["min-norm", "mean"]


@dataclass(frozen=True, kw_only=True)
class MethodConfig:
    """Options every method has.

    Attributes:
        prune_tol: objective i takes part in solution j's step when W_ij > 0 and W_ij ≥ prune_tol · max_k W_kj
            (relative to j's largest weight). Zeros are always out: a zero-weighted vector puts the origin in the
            min-norm hull and stalls the model.
        mgda_subset: coordinates (indices into the flat parameter vector) on which the min-norm λ is computed —
            e.g. the last layer; the direction still uses the full vectors. ``None``: all coordinates.
        min_norm_tol: relative duality gap the min-norm solver must certify (see :mod:`most.solvers.min_norm`).
    """

    prune_tol: float = 0.0
    mgda_subset: tuple[int, ...] | None = None
    min_norm_tol: float = DEFAULT_TOL


@dataclass(frozen=True)
class Direction:
    """One solution's step direction d (d,) (to be *subtracted*: θ ← θ − η d) and the λ (n,) that formed it."""

    vector: torch.Tensor
    lambdas: np.ndarray
    seconds: float


class Method(ABC):
    """A method: objective weights per solution (:meth:`weights`) and how to combine gradients (:attr:`combine`).

    Subclasses set ``name``, ``config_class`` and ``combine``, and implement :meth:`weights`.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    combine_rule: ClassVar[Combine] = "min-norm"
    uses_transport: ClassVar[bool] = False

    def __init__(self, config: MethodConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{self.name} takes a {self.config_class.__name__}, got {type(self.config).__name__}")
        self.n = 0
        self.m = 0
        self.rng = np.random.default_rng(0)
        self.objective_sizes: np.ndarray | None = None  # per-objective sample counts, set by the federated engine

    # -- life cycle ---------------------------------------------------------------------------------------------
    def expansion(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """(n', n) matrix mapping the n given objectives to the n' the method optimises; None = identity."""
        return None

    def setup(self, n: int, m: int, rng: np.random.Generator) -> None:
        """Called once before the first round with the number of (possibly expanded) objectives n and solutions m."""
        self.n, self.m, self.rng = n, m, rng

    @property
    def local_prox_mu(self) -> float:
        """FedProx proximal weight μ the federated engine adds to local objectives (0 for all but FedProx)."""
        return 0.0

    @property
    def inner_steps(self) -> int:
        """K: descent steps per weight computation (paper Algorithm 1, line 6)."""
        return 1

    @abstractmethod
    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        """Weights W (n, m) ≥ 0 of objective i for solution j, given the loss matrix ``losses`` (n, m)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (random preferences, the previous plan): numpy arrays and numbers."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027  (stateless methods need nothing)
        """Inverse of :meth:`state_dict`."""

    # -- the combination rule ----------------------------------------------------------------------------------
    def active(self, weights: np.ndarray) -> np.ndarray:
        """(n, m) boolean mask of objectives that enter each solution's direction (see ``prune_tol``)."""
        colmax = weights.max(axis=0, keepdims=True)
        return (weights > 0) & (weights >= self.config.prune_tol * colmax)

    def direction(self, vectors: torch.Tensor, weights: np.ndarray) -> Direction:
        """Combine k active vectors (k, d) with their weights (k,) into one direction; see :func:`combine`."""
        return combine(
            vectors,
            weights,
            rule=self.combine_rule,
            subset=self.config.mgda_subset,
            tol=self.config.min_norm_tol,
            unweighted=self.unweighted_direction,
        )

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: Any, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        """Directions D (m, d) for all solutions at once (θ ← θ − η D[j]), the λ (n,) per solution, min-norm seconds.

        Shapes: ``thetas`` (m, d), ``losses`` (n, m), ``jacobians`` (m, n, d) — a tensor, or any object whose
        ``jacobians[j, idx]`` gives the (len(idx), d) vectors (the federated engine's trained pairs), ``weights``
        (n, m). The default treats solutions independently through :meth:`direction` on each one's active
        objectives; methods whose solutions interact (SVGD) or whose direction needs the losses (EPO, PMTL)
        override this.
        """
        n, m = weights.shape
        active = self.active(weights)
        out = torch.zeros_like(thetas)
        lambdas: list[np.ndarray] = []
        seconds = 0.0
        for j in range(m):
            idx = np.flatnonzero(active[:, j])
            d = self.direction(jacobians[j, idx], weights[idx, j])
            out[j] = d.vector
            lam = np.zeros(n)
            lam[idx] = d.lambdas
            lambdas.append(lam)
            seconds += d.seconds
        return out, lambdas, seconds

    @property
    def unweighted_direction(self) -> bool:
        """Whether λ is applied to the unweighted vectors (federated research-code variant); default no."""
        return False


def combine(
    vectors: torch.Tensor,
    weights: np.ndarray,
    *,
    rule: Combine,
    subset: tuple[int, ...] | None = None,
    tol: float = DEFAULT_TOL,
    unweighted: bool = False,
) -> Direction:
    r"""One solution's direction from its k active vectors g_i (k, d) and weights w_i > 0 (k,).

    * ``"mean"``: d = Σ_i w_i g_i / Σ_i w_i (linear scalarisation; MosT-L).
    * ``"min-norm"`` (Γ-reweighted MGDA, paper eq. 7–8): with the weights rescaled to mean one,
      w̃_i = w_i · k / Σ w, solve λ* = argmin_{λ∈Δ} ‖Σ_i λ_i w̃_i g_i‖² and return d = Σ_i λ*_i w̃_i g_i.

    Why the rescaling: Γ entries are ~1/n, so eq. 8 taken literally shrinks the step with n. λ* is invariant to a
    common positive factor on all vectors, so d is eq. 8's direction times k / Σ w — a positive scalar that makes a
    MosT step with learning rate η move a model about as far as an MGDA step with the same η, whatever n is, and
    uniform weights give exactly MGDA. With ``unweighted`` λ* is applied to the raw g_i instead (the paper's
    research code for federated pseudo-gradients).
    """
    k = vectors.shape[0]
    if k == 0:
        return Direction(torch.zeros(vectors.shape[1], dtype=vectors.dtype), np.zeros(0), 0.0)
    w = np.asarray(weights, dtype=np.float64)
    if rule == "mean":
        coef = torch.as_tensor(w / w.sum(), dtype=vectors.dtype, device=vectors.device)
        return Direction(coef @ vectors, w / w.sum(), 0.0)
    scaled_w = w * (k / w.sum())
    sw = torch.as_tensor(scaled_w, dtype=vectors.dtype, device=vectors.device)
    basis = vectors if subset is None else vectors[:, list(subset)]
    scaled = basis * sw[:, None]
    t0 = time.perf_counter()
    gram = (scaled @ scaled.T).detach().to("cpu", torch.float64).numpy()
    lam = solve_gram(gram, tol=tol).weights
    seconds = time.perf_counter() - t0
    coef_np = lam if unweighted else lam * scaled_w
    coef = torch.as_tensor(coef_np, dtype=vectors.dtype, device=vectors.device)
    return Direction(coef @ vectors, lam, seconds)
