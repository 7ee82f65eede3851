"""Plain-torch models (most.models): shapes, the registry, and m copies under torch.func vmap."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, stack_module_state, vmap

from most.models import LogisticRegression, SmallCNN, available_models, build_model

# float32 sums reassociate differently in batched and per-model kernels: agreement to ~1e-6 relative is
# expected; 1e-5 absolute on O(1) outputs leaves room without hiding real bugs (those are O(1) off)
ATOL = 1e-5


def _stacked(models: Sequence[nn.Module]) -> tuple[dict, dict, nn.Module]:
    params, buffers = stack_module_state(list(models))
    base = copy.deepcopy(models[0]).to("meta")
    return params, buffers, base


def test_logistic_shapes() -> None:
    model = LogisticRegression(60, 10)
    assert model(torch.randn(7, 60)).shape == (7, 10)
    image = LogisticRegression(784, 62)
    assert image(torch.randn(3, 1, 28, 28)).shape == (3, 62)  # flattens (1, 28, 28)


def test_cnn_is_the_papers_architecture() -> None:
    torch.manual_seed(0)
    model = SmallCNN(in_channels=1, classes=62, image_size=28)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 62)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 32, (5, 5), (2, 2)),
        (32, 64, (5, 5), (2, 2)),
    ]
    assert len(linears) == 1 and linears[0].in_features == 64 * 7 * 7  # two 2x2 pools: 28 -> 14 -> 7
    assert list(model.buffers()) == []  # no BatchNorm statistics: a pure function of the parameters
    rect = SmallCNN(in_channels=3, classes=5, image_size=(12, 16))
    assert rect(torch.randn(4, 3, 12, 16)).shape == (4, 5)


def test_forward_does_not_modify_its_input() -> None:
    x = torch.randn(3, 1, 12, 12)
    before = x.clone()
    SmallCNN(image_size=12)(x)
    LogisticRegression(144, 3)(x)
    assert torch.equal(x, before)


def test_build_model_registry() -> None:
    assert available_models() == ["cnn", "logistic"]
    assert isinstance(build_model("logistic", (60,), 10), LogisticRegression)
    cnn = build_model("cnn", (1, 28, 28), 10)
    assert isinstance(cnn, SmallCNN) and cnn(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    with pytest.raises(ValueError, match="valid names: cnn, logistic"):
        build_model("resnet18", (3, 32, 32), 10)
    with pytest.raises(ValueError, match="channels, height, width"):
        build_model("cnn", (784,), 10)


@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda: LogisticRegression(60, 10), (60,)), (lambda: SmallCNN(1, 10, 12), (1, 12, 12))],
    ids=["logistic", "cnn"],
)
def test_vmap_over_stacked_parameters_matches_a_loop(make: Callable[[], nn.Module], shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    models = [make() for _ in range(3)]
    params, buffers, base = _stacked(models)
    x = torch.randn(5, *shape)

    def forward(p: dict, b: dict, inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p, b), (inputs,))

    out = vmap(forward, in_dims=(0, 0, None))(params, buffers, x)  # (m, B, classes)
    expected = torch.stack([m(x) for m in models])
    assert out.shape == (3, 5, 10)
    assert torch.allclose(out, expected, atol=ATOL)

    # each model on its own batch (the engine's layout: solutions x objectives)
    xs = torch.randn(3, 5, *shape)
    out_batched = vmap(forward)(params, buffers, xs)
    expected_batched = torch.stack([m(xi) for m, xi in zip(models, xs, strict=True)])
    assert torch.allclose(out_batched, expected_batched, atol=ATOL)


def test_vmap_grad_over_stacked_cnns_matches_autograd() -> None:
    torch.manual_seed(1)
    models = [SmallCNN(1, 4, 8) for _ in range(2)]
    params, buffers, base = _stacked(models)
    x, y = torch.randn(6, 1, 8, 8), torch.randint(0, 4, (6,))

    def loss(p: dict, b: dict) -> torch.Tensor:
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    grads = vmap(grad(loss))(params, buffers)
    for j, model in enumerate(models):
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        for name, p in model.named_parameters():
            assert p.grad is not None
            assert torch.allclose(grads[name][j], p.grad, atol=ATOL), name
