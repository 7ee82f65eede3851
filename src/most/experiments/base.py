"""What an experiment is: a named protocol that runs methods × seeds and returns typed runs (DESIGN.md §4).

``most run NAME [--quick] [--seeds N] [--methods a,b] [--out DIR] [--lr X]`` looks the experiment up in
:mod:`most.experiments` and calls :meth:`Experiment.run`; the CLI writes ``results.json``, the Markdown table and
asks the experiment for its figures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Run:
    """One method × seed: the headline ``value`` (the experiment's metric), wall ``seconds``, and anything else
    worth keeping (per-objective numbers, curves) in ``extra`` — JSON-serialisable."""

    method: str
    seed: int
    value: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        return {**d, **extra}


@dataclass
class ExperimentResult:
    """All runs of one experiment, in the results.json schema of DESIGN.md §4."""

    experiment: str
    metric: str
    higher_is_better: bool
    runs: list[Run]
    protocol: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "protocol": self.protocol,
            "runs": [r.to_json() for r in self.runs],
        }


class Experiment(ABC):
    """A reproducible protocol. Subclasses set the class attributes and implement :meth:`run`."""

    name: str
    metric: str
    higher_is_better: bool = True
    default_methods: tuple[str, ...] = ()
    summary: str = ""

    @abstractmethod
    def run(
        self,
        *,
        methods: list[str],
        seeds: int,
        quick: bool,
        out_dir: Path,
        lr: float | None = None,
        progress: bool = True,
    ) -> ExperimentResult:
        """Run every method for seeds 0..seeds-1 with the full protocol (or the reduced one when ``quick``)."""

    def figures(self, result: ExperimentResult, out_dir: Path) -> list[Path]:
        """Write the experiment's PNG figures to ``out_dir`` and return their paths (default: none)."""
        return []
