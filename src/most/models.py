r"""Small plain-torch models for the federated experiments (torchvision is not used: it does not import here).

Both models are pure functions of their parameters — no BatchNorm or other buffers, no dropout, no in-place
ops on inputs — so m copies can be evaluated at once with ``torch.func.stack_module_state`` +
``functional_call`` under ``torch.func.vmap``, and differentiated with ``torch.func.grad``.

- :class:`LogisticRegression`: multinomial logistic regression, logits = flatten(x) W + b. The paper's model
  for Synthetic, FEMNIST (one of its setups) and the fairness data.
- :class:`SmallCNN`: the paper's FEMNIST CNN (appendix A.4.2): two 5×5 convolutions (32 then 64 channels,
  padding 2), each followed by ReLU and 2×2 max-pooling, then one fully-connected layer to the classes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

CONV_CHANNELS = (32, 64)
KERNEL_SIZE = 5
PADDING = 2
POOL = 2


class LogisticRegression(nn.Module):
    """logits (B, classes) = flatten(x) Wᵀ + b for inputs x (B, ...) holding in_features entries per row."""

    def __init__(self, in_features: int, classes: int) -> None:
        super().__init__()
        if in_features < 1 or classes < 1:
            raise ValueError(f"in_features and classes must be >= 1, got {in_features}, {classes}")
        self.in_features = in_features
        self.classes = classes
        self.linear = nn.Linear(in_features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(start_dim=1))


class SmallCNN(nn.Module):
    r"""The paper's CNN: [conv 5×5 → ReLU → maxpool 2×2] × 2 (32, 64 channels, padding 2) → linear to classes.

    Input (B, in_channels, H, W) with (H, W) = ``image_size``; each conv keeps H×W (padding 2), each pool
    halves it (floor), so the linear layer sees 64 · ⌊⌊H/2⌋/2⌋ · ⌊⌊W/2⌋/2⌋ features (3136 for 28×28).
    Output (B, classes).
    """

    def __init__(self, in_channels: int = 1, classes: int = 10, image_size: int | tuple[int, int] = 28) -> None:
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        if h < POOL * POOL or w < POOL * POOL:
            raise ValueError(f"image_size must be at least {POOL * POOL} per side, got {(h, w)}")
        if in_channels < 1 or classes < 1:
            raise ValueError(f"in_channels and classes must be >= 1, got {in_channels}, {classes}")
        self.image_size = (h, w)
        c1, c2 = CONV_CHANNELS
        self.conv1 = nn.Conv2d(in_channels, c1, KERNEL_SIZE, padding=PADDING)
        self.conv2 = nn.Conv2d(c1, c2, KERNEL_SIZE, padding=PADDING)
        self.fc = nn.Linear(c2 * (h // POOL // POOL) * (w // POOL // POOL), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), POOL)
        x = F.max_pool2d(F.relu(self.conv2(x)), POOL)
        return self.fc(x.flatten(start_dim=1))


def _logistic(input_shape: Sequence[int], classes: int) -> nn.Module:
    features = 1
    for s in input_shape:
        features *= int(s)
    return LogisticRegression(features, classes)


def _cnn(input_shape: Sequence[int], classes: int) -> nn.Module:
    if len(input_shape) != 3:
        raise ValueError(f"model 'cnn' needs input_shape (channels, height, width), got {tuple(input_shape)}")
    c, h, w = (int(s) for s in input_shape)
    return SmallCNN(c, classes, (h, w))


MODELS: dict[str, Callable[[Sequence[int], int], nn.Module]] = {
    "logistic": _logistic,
    "cnn": _cnn,
}
"""Registry for :func:`build_model`: name -> builder(input_shape, classes)."""


def available_models() -> list[str]:
    """Names accepted by :func:`build_model`."""
    return sorted(MODELS)


def build_model(name: str, input_shape: Sequence[int], classes: int) -> nn.Module:
    """A fresh model by name for inputs of shape ``input_shape`` (no batch axis) and ``classes`` outputs.

    ``"logistic"``: :class:`LogisticRegression` on the flattened input; ``"cnn"``: :class:`SmallCNN`, needs
    ``input_shape = (channels, height, width)``. Initialisation uses torch's global RNG (seed it to
    reproduce).

    Raises:
        ValueError: for an unknown name (the message lists the valid ones) or an unsuitable ``input_shape``.
    """
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(available_models())}") from None
    return builder(tuple(input_shape), classes)
