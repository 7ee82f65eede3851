r"""FedProx's Synthetic(α, β) federated data (Li et al. 2020, "Federated Optimization in Heterogeneous
Networks", MLSys).

The paper's "Syn(ρ₁, ρ₂)" (appendix A.4.2) is this generator with ρ₁ = α, ρ₂ = β. For client k = 1..K:

    u_k ~ N(0, α²),  B_k ~ N(0, β²)              (α, β are standard deviations)
    v_k ~ N(B_k, 1) entrywise, v_k ∈ R^d          (the client's input mean)
    W_k ∈ R^{d×C}, b_k ∈ R^C, entries ~ N(u_k, 1)  (the client's labelling model)
    x ~ N(v_k, Σ), Σ = diag(j^{-1.2}), j = 1..d   (so feature j has standard deviation j^{-0.6})
    y = argmax_c (x W_k + b_k)_c

with d = 60, C = 10, K = 30 by default. FedProx draws client sizes ⌊LogNormal(4, 2)⌋ + 50
(``samples="lognormal"``); the MosT experiments used 100 samples per client (the default here).

**α does not change the labels.** W_k = u_k 1 1ᵀ + Z_k and b_k = u_k 1 + z_k with Z_k, z_k standard normal, so
x W_k + b_k = u_k (Σ_j x_j + 1) 1 + x Z_k + z_k: the u_k term adds the same amount to every class's logit and
the argmax ignores it. With this generator's draw order (u_k shifts already-drawn standard normals)
Synthetic(α, β) and Synthetic(α', β) with the same seed have the same inputs and, up to floating-point
near-ties, the same labels. Heterogeneity in practice comes from β (client input means) and from the
per-client Z_k, which differ even at α = β = 0. This is a property of FedProx's definition, kept here for
fidelity.

Randomness: numpy's ``Generator`` (PCG64). ``seed`` is the *data* seed, separate from any training seed: a
``SeedSequence(seed)`` spawns one child per client, so client k's data depends only on (seed, k, α, β, d, C,
samples) — the first K clients of a larger dataset equal a K-client dataset with the same seed. Within a
client the draws are, in order: u_k, B_k, v_k, W_k, b_k, the size (lognormal only), x, and one integer that
seeds the 6:2:2 train/val/test shuffle (:func:`most.data.federated.split_client`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from most.data.federated import FederatedDataset, split_client

LOGNORMAL_MEAN = 4.0
"""FedProx's client-size law: ⌊LogNormal(mean, sigma)⌋ + offset."""
LOGNORMAL_SIGMA = 2.0
LOGNORMAL_OFFSET = 50
COVARIANCE_DECAY = 1.2
"""Σ_jj = j^(-COVARIANCE_DECAY), j = 1..d."""


def synthetic(
    alpha: float,
    beta: float,
    *,
    clients: int = 30,
    dim: int = 60,
    classes: int = 10,
    samples: int | Literal["lognormal"] = 100,
    seed: int = 0,
) -> FederatedDataset:
    """FedProx Synthetic(α, β): ``clients`` clients with inputs (d,) float32 and labels in [0, classes).

    Args:
        alpha: standard deviation α >= 0 of the per-client model mean u_k (module note: it cannot change y).
        beta: standard deviation β >= 0 of the per-client input-mean centre B_k.
        clients: number of clients K >= 1.
        dim: input dimension d >= 1.
        classes: number of classes C >= 2.
        samples: samples per client (>= 3, so every split is non-empty), or ``"lognormal"`` for FedProx's
            ⌊LogNormal(4, 2)⌋ + 50.
        seed: data seed (numpy ``SeedSequence``).

    Returns:
        A :class:`FederatedDataset` named ``"synthetic(α,β)"``, each client split train : val : test = 6:2:2.
    """
    if alpha < 0 or beta < 0:
        raise ValueError(f"alpha and beta are standard deviations and must be >= 0, got {alpha}, {beta}")
    if clients < 1 or dim < 1 or classes < 2:
        raise ValueError(f"need clients >= 1, dim >= 1, classes >= 2; got {clients}, {dim}, {classes}")
    if samples != "lognormal" and (not isinstance(samples, int) or samples < 3):
        raise ValueError(f"samples must be an int >= 3 or 'lognormal', got {samples!r}")

    std_x = np.arange(1, dim + 1, dtype=np.float64) ** (-COVARIANCE_DECAY / 2)  # sqrt of diag(Σ), (d,)
    out = []
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(clients)):
        rng = np.random.default_rng(child)
        u = rng.normal(0.0, alpha)
        centre = rng.normal(0.0, beta)
        v = rng.normal(centre, 1.0, size=dim)  # (d,)
        w = rng.normal(u, 1.0, size=(dim, classes))  # (d, C)
        b = rng.normal(u, 1.0, size=classes)  # (C,)
        n = (
            int(np.floor(rng.lognormal(LOGNORMAL_MEAN, LOGNORMAL_SIGMA))) + LOGNORMAL_OFFSET
            if samples == "lognormal"
            else int(samples)
        )
        x = v + rng.standard_normal((n, dim)) * std_x  # (n, d) ~ N(v, Σ)
        y = np.argmax(x @ w + b, axis=1)  # (n,)
        split_seed = int(rng.integers(0, 2**62))
        out.append(
            split_client(
                torch.from_numpy(x.astype(np.float32)),
                torch.from_numpy(y.astype(np.int64)),
                torch.Generator().manual_seed(split_seed),
                name=f"client{k}",
            )
        )
    sizes = "lognormal(4, 2) + 50" if samples == "lognormal" else str(samples)
    return FederatedDataset(
        name=f"synthetic({alpha:g},{beta:g})",
        clients=out,
        num_classes=classes,
        input_shape=(dim,),
        description=f"FedProx Synthetic(alpha={alpha:g}, beta={beta:g}), d={dim}, samples/client={sizes}, "
        f"data seed {seed}",
    )
