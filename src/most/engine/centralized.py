r"""The centralised engine: rounds of (losses → weights → per-solution directions → step) for m stacked solutions.

One round t (paper Algorithm 1):

1. C = L(Θ) (n, m) and J (m, n, d) from the problem (vectorised over solutions).
2. MosT-E and friends map the n objectives to n' (C' = W C, J' = W J — linear, so no extra gradients).
3. W = method.weights(C', t): Γ for MosT, preferences otherwise.
4. For K inner steps, each solution j steps θ_j ← θ_j − η d_j with d_j from its active objectives
   (:meth:`most.methods.base.Method.direction`); Jacobians are recomputed between inner steps.

Every round is recorded (:class:`most.result.RoundRecord`); a checkpoint file lets an interrupted run resume.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from most.engine.problems import Problem, VectorProblem
from most.methods import Method, create
from most.metrics.divergence import symmetric_kl
from most.result import Result, RoundRecord, Timing


def _check_finite(C: torch.Tensor, J: torch.Tensor | None, step: int) -> None:
    """Name the first objective/solution pair whose loss or gradient is NaN or infinite."""
    bad = ~torch.isfinite(C)
    if bool(bad.any()):
        i, j = (int(v) for v in torch.nonzero(bad)[0])
        raise ValueError(f"objective {i} is {float(C[i, j])} at solution {j} (step {step})")
    if J is not None:
        badj = ~torch.isfinite(J).all(dim=2)  # (m, n)
        if bool(badj.any()):
            j, i = (int(v) for v in torch.nonzero(badj)[0])
            raise ValueError(f"the gradient of objective {i} at solution {j} is not finite (step {step})")


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).numpy()


def _save(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: an interrupt never leaves a half-written checkpoint


def fit(
    objectives: Callable[[torch.Tensor], torch.Tensor] | Problem,
    init: torch.Tensor,
    method: str | Method = "most",
    steps: int = 200,
    lr: float = 1e-2,
    seed: int = 0,
    *,
    bounds: tuple[float, float] | None = None,
    progress: bool | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 50,
    callback: Callable[[int, torch.Tensor, RoundRecord], None] | None = None,
    **options: Any,
) -> Result:
    r"""Train m solutions for n objectives.

    Args:
        objectives: params (d,) → (n,) objective values (vmap-compatible torch), or a :class:`Problem`
            (e.g. :class:`most.engine.problems.ModuleProblem` for an ``nn.Module`` on per-objective data).
        init: (m, d) starting solutions.
        method: a name from ``most.methods.available()`` or a configured :class:`Method`.
        steps: number of rounds T.
        lr: learning rate η; θ_j ← θ_j − η d_j.
        seed: seeds the method's randomness (preferences, MosT-E weights) and minibatch draws.
        bounds: (low, high) box the solutions are clipped to after each step (e.g. ZDT's [0, 1]).
        progress: show a progress bar (default: when stderr is a terminal and steps ≥ 100).
        checkpoint: file to save the run to every ``checkpoint_every`` rounds and at the end; when it exists the
            run resumes from it (same method, shapes and seed expected).
        callback: called after every round with (step, solutions (m, d), record).
        **options: the method's config options (see ``most.methods.describe()``).

    Returns:
        :class:`most.result.Result` with ``solutions`` (m, d), ``assignment`` (n', m), ``history``.
    """
    if not isinstance(init, torch.Tensor) or init.ndim != 2:
        shape = tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__
        raise ValueError(f"init must be an (m, d) tensor of starting solutions, got {shape}")
    if steps < 0 or not lr > 0:
        raise ValueError(f"steps must be >= 0 and lr > 0, got steps={steps}, lr={lr}")
    thetas = init.detach().clone().to(torch.get_default_dtype() if not init.is_floating_point() else init.dtype)
    m, d = thetas.shape
    problem: Problem
    if isinstance(objectives, Problem):
        problem = objectives
        if getattr(problem, "dim", d) != d:
            raise ValueError(f"init has d={d} columns but the problem's parameters have length {problem.dim}")  # type: ignore[attr-defined]
    else:
        problem = VectorProblem.probe(objectives, thetas[0])

    algo = create(method, **options)
    rng = np.random.default_rng(seed)
    expand = algo.expansion(problem.n_objectives, rng)
    n_eff = problem.n_objectives if expand is None else expand.shape[0]
    algo.setup(n_eff, m, rng)
    W_t = None if expand is None else torch.as_tensor(expand, dtype=thetas.dtype)
    gen = torch.Generator().manual_seed(seed)

    history: list[RoundRecord] = []
    start = 0
    prev_w: np.ndarray | None = None
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        if state["method"] != algo.name or tuple(state["solutions"].shape) != (m, d) or state["seed"] != seed:
            raise ValueError(
                f"checkpoint {ckpt} is for method {state['method']!r}, shape {tuple(state['solutions'].shape)}, "
                f"seed {state['seed']}; this run is {algo.name!r}, {(m, d)}, seed {seed}"
            )
        thetas, start, history = state["solutions"], state["step"], state["history"]
        algo.load_state_dict(state["method_state"])
        gen.set_state(state["generator"])
        prev_w = history[-1].weights if history else None

    def save(step: int) -> None:
        if ckpt is not None:
            payload = {
                "method": algo.name,
                "seed": seed,
                "solutions": thetas,
                "step": step,
                "history": history,
                "method_state": algo.state_dict(),
                "generator": gen.get_state(),
            }
            _save(ckpt, payload)

    show = progress if progress is not None else (steps >= 100 and sys.stderr.isatty())
    bar = tqdm(range(start, steps), desc=f"{algo.name}", disable=not show, leave=False)
    for t in bar:
        t_round = time.perf_counter()
        problem.next_step(t, gen)
        t0 = time.perf_counter()
        C, J = problem.evaluate(thetas, grad=True)
        _check_finite(C, J, t)
        t_grad = time.perf_counter() - t0
        losses_np = _np(C)
        Ce, Je = (C, J) if W_t is None else (W_t @ C, torch.einsum("kn,mnd->mkd", W_t, J))
        t0 = time.perf_counter()
        weights = np.asarray(algo.weights(_np(Ce), t), dtype=np.float64)
        t_ot = time.perf_counter() - t0
        t_mn = 0.0
        lambdas: list[np.ndarray] = []
        for k in range(algo.inner_steps):
            if k > 0:
                problem.next_step(t, gen)
                t0 = time.perf_counter()
                C, J = problem.evaluate(thetas, grad=True)
                _check_finite(C, J, t)
                Ce, Je = (C, J) if W_t is None else (W_t @ C, torch.einsum("kn,mnd->mkd", W_t, J))
                t_grad += time.perf_counter() - t0
            assert Je is not None
            step_dirs, lambdas, secs = algo.directions(thetas, _np(Ce), Je, weights)
            t_mn += secs
            thetas = thetas - lr * step_dirs
            if bounds is not None:
                thetas = thetas.clamp(bounds[0], bounds[1])
        record = RoundRecord(
            step=t,
            losses=losses_np,
            weights=weights,
            sparsity=float((weights == 0).mean()),
            weights_kl=None if prev_w is None else float(symmetric_kl(weights, prev_w)),
            lambdas=tuple(lambdas),
            seconds=Timing(t_grad, t_ot, t_mn, time.perf_counter() - t_round),
        )
        history.append(record)
        prev_w = weights
        if callback is not None:
            callback(t, thetas, record)
        if ckpt is not None and (t + 1) % checkpoint_every == 0:
            save(t + 1)
    bar.close()
    save(steps)

    final, _ = problem.evaluate(thetas, grad=False)
    assignment = history[-1].weights if history else np.zeros((n_eff, m))
    return Result(
        solutions=thetas,
        assignment=torch.as_tensor(assignment, dtype=thetas.dtype),
        losses=final.detach(),
        history=history,
        method=algo.name,
        config=algo.config,
        steps_done=len(history),
    )
