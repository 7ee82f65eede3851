"""Public min-norm interface: ``most.mgda.min_norm(vectors)`` (n, d) -> λ (n,) on the simplex.

See :mod:`most.solvers.min_norm` for the maths; this module is the stable import path.
"""

from most.solvers.min_norm import METHODS, MinNormResult, duality_gap, min_norm, solve_gram, solve_vectors

__all__ = ["METHODS", "MinNormResult", "duality_gap", "min_norm", "solve_gram", "solve_vectors"]
