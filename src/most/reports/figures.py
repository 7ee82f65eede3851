"""PNG figures in the style of the paper's Figures 1, 2(a), 3, 4/5 and 7, from plain arrays.

Each function takes arrays (numpy or anything ``np.asarray`` accepts) and an output path, writes one PNG
(creating the parent directory) and returns the path. Rendering uses matplotlib's object API with an Agg
canvas attached to each figure: no pyplot, so no global backend switch, no figure registry to leak and never
a window.
Methods keep one colour across figures: the k-th method of a mapping gets matplotlib's colour ``C{k}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 120
PANEL_SIZE = (4.5, 3.4)
"""Width and height in inches of one panel."""


def _figure(ncols: int = 1, *, sharex: bool = False, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure with ``ncols`` panels in one row, drawn by an Agg canvas."""
    fig = Figure(figsize=(PANEL_SIZE[0] * ncols, PANEL_SIZE[1]), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False, sharex=sharex, sharey=sharey)[0]
    return fig, list(axes)


def _save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (creating the directory) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=DPI, format="png")
    return p


def _nonempty(mapping: Mapping[str, object], name: str) -> None:
    if not mapping:
        raise ValueError(f"{name} must map at least one method to its data")


def _vector(x: npt.ArrayLike, name: str) -> np.ndarray:
    """``x`` as a non-empty float64 (T,) array (None entries become NaN)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.shape[0] < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {a.shape}")
    return a


def per_client_accuracy(
    acc_by_method: Mapping[str, npt.ArrayLike], path: str | Path, *, ylabel: str = "test accuracy"
) -> Path:
    """Figure 1: each method's per-client accuracies sorted ascending, one line per method (x = client rank).

    Args:
        acc_by_method: method -> (n,) per-client score (e.g. :func:`most.metrics.accuracy.best_of_m`).
        path: output PNG.
        ylabel: y-axis label.
    """
    _nonempty(acc_by_method, "acc_by_method")
    fig, (ax,) = _figure()
    for k, (method, acc) in enumerate(acc_by_method.items()):
        v = np.sort(_vector(acc, f"acc_by_method[{method!r}]"))
        ax.plot(np.arange(1, v.shape[0] + 1), v, marker="o", markersize=3, color=f"C{k}", label=method)
    ax.set_xlabel("client rank (worst to best)")
    ax.set_ylabel(ylabel)
    ax.set_title("Per-client score of the selected model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def curves(
    curves_by_method: Mapping[str, Mapping[str, npt.ArrayLike]], path: str | Path, *, xlabel: str = "round"
) -> Path:
    """Figure 3(a): a panel per curve name (e.g. ``"train_loss"``, ``"test_accuracy"``), a line per method.

    Args:
        curves_by_method: method -> {curve name -> (T,) values per round}; panels follow the curve names in
            first-seen order, and a method missing a curve is left out of that panel. NaN values are gaps.
        path: output PNG.
        xlabel: x-axis label.
    """
    _nonempty(curves_by_method, "curves_by_method")
    names: list[str] = []
    for by_name in curves_by_method.values():
        names.extend(n for n in by_name if n not in names)
    if not names:
        raise ValueError("curves_by_method holds no curves")
    fig, axes = _figure(len(names), sharex=True)
    for ax, name in zip(axes, names, strict=True):
        for k, (method, by_name) in enumerate(curves_by_method.items()):
            if name in by_name:
                y = _vector(by_name[name], f"curves_by_method[{method!r}][{name!r}]")
                ax.plot(np.arange(y.shape[0]), y, color=f"C{k}", label=method)
        label = name.replace("_", " ")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, path)


def diversity_heatmap(mats: Mapping[str, npt.ArrayLike], path: str | Path) -> Path:
    """Figure 3(b): an (m, m) pairwise-diversity heatmap per method, shared colour scale (brighter = larger).

    Args:
        mats: method -> (m, m) matrix (e.g. :func:`most.metrics.diversity.prediction_diversity`).
        path: output PNG.
    """
    _nonempty(mats, "mats")
    arrays = {}
    for method, mat in mats.items():
        a = np.asarray(mat, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
            raise ValueError(f"mats[{method!r}] must be a square (m, m) matrix, got shape {a.shape}")
        arrays[method] = a
    finite = [a[np.isfinite(a)] for a in arrays.values()]
    vmax = max((float(f.max()) for f in finite if f.size), default=1.0)
    vmax = vmax if vmax > 0 else 1.0
    fig, axes = _figure(len(arrays))
    image = None
    for ax, (method, a) in zip(axes, arrays.items(), strict=True):
        image = ax.imshow(a, vmin=0.0, vmax=vmax, cmap="viridis")
        ticks = np.arange(a.shape[0])
        ax.set_xticks(ticks, [str(t + 1) for t in ticks])
        ax.set_yticks(ticks, [str(t + 1) for t in ticks])
        ax.set_xlabel("model")
        ax.set_ylabel("model")
        ax.set_title(method)
    if image is not None:
        fig.colorbar(image, ax=axes, label="symmetric KL of predictions")
    return _save(fig, path)


def worst_k_bars(
    tables: Mapping[str, Mapping[str, float]], path: str | Path, *, ylabel: str = "mean accuracy of group"
) -> Path:
    """Figure 3(c): grouped bars, one group per client group (e.g. ``"worst 20%"``), one bar per method.

    Args:
        tables: method -> {group label -> value} (e.g. :func:`most.metrics.accuracy.worst_k_table`); groups
            follow the labels in first-seen order; a missing label leaves a gap.
        path: output PNG.
        ylabel: y-axis label.
    """
    _nonempty(tables, "tables")
    groups: list[str] = []
    for table in tables.values():
        groups.extend(g for g in table if g not in groups)
    if not groups:
        raise ValueError("tables holds no groups")
    fig, (ax,) = _figure()
    x = np.arange(len(groups))
    width = 0.8 / len(tables)
    for k, (method, table) in enumerate(tables.items()):
        heights = [float(table[g]) if g in table else np.nan for g in groups]
        ax.bar(x + (k - (len(tables) - 1) / 2) * width, heights, width, color=f"C{k}", label=method)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.set_title("Worst-client groups")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, path)


def gamma_dynamics(sparsity: npt.ArrayLike, kl: npt.ArrayLike, path: str | Path) -> Path:
    """Figure 2(a): share of zero entries of Γ (left axis, %), symmetric KL between successive Γ (right axis).

    Args:
        sparsity: (T,) fraction of zero entries of Γ per round, in [0, 1].
        kl: (T,) symmetric KL between Γ_t and Γ_{t-1}; NaN or None where undefined (round 0).
        path: output PNG.
    """
    s = _vector(sparsity, "sparsity")
    d = _vector(kl, "kl")
    if s.shape != d.shape:
        raise ValueError(f"sparsity {s.shape} and kl {d.shape} must have the same length")
    rounds = np.arange(s.shape[0])
    fig, (ax,) = _figure()
    ax.plot(rounds, 100.0 * s, color="C0", label="zero entries of Γ")
    ax.set_xlabel("round")
    ax.set_ylabel("zero entries of Γ (%)", color="C0")
    ax.tick_params(axis="y", colors="C0")
    right = ax.twinx()
    right.plot(rounds, d, color="C1", label="KL(Γ_t, Γ_{t-1})")
    right.set_ylabel("symmetric KL between successive Γ", color="C1")
    right.tick_params(axis="y", colors="C1")
    ax.set_title("Sparsity and convergence of Γ")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def assignment_bands(shares: npt.ArrayLike, path: str | Path, *, labels: Sequence[str] | None = None) -> Path:
    """Figure 7: stacked areas of the share (%) of objectives whose best model is j, per round.

    Args:
        shares: (T, m) rows summing to 1 (e.g. :func:`most.metrics.diversity.assignment_shares`).
        path: output PNG.
        labels: m band labels (default "model 1".."model m").
    """
    a = np.asarray(shares, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < 1:
        raise ValueError(f"shares must be a non-empty (T rounds, m models) array, got shape {a.shape}")
    m = a.shape[1]
    names = list(labels) if labels is not None else [f"model {j + 1}" for j in range(m)]
    if len(names) != m:
        raise ValueError(f"labels has {len(names)} entries for {m} models")
    fig, (ax,) = _figure()
    ax.stackplot(np.arange(a.shape[0]), 100.0 * a.T, labels=names, colors=[f"C{j}" for j in range(m)])
    ax.set_xlabel("round")
    ax.set_ylabel("objectives assigned (%)")
    ax.set_ylim(0.0, 100.0)
    ax.set_title("Objectives served by each model")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bands fill the axes
    return _save(fig, path)


def pareto_front(
    solutions_by_method: Mapping[str, npt.ArrayLike],
    front: npt.ArrayLike | None,
    path: str | Path,
    *,
    labels: tuple[str, str] = ("objective 1", "objective 2"),
) -> Path:
    """Figures 4/5: a panel per method, its solutions (blue) over the true Pareto front (red), both minimised.

    Args:
        solutions_by_method: method -> (k, 2) objective values of its k solutions.
        front: (P, 2) points of the true Pareto front, or None when unknown.
        path: output PNG.
        labels: x and y axis labels.
    """
    _nonempty(solutions_by_method, "solutions_by_method")
    pts = {}
    for method, sol in solutions_by_method.items():
        a = np.asarray(sol, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != 2:
            raise ValueError(f"solutions_by_method[{method!r}] must be a (k, 2) array, got shape {a.shape}")
        pts[method] = a
    ref = None
    if front is not None:
        ref = np.asarray(front, dtype=np.float64)
        if ref.ndim != 2 or ref.shape[1] != 2:
            raise ValueError(f"front must be a (P, 2) array, got shape {ref.shape}")
    fig, axes = _figure(len(pts), sharex=True, sharey=True)
    for ax, (method, a) in zip(axes, pts.items(), strict=True):
        if ref is not None:
            ax.scatter(ref[:, 0], ref[:, 1], s=4, color="tab:red", label="Pareto front")
        ax.scatter(a[:, 0], a[:, 1], s=28, color="tab:blue", edgecolors="black", linewidths=0.5, label="solutions")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.set_title(method)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, path)
