"""Evaluation metrics: pure functions on arrays (divergence, best-of-m accuracy, hypervolume, diversity)."""
