r"""Markdown tables of an experiment's runs in the layout of the paper's Table 1: "84.25 ± 0.51" is the mean
and the sample standard deviation over seeds,

.. math::

    \bar v = \frac1s\sum_k v_k, \qquad
    \mathrm{sd} = \sqrt{\frac{1}{s-1}\sum_k (v_k - \bar v)^2}\quad (0 \text{ when } s = 1),

with the best mean in bold (largest or smallest, as the metric's ``higher_is_better`` says). Methods appear in
the order they are first seen in ``result.runs``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from most.experiments.base import ExperimentResult, Run
from most.reports.results import jsonable

MARKDOWN_FILE = "results.md"
MISSING = "—"
"""Cell text where a method has no value (not run in that experiment, or the extra key is absent)."""


@dataclass(frozen=True)
class Row:
    """Summary of one method over its seeds.

    Attributes:
        method: method name.
        mean: mean of the runs' ``value``.
        std: sample standard deviation (ddof = 1) of ``value``; 0.0 for a single seed.
        n: number of runs (seeds).
        seconds: mean wall-clock seconds per run.
    """

    method: str
    mean: float
    std: float
    n: int
    seconds: float


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for one value) of a non-empty sequence."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] < 1:
        raise ValueError(f"mean_std needs a non-empty 1-D sequence, got shape {v.shape}")
    std = float(v.std(ddof=1)) if v.shape[0] > 1 else 0.0
    return float(v.mean()), std


def _by_method(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Runs grouped by method, methods in first-seen order (dicts keep insertion order)."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.method, []).append(run)
    return groups


def summary(result: ExperimentResult) -> list[Row]:
    """One :class:`Row` per method, in first-seen order.

    Args:
        result: the experiment's runs.
    """
    rows = []
    for method, runs in _by_method(result.runs).items():
        mean, std = mean_std([r.value for r in runs])
        seconds = float(np.mean([r.seconds for r in runs]))
        rows.append(Row(method=method, mean=mean, std=std, n=len(runs), seconds=seconds))
    return rows


def best_indices(means: Sequence[float], higher_is_better: bool) -> set[int]:
    """Indices of the best finite mean (all of them on an exact tie); empty when no mean is finite."""
    finite = [(k, m) for k, m in enumerate(means) if math.isfinite(m)]
    if not finite:
        return set()
    best = max(m for _, m in finite) if higher_is_better else min(m for _, m in finite)
    return {k for k, m in finite if m == best}


def ratio_column(result: ExperimentResult, reference: str) -> dict[str, float]:
    """Mean seconds of each method divided by the mean seconds of ``reference`` (which maps to 1.0).

    Args:
        result: the experiment's runs.
        reference: a method name present in ``result`` (e.g. ``"linear"``: runtime relative to Linearization).

    Returns:
        method -> ratio, in first-seen order; ``nan`` for every method when the reference took 0 seconds.
    """
    rows = summary(result)
    by_name = {r.method: r for r in rows}
    if reference not in by_name:
        raise ValueError(f"reference method {reference!r} is not in the results; methods: {list(by_name)}")
    denom = by_name[reference].seconds
    return {r.method: (r.seconds / denom if denom > 0 else math.nan) for r in rows}


def format_mean_std(mean: float, std: float, decimals: int = 2, bold: bool = False) -> str:
    """``"84.25 ± 0.51"``, or ``"**84.25** ± 0.51"`` when ``bold``."""
    head = f"{mean:.{decimals}f}"
    if bold:
        head = f"**{head}**"
    return f"{head} ± {std:.{decimals}f}"


def _cell(text: str) -> str:
    """Escape a Markdown table cell."""
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table: first column left-aligned, the rest right-aligned."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|")
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines) + "\n"


def _extra_values(runs: Sequence[Run], key: str) -> list[float]:
    """The runs' numeric ``extra[key]`` values (runs without the key are skipped)."""
    out = []
    for run in runs:
        if key not in run.extra:
            continue
        v = run.extra[key]
        if isinstance(v, bool) or not isinstance(v, Real):
            what = type(v).__name__
            raise ValueError(f"extra column {key!r}: run ({run.method}, seed {run.seed}) holds a {what}, not a number")
        out.append(float(v))
    return out


