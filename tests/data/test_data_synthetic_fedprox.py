"""FedProx Synthetic(α, β) (most.data.synthetic_fedprox)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from most.data.federated import FederatedDataset
from most.data.synthetic_fedprox import synthetic


def _client_mean_spread(ds: FederatedDataset) -> float:
    """Standard deviation over clients of each client's mean input entry (all its samples and features)."""
    means = [torch.cat([c.train.x, c.val.x, c.test.x]).mean().item() for c in ds.clients]
    return float(np.std(means))


def _all_labels(ds: FederatedDataset) -> torch.Tensor:
    return torch.cat([torch.cat([c.train.y, c.val.y, c.test.y]) for c in ds.clients])


def test_shapes_dtypes_and_6_2_2() -> None:
    ds = synthetic(0.5, 0.5)
    assert ds.n_clients == 30 and ds.num_classes == 10 and ds.input_shape == (60,)
    assert ds.name == "synthetic(0.5,0.5)"
    for c in ds.clients:
        assert (len(c.train), len(c.val), len(c.test)) == (60, 20, 20)  # 100 samples, 6:2:2 exactly
        for part in (c.train, c.val, c.test):
            assert part.x.shape[1:] == (60,) and part.x.dtype == torch.float32
            assert part.y.dtype == torch.int64
            assert int(part.y.min()) >= 0 and int(part.y.max()) < 10
    assert "30 clients" in ds.describe()


def test_small_configuration() -> None:
    ds = synthetic(1.0, 1.0, clients=4, dim=5, classes=3, samples=10, seed=2)
    assert ds.n_clients == 4 and ds.input_shape == (5,) and ds.num_classes == 3
    assert all(c.n_samples == 10 for c in ds.clients)
    assert int(_all_labels(ds).max()) < 3


def test_determinism_and_seed_dependence() -> None:
    a, b, c = synthetic(1, 1, seed=3), synthetic(1, 1, seed=3), synthetic(1, 1, seed=4)
    for ca, cb in zip(a.clients, b.clients, strict=True):
        assert torch.equal(ca.train.x, cb.train.x) and torch.equal(ca.test.y, cb.test.y)
    assert not torch.equal(a.clients[0].train.x, c.clients[0].train.x)


def test_data_seed_is_independent_of_torch_global_seed() -> None:
    torch.manual_seed(0)
    a = synthetic(0.5, 0.5, clients=3)
    torch.manual_seed(12345)
    b = synthetic(0.5, 0.5, clients=3)
    assert all(torch.equal(x.val.x, y.val.x) for x, y in zip(a.clients, b.clients, strict=True))


def test_clients_are_a_prefix_of_a_larger_dataset() -> None:
    small, large = synthetic(1, 1, clients=5), synthetic(1, 1, clients=30)
    for cs, cl in zip(small.clients, large.clients[:5], strict=True):
        assert torch.equal(cs.train.x, cl.train.x) and torch.equal(cs.train.y, cl.train.y)


def test_input_heterogeneity_grows_with_beta() -> None:
    betas = (0.0, 0.5, 1.0, 2.0)
    spreads = [_client_mean_spread(synthetic(0.0, beta, seed=0)) for beta in betas]
    assert spreads == sorted(spreads)
    for beta, spread in zip(betas, spreads, strict=True):
        # a client's mean input entry is mean_j v_kj + noise ≈ B_k + N(0, 1/60): its spread over clients is
        # ≈ sqrt(β² + 1/60). A 30-client standard deviation has ~13 % relative error; a factor-2 band is safe.
        expected = np.sqrt(beta**2 + 1 / 60)
        assert 0.5 * expected < spread < 2.0 * expected


def test_alpha_does_not_change_labels() -> None:
    # documented property of FedProx's definition: u_k shifts every class logit equally, so argmax ignores it
    base = synthetic(0.0, 0.5, seed=1)
    for alpha in (0.5, 1.0, 5.0):
        other = synthetic(alpha, 0.5, seed=1)
        pairs = zip(base.clients, other.clients, strict=True)
        assert all(torch.equal(a.train.x, b.train.x) for a, b in pairs)
        agree = (_all_labels(base) == _all_labels(other)).float().mean().item()
        # identical up to floating-point near-ties of the logits (none occur at this seed; allow 1 in 1,000)
        assert agree >= 0.999


def test_clients_see_few_classes() -> None:
    # v_k W_k dominates the logits (Σ is small next to v_k): each client's labels concentrate on few classes
    ds = synthetic(0.0, 0.0, seed=0)
    classes_per_client = (ds.label_distributions("train") > 0).sum(axis=1)
    assert classes_per_client.mean() < 6  # measured ≈ 2-3 of 10; the bound only guards against IID labels


def test_lognormal_sizes() -> None:
    ds = synthetic(0.0, 0.0, clients=200, dim=4, classes=3, samples="lognormal", seed=0)
    sizes = np.array([c.n_samples for c in ds.clients])
    assert sizes.min() >= 50  # ⌊LogNormal⌋ + 50
    # median of ⌊LogNormal(4, 2)⌋ is ≈ e⁴ ≈ 55; the sample median of 200 log-sizes has SE ≈ 0.18 in log
    # units, so ± 0.6 (> 3 SE) around 4
    assert 4.0 - 0.6 < np.log(np.median(sizes - 50) + 0.5) < 4.0 + 0.6
    assert sizes.max() > 2 * sizes.min()  # sizes actually vary


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": -1.0, "beta": 0.0}, "standard deviations"),
        ({"alpha": 0.0, "beta": 0.0, "classes": 1}, "classes >= 2"),
        ({"alpha": 0.0, "beta": 0.0, "samples": 2}, "samples"),
        ({"alpha": 0.0, "beta": 0.0, "samples": "uniform"}, "samples"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        synthetic(**kwargs)
