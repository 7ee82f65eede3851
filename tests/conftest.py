"""Test-wide settings: one torch thread (small tensors; multi-threaded indexing is slower on 2 shared cores)."""

import torch

torch.set_num_threads(1)
