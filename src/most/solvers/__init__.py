"""Pure solvers on arrays: optimal transport (:mod:`.transport`) and the MGDA min-norm problem (:mod:`.min_norm`)."""
