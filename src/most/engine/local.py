r"""Local training of many (client, model) pairs at once — the client side of a federated round.

Pair p = (client i, model j) starts from θ_j and runs ``epochs`` epochs of minibatch SGD with momentum on client i's
training split; it returns the pseudo-gradient Δ_p = θ_j − θ_p^{local} and its mean training loss in the last local
epoch. All pairs move in lock-step as one batched computation: the per-sample loss is vmapped over pairs with
``torch.func`` (a single batched matmul for the linear model), never a Python loop over pairs. Clients hold
different numbers of samples: data are padded to the largest client and masked, and a pair stops stepping once its
own epoch is done.

Optionally (FedProx) each local objective adds μ/2 ‖θ − θ_start‖².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


@dataclass(frozen=True, kw_only=True)
class LocalConfig:
    """Client-side SGD (defaults: the paper's Synthetic setting, DESIGN.md §2b).

    Attributes:
        lr: local learning rate.
        momentum: heavy-ball momentum (buffer reset every round).
        batch_size: minibatch size.
        epochs: local epochs K per round.
        lr_decay: the learning rate is multiplied by this every ``lr_decay_every`` rounds.
        lr_decay_every: rounds between decays.
    """

    lr: float = 0.05
    momentum: float = 0.5
    batch_size: int = 20
    epochs: int = 4
    lr_decay: float = 0.995
    lr_decay_every: int = 10

    def __post_init__(self) -> None:
        if not self.lr > 0 or self.batch_size < 1 or self.epochs < 1 or not 0 <= self.momentum < 1:
            raise ValueError(f"invalid local training config: {self}")

    def lr_at(self, round_: int) -> float:
        """Local learning rate in round ``round_``."""
        return self.lr * self.lr_decay ** (round_ // self.lr_decay_every)


class Padded:
    """Clients' samples padded to a common length: x (n, N, *shape), y (n, N), counts (n,), mask (n, N)."""

    def __init__(self, xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor]) -> None:
        counts = [int(x.shape[0]) for x in xs]
        for i, c in enumerate(counts):
            if c == 0:
                raise ValueError(f"client {i} has no samples")
        width = max(counts)
        self.counts = torch.tensor(counts)
        self.x = torch.stack([_pad(x, width) for x in xs])
        self.y = torch.stack([_pad(y, width) for y in ys])
        self.mask = (torch.arange(width)[None, :] < self.counts[:, None]).to(self.x.dtype)

    @property
    def width(self) -> int:
        return int(self.x.shape[1])


def _pad(t: torch.Tensor, width: int) -> torch.Tensor:
    if t.shape[0] == width:
        return t
    return torch.cat([t, t[:1].expand(width - t.shape[0], *t.shape[1:])])


