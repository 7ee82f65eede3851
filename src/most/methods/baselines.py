"""The paper's gradient baselines (section 6.1, A.5.1): MGDA, Linearization and w-MGDA, each run for m solutions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from most.methods.base import Method, MethodConfig


class Mgda(Method):
    """MGDA (Désidéri 2012) run independently for each of the m solutions: the min-norm common descent direction
    of all n objectives; the m solutions differ only by their initialisation."""

    name = "mgda"

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        return np.ones_like(losses)


@dataclass(frozen=True, kw_only=True)
class PreferenceConfig(MethodConfig):
    """Fixed objective weights per solution.

    Attributes:
        concentration: each solution's weights are drawn once from Dirichlet(concentration · 1_n).
        preferences: explicit (n, m) weights instead (column j is solution j's weighting), e.g. one-hot columns.
    """

    concentration: float = 1.0
    preferences: tuple[tuple[float, ...], ...] | None = None


class _Preference(Method):
    config_class = PreferenceConfig
    config: PreferenceConfig

    def __init__(self, config: MethodConfig | None = None) -> None:
        super().__init__(config)
        self.prefs: np.ndarray | None = None

    def setup(self, n: int, m: int, rng: np.random.Generator) -> None:
        super().setup(n, m, rng)
        if self.config.preferences is not None:
            prefs = np.asarray(self.config.preferences, dtype=np.float64)
            if prefs.shape != (n, m):
                raise ValueError(f"preferences must have shape (n, m) = ({n}, {m}), got {prefs.shape}")
            if np.any(prefs < 0) or np.any(prefs.sum(axis=0) <= 0):
                raise ValueError("preferences must be non-negative with a positive sum in every column")
            self.prefs = prefs / prefs.sum(axis=0, keepdims=True)
        else:
            self.prefs = rng.dirichlet(np.full(n, self.config.concentration), size=m).T

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        assert self.prefs is not None, "setup() was not called"
        return self.prefs

    def state_dict(self) -> dict[str, Any]:
        return {"prefs": self.prefs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.prefs = state.get("prefs")


class Linearization(_Preference):
    """Linear scalarisation: solution j descends Σ_i w_ij L_i for a random simplex weighting w_·j (section 6.1)."""

    name = "linearization"
    combine_rule = "mean"


class WeightedMgda(_Preference):
    """w-MGDA (A.5.1): MGDA on objectives reweighted by fixed random weights, one weighting per solution."""

    name = "w-mgda"
    combine_rule = "min-norm"
