"""Experiment registry for ``most run``: ``available()`` lists names, ``get(name)`` returns an Experiment."""

from __future__ import annotations

from collections.abc import Callable

from most.experiments.base import Experiment, ExperimentResult, Run

_FACTORIES: dict[str, Callable[[], Experiment]] = {}


def register(name: str, factory: Callable[[], Experiment]) -> None:
    """Add an experiment factory under ``name``."""
    if name in _FACTORIES:
        raise ValueError(f"experiment {name!r} is already registered")
    _FACTORIES[name] = factory


def available() -> list[str]:
    """Registered experiment names."""
    _load_all()
    return list(_FACTORIES)


def get(name: str) -> Experiment:
    """The experiment ``name``; an unknown name lists the valid ones."""
    _load_all()
    if name not in _FACTORIES:
        raise ValueError(f"unknown experiment {name!r}; available: {', '.join(_FACTORIES)}")
    return _FACTORIES[name]()


def _load_all() -> None:
    """Import the modules that register experiments (kept lazy: they import data loaders and matplotlib)."""
    import importlib

    for module in ("most.experiments.demo", "most.experiments.federated", "most.experiments.few_objective"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module not written yet: its experiments are simply absent
            if exc.name != module:
                raise


__all__ = ["Experiment", "ExperimentResult", "Run", "available", "get", "register"]
