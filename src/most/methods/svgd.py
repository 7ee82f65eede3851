r"""MOO-SVGD — multi-objective Stein variational gradient descent (Liu, Tong & Liu, NeurIPS 2021, "Profiling Pareto
Front With Multi-Objective Stein Variational Gradient Descent").

The m solutions are particles. Each has its MGDA common-descent direction g_k = Σ_i λ*_ik ∇f_i(θ_k)
(λ*_k the min-norm weights of its n gradients); the particles then move together, as in SVGD, by a kernel-smoothed
driving force plus a repulsive force:

.. math::

    D_j = \frac1m \sum_{k=1}^m \Big[ K_{jk}\, g_k + \alpha\, \nabla_{\theta_j} K_{jk} \Big],
    \qquad \theta_j \leftarrow \theta_j - \eta D_j ,

with an RBF kernel K_jk = exp(−‖z_j − z_k‖² / h) on ``kernel_space`` features z: the objective vectors
z_j = F(θ_j) (n,) — Liu et al.'s ZDT experiments — so ∇_{θ_j} K_jk = −(2/h) K_jk J_jᵀ (F_j − F_k) with J_j the
(n, d) Jacobian; or the parameters z_j = θ_j, ∇_{θ_j} K_jk = −(2/h) K_jk (θ_j − θ_k). Descending K pushes particle j
away from the others (in objective space: towards different trade-offs). The bandwidth is the median heuristic
h = med_{j<k} ‖z_j − z_k‖² / log m unless given. The repulsion can raise objectives: MOO-SVGD trades exact
Pareto descent for spread.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from most.methods.base import Method, MethodConfig
from most.solvers.min_norm import solve_gram

KernelSpace = Literal["objectives", "parameters"]


@dataclass(frozen=True, kw_only=True)
class SvgdConfig(MethodConfig):
    """MOO-SVGD options (Liu et al. 2021).

    Attributes:
        repulsion: α, the weight of the repulsive kernel-gradient term. Default 1.
        kernel_space: ``"objectives"`` (kernel on F(θ), as in the paper's ZDT runs) or ``"parameters"``.
        bandwidth: RBF bandwidth h; ``None`` = median heuristic med ‖z_j − z_k‖² / log m (h = 1 when m ≤ 2 or
            all points coincide).
        normalize_gradients: divide each ∇f_i(θ_j) by its norm before the min-norm step (Liu et al.'s ZDT code
            normalises gradients); default off.
    """

    repulsion: float = 1.0
    kernel_space: KernelSpace = "objectives"
    bandwidth: float | None = None
    normalize_gradients: bool = False

    def __post_init__(self) -> None:
        if self.repulsion < 0:
            raise ValueError(f"repulsion must be >= 0, got {self.repulsion}")
        if self.kernel_space not in ("objectives", "parameters"):
            raise ValueError(f"kernel_space must be 'objectives' or 'parameters', got {self.kernel_space!r}")
        if self.bandwidth is not None and not self.bandwidth > 0:
            raise ValueError(f"bandwidth must be positive, got {self.bandwidth}")


def rbf_kernel(z: torch.Tensor, bandwidth: float | None = None) -> tuple[torch.Tensor, float]:
    """K (m, m) = exp(−‖z_j − z_k‖²/h) for features z (m, p), and h (median heuristic when ``bandwidth`` is None)."""
    sq = torch.cdist(z, z).pow(2)
    m = z.shape[0]
    if bandwidth is None:
        iu = torch.triu_indices(m, m, offset=1)
        pairs = sq[iu[0], iu[1]]
        med = float(pairs.median()) if pairs.numel() else 0.0
        h = med / math.log(m) if m > 2 and med > 0 else (med if med > 0 else 1.0)
    else:
        h = bandwidth
    return torch.exp(-sq / h), h


class Svgd(Method):
    """MOO-SVGD (Liu et al. 2021): MGDA directions smoothed across particles by a kernel, plus kernel repulsion."""

    name = "svgd"
    config_class = SvgdConfig
    config: SvgdConfig

    def weights(self, losses: np.ndarray, step: int) -> np.ndarray:
        """Every solution uses all n objectives."""
        return np.ones_like(losses)

    def directions(
        self, thetas: torch.Tensor, losses: np.ndarray, jacobians: torch.Tensor, weights: np.ndarray
    ) -> tuple[torch.Tensor, list[np.ndarray], float]:
        """D (m, d) from the module formula; shapes as in :meth:`Method.directions`."""
        cfg = self.config
        m = thetas.shape[0]
        J = jacobians
        if cfg.normalize_gradients:
            J = J / J.norm(dim=2, keepdim=True).clamp_min(1e-12)
        t0 = time.perf_counter()
        grams = torch.einsum("mid,mkd->mik", J, J).detach().to("cpu", torch.float64).numpy()
        lams = [solve_gram(grams[j], tol=cfg.min_norm_tol).weights for j in range(m)]
        seconds = time.perf_counter() - t0
        lam_t = torch.as_tensor(np.stack(lams), dtype=thetas.dtype, device=thetas.device)  # (m, n)
        g = torch.einsum("mn,mnd->md", lam_t, J)  # MGDA direction per particle
        F = torch.as_tensor(losses.T, dtype=thetas.dtype, device=thetas.device)  # (m, n)
        z = F if cfg.kernel_space == "objectives" else thetas
        K, h = rbf_kernel(z, cfg.bandwidth)
        drive = K @ g  # Σ_k K_jk g_k
        diff = z[:, None, :] - z[None, :, :]  # (m, m, p): z_j − z_k
        pull = (K[:, :, None] * diff).sum(dim=1)  # Σ_k K_jk (z_j − z_k), (m, p)
        # ∇_{θ_j} Σ_k K_jk = −(2/h) Σ_k K_jk ∂z_j/∂θ_jᵀ (z_j − z_k)
        grad_k = torch.einsum("mn,mnd->md", pull, jacobians) if cfg.kernel_space == "objectives" else pull
        grad_k = -(2.0 / h) * grad_k
        out = (drive + cfg.repulsion * grad_k) / m
        return out, lams, seconds
