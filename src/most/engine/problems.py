r"""Problems the centralised engine optimises: m stacked solutions in, loss matrix and Jacobians out.

A :class:`Problem` maps solutions Θ (m, d) to C (n, m) with C[i, j] = L_i(θ_j) and, when asked, the Jacobians
J (m, n, d) with J[j, i] = ∇L_i(θ_j), vectorised over the m solutions with ``torch.func`` (vmap of jacrev/jacfwd) —
no Python loop over solutions × objectives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import nn
from torch.func import functional_call, jacfwd, jacrev, vmap


@runtime_checkable
class Problem(Protocol):
    """n objectives of a flat parameter vector of length d."""

    n_objectives: int

    def evaluate(self, thetas: torch.Tensor, *, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """C (n, m) and, when ``grad``, J (m, n, d) at solutions ``thetas`` (m, d)."""
        ...

    def next_step(self, step: int, generator: torch.Generator) -> None:
        """Called before every step (e.g. to draw minibatches); a full-batch problem does nothing."""
        ...


class VectorProblem:
    """Wraps a callable ``objectives``: params (d,) → (n,) values, written with vmap-compatible torch ops."""

    def __init__(self, objectives: Callable[[torch.Tensor], torch.Tensor], n_objectives: int, dim: int) -> None:
        self.objectives = objectives
        self.n_objectives = n_objectives
        self.dim = dim

    @classmethod
    def probe(cls, objectives: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor) -> VectorProblem:
        """Evaluate once at ``example`` (d,) to learn n; errors name the bad shape."""
        with torch.no_grad():
            out = objectives(example)
        if not isinstance(out, torch.Tensor) or out.ndim != 1:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"objectives must map params ({example.shape[0]},) to a 1-D tensor (n,), got {shape}")
        return cls(objectives, out.shape[0], example.shape[0])

    def _with_aux(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.objectives(theta)
        return out, out.detach()

    def evaluate(self, thetas: torch.Tensor, *, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not grad:
            with torch.no_grad():
                return vmap(self.objectives)(thetas).T, None
        # reverse mode costs n vector-Jacobian products, forward mode d Jacobian-vector products: take the cheaper
        jac = jacfwd if self.dim < self.n_objectives else jacrev
        J, values = vmap(jac(self._with_aux, has_aux=True))(thetas)
        return values.T, J

    def next_step(self, step: int, generator: torch.Generator) -> None:
        return None


class ModuleProblem:
    r"""n objectives L_i(θ) = mean_s loss(f_θ(x_is), y_is) of one ``nn.Module`` f on per-objective data.

    The module's parameters are flattened into θ (d,); the m solutions are m such vectors, evaluated with
    ``functional_call`` under vmap over solutions and objectives. Objectives may hold different numbers of
    samples: they are padded to the largest and masked. With ``batch_size`` each step draws that many samples per
    objective (with replacement when an objective holds fewer).

    Args:
        module: the architecture (its current parameters are only a template).
        data: one (inputs, targets) pair per objective.
        loss: elementwise loss, ``loss(outputs, targets) -> (batch,)`` (e.g. ``cross_entropy(..., reduction="none")``).
        batch_size: minibatch per objective and step; None = full batch.
    """

    def __init__(
        self,
        module: nn.Module,
        data: Sequence[tuple[torch.Tensor, torch.Tensor]],
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        *,
        batch_size: int | None = None,
    ) -> None:
        if len(data) == 0:
            raise ValueError("ModuleProblem needs at least one objective's data")
        for i, (x, y) in enumerate(data):
            if x.shape[0] == 0:
                raise ValueError(f"objective {i} has no samples")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"objective {i}: inputs have {x.shape[0]} rows but targets {y.shape[0]}")
        self.module = module
        self.loss = loss
        self.batch_size = batch_size
        self.n_objectives = len(data)
        self.names = [name for name, _ in module.named_parameters()]
        self.shapes = [p.shape for _, p in module.named_parameters()]
        self.sizes = [p.numel() for _, p in module.named_parameters()]
        self.dim = sum(self.sizes)
        self.counts = torch.tensor([x.shape[0] for x, _ in data])
        width = int(self.counts.max())
        self.inputs = torch.stack([_pad(x, width) for x, _ in data])  # (n, N, ...)
        self.targets = torch.stack([_pad(y, width) for _, y in data])  # (n, N, ...)
        self.mask = (torch.arange(width)[None, :] < self.counts[:, None]).to(self.inputs.dtype)  # (n, N)
        self._batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = (self.inputs, self.targets, self.mask)

    def flatten(self, module: nn.Module | None = None) -> torch.Tensor:
        """The flat parameter vector (d,) of ``module`` (default: the template)."""
        mod = module if module is not None else self.module
        return torch.cat([p.detach().reshape(-1) for p in mod.parameters()])

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Parameter dict for ``functional_call`` from a flat vector (d,)."""
        parts = torch.split(theta, self.sizes)
        return {n: p.reshape(s) for n, p, s in zip(self.names, parts, self.shapes, strict=True)}

    def load(self, theta: torch.Tensor, module: nn.Module | None = None) -> nn.Module:
        """Copy a flat solution (d,) into ``module`` (default: the template) and return it."""
        mod = module if module is not None else self.module
        with torch.no_grad():
            for p, v in zip(mod.parameters(), self.unflatten(theta).values(), strict=True):
                p.copy_(v)
        return mod

    def next_step(self, step: int, generator: torch.Generator) -> None:
        if self.batch_size is None:
            return
        n = self.n_objectives
        u = torch.rand(n, self.batch_size, generator=generator)
        idx = (u * self.counts[:, None]).long()  # uniform over each objective's own samples
        rows = torch.arange(n)[:, None]
        self._batch = (self.inputs[rows, idx], self.targets[rows, idx], torch.ones(n, self.batch_size))

    def _losses(self, theta: torch.Tensor) -> torch.Tensor:
        params = self.unflatten(theta)
        x, y, mask = self._batch

        def one(xi: torch.Tensor, yi: torch.Tensor, mi: torch.Tensor) -> torch.Tensor:
            per_sample = self.loss(functional_call(self.module, params, (xi,)), yi)
            return (per_sample * mi).sum() / mi.sum()

        return vmap(one)(x, y, mask)

    def _with_aux(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._losses(theta)
        return out, out.detach()

    def evaluate(self, thetas: torch.Tensor, *, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not grad:
            with torch.no_grad():
                return vmap(self._losses)(thetas).T, None
        J, values = vmap(jacrev(self._with_aux, has_aux=True))(thetas)
        return values.T, J


def _pad(t: torch.Tensor, width: int) -> torch.Tensor:
    """Pad dim 0 to ``width`` by repeating the first row (masked out of the loss)."""
    if t.shape[0] == width:
        return t
    filler = t[:1].expand(width - t.shape[0], *t.shape[1:])
    return torch.cat([t, filler])
