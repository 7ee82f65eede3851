r"""MosT (paper Algorithm 1), MosT-E (section 3.2) and the ablations of Appendix A.5.

Each round: ℓ = C shifted non-negative and divided by its mean (so ``tau`` is in units of the mean loss);
marginals from the curriculum (:func:`most.solvers.transport.curriculum_marginals`) or uniform;
Γ = OT(ℓ, α, β, τ) warm-started from the previous plan; each solution then takes a Γ-reweighted MGDA step
(:func:`most.methods.base.combine`) over its active objectives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from most.methods.base import Combine, Method, MethodConfig
from most.solvers import transport as ot_solvers

Marginals = Literal["both", "rows", "columns", "columns-soft"]


@dataclass(frozen=True, kw_only=True)
class MostConfig(MethodConfig):
    """MosT options.

    Attributes:
        prune_tol: as in :class:`MethodConfig`; default 0.5 here. The min-norm value is at most the smallest
            weighted vector's norm, so objectives carrying a small weight in column j (curriculum rows with small
            α_i, or the remainder of a row split between models) would shrink model j's whole step; measured on
            fl-syn-0.0 (3 seeds): 0.5 gives 86.1 ± 1.0 % mean client accuracy against 81.7 % (seed 0) at 0.
        tau: diversity regulariser weight τ (eq. 4–5), relative to the mean loss.
        solver: OT solver, ``"emd"`` (exact), ``"sinkhorn"`` or ``"ipot"``.
        reg: entropic regularisation / proximal step of the iterative solvers (relative to the cost range).
        curriculum: use the solution-specialisation curriculum of section 3.3 (else uniform α, β).
        curriculum_decay: s_t = decay^t.
        top_fraction: k = max(⌊top_fraction · n⌋, 1) smallest losses define β_perf.
        inner_steps: K descent steps per OT solve.
        warm_start: start the regularised OT from the previous plan.
        marginals: ``"both"`` (MosT), ``"rows"`` (objective selects model, MosT-O), ``"columns"`` (model selects
            objective, MosT-M), ``"columns-soft"`` (MosT-M soft).
        temperature: softmax temperature of ``"columns-soft"``, relative to the mean loss.
        combine: ``"min-norm"`` (MosT) or ``"mean"`` (Γ-weighted average, MosT-L).
        unweighted_direction: apply λ to the unweighted vectors (the research code's federated update).
        warmup: rounds at the start in which every objective weighs the same and gradients are averaged
            (FedAvg for every model, as the paper's federated runs did for 3 rounds) before Γ is used.
    """

    prune_tol: float = 0.5
    tau: float = 0.1
    solver: ot_solvers.Solver = "emd"
    reg: float = 0.01
    curriculum: bool = True
    curriculum_decay: float = 0.995
    top_fraction: float = 0.1
    inner_steps: int = 1
    warm_start: bool = True
    marginals: Marginals = "both"
    temperature: float = 0.1
    combine: Combine = "min-norm"
    unweighted_direction: bool = False
    warmup: int = 0

    def __post_init__(self) -> None:
        if self.tau < 0:
            raise ValueError(f"tau must be >= 0, got {self.tau}")
        if self.inner_steps < 1:
            raise ValueError(f"inner_steps must be >= 1, got {self.inner_steps}")
        if self.solver not in ot_solvers.SOLVERS:
            raise ValueError(f"unknown OT solver {self.solver!r}; choose one of {', '.join(ot_solvers.SOLVERS)}")
        if self.marginals not in ("both", "rows", "columns", "columns-soft"):
            raise ValueError(f"marginals must be both, rows, columns or columns-soft, got {self.marginals!r}")
        if self.combine not in ("min-norm", "mean"):
            raise ValueError(f"combine must be 'min-norm' or 'mean', got {self.combine!r}")


class Most(Method):
    """MosT: optimal-transport assignment of objectives to solutions + Γ-reweighted MGDA (paper Algorithm 1)."""

    name = "most"
    config_class = MostConfig
    uses_transport = True
    config: MostConfig

    def __init__(self, config: MethodConfig | None = None) -> None:
        super().__init__(config)
        self.plan: np.ndarray | None = None
        self.warming = False

    @property
    def combine_rule(self) -> Combine:  # type: ignore[override]
        return "mean" if self.warming else self.config.combine

    @property
    def inner_steps(self) -> int:
        return self.config.inner_steps

    @property
    def unweighted_direction(self) -> bool:
        return self.config.unweighted_direction

    def setup(self, n: int, m: int, rng: np.random.Generator) -> None:
        if self.config.marginals == "both" and m > n:
            raise ValueError(
                f"method {self.name!r} needs at least as many objectives as solutions (n={n}, m={m}): "
                "with fewer objectives than solutions use 'most-e', which adds Dirichlet-weighted objectives"
            )
        super().setup(n, m, rng)
        self.plan = None

    def marginals(self, cost: np.ndarray, step: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(α, β) for this round: curriculum marginals, or None (uniform)."""
        if not self.config.curriculum:
            return None, None
        s = ot_solvers.curriculum_schedule(step, decay=self.config.curriculum_decay)
        return ot_solvers.curriculum_marginals(cost, s, top_fraction=self.config.top_fraction)

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        cfg = self.config
        self.warming = step < cfg.warmup
        if self.warming:
            return np.ones_like(losses)
        ell = ot_solvers.normalised_cost(losses) * losses.size  # mean entry 1: τ is relative to the mean loss
        alpha, beta = self.marginals(ell, step)
        if cfg.marginals == "rows":
            plan = ot_solvers.assign_rows(ell, alpha)
        elif cfg.marginals == "columns":
            plan = ot_solvers.assign_columns(ell, beta)
        elif cfg.marginals == "columns-soft":
            plan = ot_solvers.assign_columns_soft(ell, beta, temperature=cfg.temperature)
        else:
            plan = ot_solvers.assign(
                ell,
                alpha,
                beta,
                tau=cfg.tau,
                solver=cfg.solver,
                reg=cfg.reg,
                init=self.plan if cfg.warm_start else None,
            )
        self.plan = np.asarray(plan)
        return self.plan

    def state_dict(self) -> dict[str, Any]:
        return {"plan": self.plan}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.plan = state.get("plan")


@dataclass(frozen=True, kw_only=True)
class MostEConfig(MostConfig):
    """MosT-E options (section 3.2): n_extended objectives in all, the n originals plus n_extended − n auxiliary
    objectives L'_k = Σ_l w_kl L_l with w_k ~ Dirichlet(concentration · 1_n)."""

    n_extended: int = 25
    concentration: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.concentration <= 0:
            raise ValueError(f"concentration must be positive, got {self.concentration}")


class MostE(Most):
    """MosT-E: MosT on the n given objectives plus Dirichlet-weighted convex combinations of them (eq. 9)."""

    name = "most-e"
    config_class = MostEConfig
    config: MostEConfig

    def expansion(self, n: int, rng: np.random.Generator) -> np.ndarray:
        extra = max(self.config.n_extended - n, 0)
        mix = rng.dirichlet(np.full(n, self.config.concentration), size=extra) if extra else np.zeros((0, n))
        return np.vstack([np.eye(n), mix])
