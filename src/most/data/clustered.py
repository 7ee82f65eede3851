r"""The clustered quadratic problem: k clusters of objectives whose minimisers sit near k well-separated centres.

L_i(θ) = ‖θ − t_i‖² / 2 with t_i = c_{cluster(i)} + noise. One solution cannot serve all clusters (the Pareto set is
the convex hull of the t_i); m = k solutions, one per cluster, serve every objective well. Used by the demo, the
tests and the benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Clustered:
    """Targets (n, d), cluster labels (n,), and the objective function params (d,) → (n,)."""

    targets: torch.Tensor
    labels: torch.Tensor

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((theta[None, :] - self.targets) ** 2).sum(dim=-1)

    @property
    def n(self) -> int:
        return self.targets.shape[0]

    @property
    def dim(self) -> int:
        return self.targets.shape[1]


def clustered(
    clusters: int = 5,
    per_cluster: int = 12,
    dim: int = 8,
    *,
    spread: float = 4.0,
    noise: float = 0.3,
    seed: int = 0,
) -> Clustered:
    """``clusters`` × ``per_cluster`` quadratic objectives in ``dim`` dimensions (defaults: 5 × 12 in 8-D).

    Centres are ``spread`` times orthonormal directions (pairwise distance spread·√2); targets add N(0, noise²).
    """
    if clusters > dim:
        raise ValueError(f"need dim >= clusters for orthogonal centres, got dim={dim}, clusters={clusters}")
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    centres = spread * q[:, :clusters].T  # (clusters, dim)
    labels = torch.arange(clusters).repeat_interleave(per_cluster)
    targets = centres[labels] + noise * torch.randn(clusters * per_cluster, dim, generator=g, dtype=torch.float64)
    return Clustered(targets, labels)


def initial_solutions(m: int, dim: int, *, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """(m, dim) starting points ~ N(0, scale²), float64."""
    g = torch.Generator().manual_seed(seed + 10_000)
    return scale * torch.randn(m, dim, generator=g, dtype=torch.float64)
