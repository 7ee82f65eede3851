"""Engines that run rounds: :mod:`.centralized` (vector and module problems); federated engines live beside it."""
