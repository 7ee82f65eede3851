"""Public OT interface: ``most.transport.assign(cost, alpha=None, beta=None, *, tau=0.0, solver="emd")``.

See :mod:`most.solvers.transport` for the maths; this module is the stable import path.
"""

from most.solvers.transport import (
    SOLVERS,
    assign,
    assign_columns,
    assign_columns_soft,
    assign_rows,
    curriculum_marginals,
    curriculum_schedule,
    diversity,
    normalised_cost,
)

__all__ = [
    "SOLVERS",
    "assign",
    "assign_columns",
    "assign_columns_soft",
    "assign_rows",
    "curriculum_marginals",
    "curriculum_schedule",
    "diversity",
    "normalised_cost",
]
