"""``results.json`` (DESIGN.md §4): write an :class:`ExperimentResult` and read it back.

Schema: ``{"experiment": str, "metric": str, "higher_is_better": bool, "protocol": {...},
"runs": [{"method": str, "seed": int, "value": float, "seconds": float, <extra keys>...}]}`` — a run's
``extra`` entries sit beside its four fixed fields. numpy scalars and arrays (and anything with ``tolist()``,
e.g. torch tensors) become plain JSON numbers and lists; tuples become lists. Non-finite floats are written as
``NaN``/``Infinity`` (Python's JSON dialect), which :func:`read_results` reads back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from most.experiments.base import ExperimentResult, Run

RESULTS_FILE = "results.json"
RUN_FIELDS: tuple[str, ...] = ("method", "seed", "value", "seconds")
"""A run's fixed fields; the other keys of a run object are its ``extra``."""
TOP_FIELDS: tuple[str, ...] = ("experiment", "metric", "higher_is_better", "runs")


def jsonable(obj: Any) -> Any:
    """``json`` fallback: numpy (or torch) scalars -> Python scalars, arrays -> nested lists, paths -> str."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"results.json cannot store a value of type {type(obj).__name__}: {obj!r}")


def _check_extra(result: ExperimentResult) -> None:
    """Raise ``ValueError`` if a run's extra key would overwrite one of its fixed fields in the JSON."""
    for k, run in enumerate(result.runs):
        clash = sorted(set(run.extra) & set(RUN_FIELDS))
        if clash:
            raise ValueError(f"runs[{k}] ({run.method}, seed {run.seed}): extra keys {clash} clash with run fields")


def results_json(result: ExperimentResult) -> str:
    """The ``results.json`` text of ``result`` (indent 2, trailing newline)."""
    _check_extra(result)
    return json.dumps(result.to_json(), indent=2, default=jsonable) + "\n"


def write_results(result: ExperimentResult, out_dir: str | Path) -> Path:
    """Write ``out_dir/results.json`` (creating ``out_dir``) and return its path.

    Args:
        result: the experiment's runs.
        out_dir: directory to write into.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_FILE
    path.write_text(results_json(result), encoding="utf-8")
    return path


def _run(obj: Any, k: int) -> Run:
    """Parse the k-th run object of a results file."""
    if not isinstance(obj, dict):
        raise ValueError(f"runs[{k}] must be an object, got {type(obj).__name__}")
    missing = [f for f in RUN_FIELDS if f not in obj]
    if missing:
        raise ValueError(f"runs[{k}] lacks the fields {missing}")
    extra = {key: v for key, v in obj.items() if key not in RUN_FIELDS}
    return Run(
        method=str(obj["method"]),
        seed=int(obj["seed"]),
        value=float(obj["value"]),
        seconds=float(obj["seconds"]),
        extra=extra,
    )


def parse_results(data: Any) -> ExperimentResult:
    """An :class:`ExperimentResult` from a decoded ``results.json`` object; ``ValueError`` if malformed."""
    if not isinstance(data, dict):
        raise ValueError(f"results.json must hold an object, got {type(data).__name__}")
    missing = [f for f in TOP_FIELDS if f not in data]
    if missing:
        raise ValueError(f"results.json lacks the fields {missing}")
    if not isinstance(data["runs"], list):
        raise ValueError("results.json 'runs' must be a list")
    protocol = data.get("protocol", {})
    if not isinstance(protocol, dict):
        raise ValueError("results.json 'protocol' must be an object")
    return ExperimentResult(
        experiment=str(data["experiment"]),
        metric=str(data["metric"]),
        higher_is_better=bool(data["higher_is_better"]),
        runs=[_run(r, k) for k, r in enumerate(data["runs"])],
        protocol=protocol,
    )


def read_results(path: str | Path) -> ExperimentResult:
    """Read a ``results.json`` file (or the one inside a directory) back into an :class:`ExperimentResult`.

    Args:
        path: the file, or a directory that holds ``results.json``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_FILE
    with p.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return parse_results(data)