def markdown_table(
    result: ExperimentResult,
    *,
    extra_columns: Sequence[str] = (),
    decimals: int = 2,
    ratio_to: str | None = None,
) -> str:
    """Markdown table with one row per method: metric (mean ± std, best in bold), seeds, mean seconds, and
    optionally the runtime ratio and further columns.

    Args:
        result: the experiment's runs.
        extra_columns: keys of ``Run.extra`` holding a number per run (e.g. ``"worst 20%"``,
            ``"hypervolume"``); each becomes a "mean ± std" column over the runs that have it (no bold: its
            direction is unknown).
        decimals: digits after the decimal point for the metric, seconds and extra columns.
        ratio_to: if given, a column "time / <ratio_to>" with :func:`ratio_column` against that method.

    Returns:
        The table text, ending with a newline.
    """
    groups = _by_method(result.runs)
    rows = summary(result)
    bold = best_indices([r.mean for r in rows], result.higher_is_better)
    ratios = ratio_column(result, ratio_to) if ratio_to is not None else {}

    header = ["Method", result.metric, "seeds", "seconds"]
    if ratio_to is not None:
        header.append(f"time / {ratio_to}")
    header.extend(extra_columns)

    body = []
    for k, row in enumerate(rows):
        cells = [
            row.method,
            format_mean_std(row.mean, row.std, decimals, bold=k in bold),
            str(row.n),
            f"{row.seconds:.{decimals}f}",
        ]
        if ratio_to is not None:
            cells.append(f"{ratios[row.method]:.2f}×")
        for key in extra_columns:
            values = _extra_values(groups[row.method], key)
            cells.append(format_mean_std(*mean_std(values), decimals) if values else MISSING)
        body.append(cells)
    return _table(header, body)


def comparison_table(results: Sequence[ExperimentResult], *, decimals: int = 2) -> str:
    """Table 1 layout: one row per experiment (dataset), one column per method, "mean ± std" cells with each
    row's best mean in bold; a "Metric" column is added when the experiments use different metrics.

    Args:
        results: the experiments, one row each in this order; methods are columns in first-seen order.
        decimals: digits after the decimal point.
    """
    if not results:
        raise ValueError("comparison_table needs at least one ExperimentResult")
    methods: list[str] = []
    for res in results:
        for run in res.runs:
            if run.method not in methods:
                methods.append(run.method)
    show_metric = len({res.metric for res in results}) > 1

    header = ["Experiment"] + (["Metric"] if show_metric else []) + methods
    body = []
    for res in results:
        rows = {r.method: r for r in summary(res)}
        means = [rows[m].mean if m in rows else math.nan for m in methods]
        bold = best_indices(means, res.higher_is_better)
        cells = [res.experiment] + ([res.metric] if show_metric else [])
        for k, method in enumerate(methods):
            row = rows.get(method)
            cells.append(MISSING if row is None else format_mean_std(row.mean, row.std, decimals, bold=k in bold))
        body.append(cells)
    return _table(header, body)


def markdown_report(
    result: ExperimentResult,
    *,
    extra: Sequence[str] = (),
    decimals: int = 2,
    ratio_to: str | None = None,
) -> str:
    """The text of ``results.md``: a title, what the numbers are, the protocol, and :func:`markdown_table`."""
    direction = "higher" if result.higher_is_better else "lower"
    lines = [
        f"# {result.experiment}",
        "",
        f"{result.metric}: mean ± sample std over seeds ({direction} is better; best mean in bold).",
        "",
    ]
    if result.protocol:
        lines += [f"Protocol: `{json.dumps(result.protocol, sort_keys=True, default=jsonable)}`", ""]
    return "\n".join(lines) + "\n" + markdown_table(result, extra_columns=extra, decimals=decimals, ratio_to=ratio_to)


def write_markdown(
    result: ExperimentResult,
    out_dir: str | Path,
    extra: Sequence[str] = (),
    *,
    decimals: int = 2,
    ratio_to: str | None = None,
) -> Path:
    """Write :func:`markdown_report` to ``out_dir/results.md`` (creating ``out_dir``) and return its path.

    Args:
        result: the experiment's runs.
        out_dir: directory to write into.
        extra: extra columns (keys of ``Run.extra``), see :func:`markdown_table`.
        decimals: digits after the decimal point.
        ratio_to: reference method for a runtime-ratio column, or None.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MARKDOWN_FILE
    path.write_text(markdown_report(result, extra=extra, decimals=decimals, ratio_to=ratio_to), encoding="utf-8")
    return path