class FlatModel:
    """An ``nn.Module`` seen as a function of a flat parameter vector θ (d,)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        named = list(module.named_parameters())
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.dim = sum(self.sizes)
        # multinomial logistic regression (flatten + one Linear) gets the closed-form batched path
        from most.models import LogisticRegression

        self.linear = isinstance(module, LogisticRegression)
        if self.linear:
            self.classes, self.features = int(self.shapes[0][0]), int(self.shapes[0][1])

    def flatten(self, module: nn.Module | None = None) -> torch.Tensor:
        mod = module if module is not None else self.module
        return torch.cat([p.detach().reshape(-1) for p in mod.parameters()])

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(theta, self.sizes, dim=-1)
        lead = theta.shape[:-1]
        return {n: p.reshape(*lead, *s) for n, p, s in zip(self.names, parts, self.shapes, strict=True)}

    def logits(self, thetas: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits for P parameter vectors on P batches: thetas (P, d), x (P, B, *shape) → (P, B, classes)."""
        if self.linear:
            W = thetas[:, : self.classes * self.features].reshape(-1, self.classes, self.features)
            b = thetas[:, self.classes * self.features :]
            return torch.baddbmm(b[:, None, :], x.reshape(x.shape[0], x.shape[1], -1), W.transpose(1, 2))

        def one(theta: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
            return functional_call(self.module, self.unflatten(theta), (xb,))

        return vmap(one)(thetas, x)


def _masked_ce(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-pair mean cross-entropy over valid samples: logits (P, B, C), y (P, B), mask (P, B) → (P,)."""
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, y[..., None]).squeeze(-1)
    return (nll * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)


class PairTrainer:
    """Trains pairs (client, start parameters) in parallel; see the module docstring."""

    def __init__(self, model: FlatModel, train: Padded, config: LocalConfig) -> None:
        self.model = model
        self.data = train
        self.config = config

        def loss_one(theta: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, mb: torch.Tensor) -> torch.Tensor:
            out = functional_call(model.module, model.unflatten(theta), (xb,))
            logp = torch.log_softmax(out, dim=-1)
            nll = -logp.gather(-1, yb[:, None]).squeeze(-1)
            return (nll * mb).sum() / mb.sum().clamp_min(1.0)

        self._grad = vmap(grad(loss_one, has_aux=False))
        self._loss = vmap(loss_one)

    def _linear_grad(
        self, thetas: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, with_loss: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Closed-form gradient of masked softmax cross-entropy for the linear model: (P, d), losses (P,) or None.

        With p = softmax(xWᵀ + b) and Y one-hot: ∇_W = Σ_s w_s (p_s − Y_s) x_sᵀ, ∇_b = Σ_s w_s (p_s − Y_s) with
        w_s = mask_s / Σ mask.
        """
        m = self.model
        xf = x.reshape(x.shape[0], x.shape[1], -1)
        logp = torch.log_softmax(m.logits(thetas, x), dim=-1)
        w = mask / mask.sum(-1, keepdim=True).clamp_min(1.0)  # (P, B)
        err = logp.exp()
        err.scatter_add_(-1, y[..., None], -torch.ones_like(y[..., None], dtype=err.dtype))
        err.mul_(w[..., None])  # (P, B, C)
        gW = torch.bmm(err.transpose(1, 2), xf)  # (P, C, F)
        gb = err.sum(1)
        loss = -(logp.gather(-1, y[..., None]).squeeze(-1) * w).sum(-1) if with_loss else None
        return torch.cat([gW.reshape(gW.shape[0], -1), gb], dim=1), loss

    def gradients(
        self,
        thetas: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor,
        with_loss: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Minibatch gradients (P, d) and, when asked, losses (P,) for P parameter vectors on P batches."""
        if self.model.linear:
            return self._linear_grad(thetas, x, y, mask, with_loss)
        loss = None
        if with_loss:
            with torch.no_grad():
                loss = self._loss(thetas, x, y, mask)
        return self._grad(thetas, x, y, mask), loss

    def train(
        self,
        clients: torch.Tensor,
        start: torch.Tensor,
        round_: int,
        generator: torch.Generator,
        *,
        prox_mu: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run local SGD for P pairs.

        Args:
            clients: (P,) client index of each pair.
            start: (P, d) starting parameters of each pair.
            round_: round index (for the learning-rate decay).
            generator: torch generator for the shuffles.
            prox_mu: FedProx proximal weight μ (0: plain SGD).

        Returns:
            Δ (P, d) = start − local parameters, and (P,) mean training loss over the last local epoch.
        """
        cfg = self.config
        lr = cfg.lr_at(round_)
        P = int(clients.shape[0])
        counts = self.data.counts[clients]  # (P,)
        B = cfg.batch_size
        steps_per_epoch = (counts + B - 1) // B  # (P,)
        max_steps = int(steps_per_epoch.max()) if P else 0
        theta = start.clone()
        buf = torch.zeros_like(theta)
        width = self.data.width
        last_loss = torch.zeros(P, dtype=theta.dtype)
        last_n = torch.zeros(P, dtype=theta.dtype)
        rows = clients[:, None]
        positions = torch.arange(width)
        for epoch in range(cfg.epochs):
            last = epoch == cfg.epochs - 1
            keys = torch.rand(P, width, generator=generator)
            keys[positions[None, :] >= counts[:, None]] = math.inf  # padding sorts last
            order = keys.argsort(dim=1)
            xs, ys = (
                self.data.x[rows, order],
                self.data.y[rows, order],
            )  # one gather per epoch; batches are views
            for s in range(max_steps):
                lo, hi = s * B, min((s + 1) * B, width)
                valid = (positions[None, lo:hi] < counts[:, None]).to(theta.dtype)  # (P, b)
                live = valid[:, 0] > 0
                if not bool(live.any()):
                    break
                g, loss = self.gradients(theta, xs[:, lo:hi], ys[:, lo:hi], valid, with_loss=last)
                if prox_mu:
                    g = g + prox_mu * (theta - start)
                if not bool(live.all()):
                    g = g * live[:, None].to(g.dtype)
                buf = cfg.momentum * buf + g
                theta = theta - lr * buf if bool(live.all()) else theta - lr * buf * live[:, None].to(g.dtype)
                if last and loss is not None:
                    nb = valid.sum(1)
                    last_loss += loss * nb
                    last_n += nb
        return start - theta, last_loss / last_n.clamp_min(1.0)

    def evaluate(
        self, thetas: torch.Tensor, data: Padded, *, chunk: int = 4096, probabilities: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Loss, accuracy (n, m) and predictive probabilities (m, n, N, C) of m models on every client's split.

        Thetas (m, d); padding is masked out of the means (probabilities at padded positions are meaningless);
        without ``probabilities`` the third value is None.
        """
        n, width = data.x.shape[0], data.width
        m = thetas.shape[0]
        losses = torch.zeros(n, m, dtype=thetas.dtype)
        accs = torch.zeros(n, m, dtype=thetas.dtype)
        probs = []
        with torch.no_grad():
            flat_x = data.x.reshape(1, n * width, *data.x.shape[2:])
            for j in range(m):
                logits = torch.cat(
                    [
                        self.model.logits(thetas[j : j + 1], flat_x[:, a : a + chunk])
                        for a in range(0, n * width, chunk)
                    ],
                    dim=1,
                ).reshape(n, width, -1)
                losses[:, j] = _masked_ce(logits, data.y, data.mask)
                correct = (logits.argmax(-1) == data.y).to(thetas.dtype) * data.mask
                accs[:, j] = correct.sum(1) / data.mask.sum(1)
                if probabilities:
                    probs.append(torch.softmax(logits, dim=-1))
        return losses, accs, torch.stack(probs) if probabilities else None
