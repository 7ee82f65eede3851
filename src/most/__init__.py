"""MosT — many-objective multi-solution transport.

Train m models (solutions) for n objectives: each round an optimal transport matches objectives to solutions and
each solution moves along a Γ-reweighted MGDA common-descent direction.

>>> import most
>>> most.methods.available()[:3]
['most', 'most-e', 'mgda']
"""

from most import methods, mgda, transport
from most.engine.centralized import fit
from most.engine.problems import ModuleProblem, Problem, VectorProblem
from most.result import Result, RoundRecord, Timing

__version__ = "0.1.0"
__all__ = [
    "ModuleProblem",
    "Problem",
    "Result",
    "RoundRecord",
    "Timing",
    "VectorProblem",
    "fit",
    "methods",
    "mgda",
    "transport",
]
