"""Method registry: ``most.methods.available()`` lists the names ``most.fit(method=...)`` accepts.

Each name maps to a :class:`~most.methods.base.Method` class and, for the ablations, preset options of its config.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from most.methods.base import Direction, Method, MethodConfig, combine
from most.methods.baselines import Linearization, Mgda, PreferenceConfig, WeightedMgda
from most.methods.epo import Epo
from most.methods.fed import FedAvg, FedMgdaPlus, FedProx, Ifca
from most.methods.most import Most, MostConfig, MostE, MostEConfig
from most.methods.pmtl import Pmtl
from most.methods.stch import Stch
from most.methods.svgd import Svgd

_REGISTRY: dict[str, tuple[type[Method], dict[str, Any], str]] = {}


def register(name: str, cls: type[Method], presets: dict[str, Any] | None = None, summary: str = "") -> None:
    """Add a method under ``name`` (its class and preset config options)."""
    if name in _REGISTRY:
        raise ValueError(f"method {name!r} is already registered")
    _REGISTRY[name] = (cls, dict(presets or {}), summary or (cls.__doc__ or "").strip().split("\n")[0])


def available() -> list[str]:
    """Names accepted by ``method=``, in registration order."""
    return list(_REGISTRY)


def describe() -> dict[str, str]:
    """Name → one-line summary."""
    return {name: entry[2] for name, entry in _REGISTRY.items()}


def create(name: str | Method, **options: Any) -> Method:
    """Instantiate method ``name`` with keyword options for its config; errors list the valid names / options."""
    if isinstance(name, Method):
        if options:
            raise ValueError("options cannot be combined with a Method instance; configure the instance instead")
        return name
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available())}")
    cls, presets, _ = _REGISTRY[name]
    valid = {f.name for f in fields(cls.config_class)}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"method {name!r} has no option(s) {', '.join(unknown)}; its options: {', '.join(sorted(valid))}"
        )
    method = cls(cls.config_class(**{**presets, **options}))
    method.name = name  # type: ignore[misc]  # the registered name (ablations share a class)
    return method


register("most", Most)
register("most-e", MostE)
register("mgda", Mgda)
register("linearization", Linearization)
register("w-mgda", WeightedMgda)
register("most-o", Most, {"marginals": "rows"}, "MosT-O: objective selects model (no β constraint)")
register("most-m", Most, {"marginals": "columns"}, "MosT-M: model selects objective (no α constraint)")
register("most-m-soft", Most, {"marginals": "columns-soft"}, "MosT-M soft: softmax over normalised losses per model")
register("most-no-cl", Most, {"curriculum": False}, "MosT without the curriculum (uniform marginals)")
register("most-no-reg", Most, {"tau": 0.0}, "MosT without the diversity regulariser R(Γ)")
register("most-l", Most, {"combine": "mean"}, "MosT-L: Γ-weighted average of gradients instead of MGDA")
# few-objective baselines (issue 3)
register("epo", Epo)
register("svgd", Svgd)
register("pmtl", Pmtl)
register("stch-set", Stch)
register("most-e-no-cl", MostE, {"curriculum": False}, "MosT-E without the curriculum (uniform marginals)")
register("fedavg", FedAvg)
register("fedprox", FedProx)
register("fedmgda+", FedMgdaPlus)
register("ifca", Ifca)

__all__ = [
    "Direction",
    "FedAvg",
    "FedMgdaPlus",
    "FedProx",
    "Ifca",
    "Linearization",
    "Method",
    "MethodConfig",
    "Mgda",
    "Most",
    "MostConfig",
    "MostE",
    "MostEConfig",
    "PreferenceConfig",
    "WeightedMgda",
    "available",
    "combine",
    "create",
    "describe",
    "register",
]
