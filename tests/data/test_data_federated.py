"""Containers, the 6:2:2 client split, and the Dirichlet / shard partitioners (most.data.federated)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from most.data.federated import (
    Client,
    FederatedDataset,
    Split,
    dirichlet_partition,
    shard_partition,
    split_client,
    split_counts,
)


def _tracked(n: int, classes: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """x[i] = i (so rows can be traced after shuffling), y[i] = i mod classes."""
    x = torch.arange(n, dtype=torch.float32)[:, None]
    return x, torch.arange(n) % classes


def _skew(labels: np.ndarray, parts: list[np.ndarray], classes: int) -> float:
    """Mean total-variation distance of each part's label distribution to the pooled one."""
    pooled = np.bincount(labels, minlength=classes) / labels.size
    tvs = [0.5 * np.abs(np.bincount(labels[p], minlength=classes) / p.size - pooled).sum() for p in parts]
    return float(np.mean(tvs))


# --- Split / Client / FederatedDataset ----------------------------------------------------------------------


def test_split_checks_dtypes_and_lengths() -> None:
    with pytest.raises(TypeError, match="float32"):
        Split(torch.zeros(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="int64"):
        Split(torch.zeros(3, 2), torch.zeros(3, dtype=torch.int32))
    with pytest.raises(ValueError, match="labels"):
        Split(torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))
    assert len(Split(torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64))) == 5


def test_federated_dataset_validates_shapes_and_labels() -> None:
    gen = torch.Generator().manual_seed(0)
    client = split_client(torch.zeros(10, 4), torch.arange(10) % 2, gen, name="a")
    with pytest.raises(ValueError, match="expected \\(5,\\)"):
        FederatedDataset("bad", [client], num_classes=2, input_shape=(5,))
    with pytest.raises(ValueError, match="outside"):
        FederatedDataset("bad", [client], num_classes=1, input_shape=(4,))
    with pytest.raises(ValueError, match="at least one client"):
        FederatedDataset("empty", [], num_classes=2, input_shape=(4,))


def test_describe_and_label_skew() -> None:
    gen = torch.Generator().manual_seed(0)
    # two clients with disjoint labels vs two clients with the same label mix
    disjoint = [
        split_client(torch.zeros(20, 3), torch.zeros(20, dtype=torch.int64), gen, name="zeros"),
        split_client(torch.zeros(20, 3), torch.ones(20, dtype=torch.int64), gen, name="ones"),
    ]
    mixed = [split_client(torch.zeros(20, 3), torch.arange(20) % 2, gen, name=f"c{k}") for k in range(2)]
    ds_disjoint = FederatedDataset("disjoint", disjoint, num_classes=2, input_shape=(3,))
    ds_mixed = FederatedDataset("mixed", mixed, num_classes=2, input_shape=(3,))
    assert ds_disjoint.n_clients == 2
    # each client holds one class, the pooled mix is 50/50: TV = 1/2 exactly (float sums of halves are exact)
    assert ds_disjoint.label_skew() == pytest.approx(0.5, abs=1e-12)
    # train splits of 12 from 10 zeros + 10 ones are not exactly balanced: skew is small but not zero
    assert ds_mixed.label_skew() < 0.2
    rows = ds_disjoint.label_distributions()
    assert rows.shape == (2, 2)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-12)  # frequencies; float rounding only
    text = ds_disjoint.describe()
    assert "disjoint: 2 clients, 2 classes" in text
    assert "label skew" in text and "train" in text and "test" in text
    assert ds_disjoint.sizes("val").tolist() == [4, 4]
    with pytest.raises(ValueError, match="valid parts"):
        ds_disjoint.sizes("holdout")


# --- split_client -------------------------------------------------------------------------------------------


def test_split_client_is_6_2_2_and_a_partition() -> None:
    x, y = _tracked(100)
    client = split_client(x, y, torch.Generator().manual_seed(1), name="k")
    assert isinstance(client, Client) and client.name == "k"
    assert (len(client.train), len(client.val), len(client.test)) == (60, 20, 20)
    rows = torch.cat([client.train.x, client.val.x, client.test.x])[:, 0]
    # every sample lands in exactly one part
    assert torch.equal(rows.sort().values, torch.arange(100, dtype=torch.float32))
    for part in (client.train, client.val, client.test):
        assert part.x.dtype == torch.float32 and part.y.dtype == torch.int64
        assert torch.equal(part.y, part.x[:, 0].long() % 3)  # x and y stay paired through the shuffle


def test_split_client_determinism() -> None:
    x, y = _tracked(50)
    a = split_client(x, y, torch.Generator().manual_seed(7))
    b = split_client(x, y, torch.Generator().manual_seed(7))
    c = split_client(x, y, torch.Generator().manual_seed(8))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_split_client_too_small_names_the_client(n: int) -> None:
    x, y = _tracked(n)
    with pytest.raises(ValueError, match="client writer_42 has"):
        split_client(x, y, torch.Generator().manual_seed(0), name="writer_42")


@pytest.mark.parametrize("n", list(range(3, 40)) + [97, 1001])
def test_split_client_every_part_non_empty(n: int) -> None:
    x, y = _tracked(n)
    client = split_client(x, y, torch.Generator().manual_seed(0))
    sizes = (len(client.train), len(client.val), len(client.test))
    assert min(sizes) >= 1 and sum(sizes) == n
    exact = np.array([0.6, 0.2, 0.2]) * n
    # rounding to whole samples moves each part by less than one sample from its exact share
    assert np.all(np.abs(np.array(sizes) - exact) < 1.0)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=10_000),
    ratios=st.lists(st.floats(min_value=0.01, max_value=100.0), min_size=1, max_size=5),
)
def test_split_counts_invariants(n: int, ratios: list[float]) -> None:
    counts = split_counts(n, ratios)
    assert sum(counts) == n and all(c >= 0 for c in counts)
    if n >= len(ratios):
        assert min(counts) >= 1


def test_split_counts_rejects_bad_ratios() -> None:
    with pytest.raises(ValueError, match="positive"):
        split_counts(10, (0.5, 0.0, 0.5))


# --- dirichlet_partition ------------------------------------------------------------------------------------


LABELS = np.repeat(np.arange(10), 500)  # 5,000 samples, 10 balanced classes


def test_dirichlet_partition_is_a_disjoint_cover_with_min_size() -> None:
    parts = dirichlet_partition(LABELS, 20, 0.5, np.random.default_rng(0), min_size=30)
    assert len(parts) == 20
    assert all(p.dtype == np.int64 for p in parts)
    assert min(p.size for p in parts) >= 30
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(LABELS.size))


def test_dirichlet_partition_determinism() -> None:
    a = dirichlet_partition(LABELS, 10, 0.5, np.random.default_rng(3), min_size=5)
    b = dirichlet_partition(LABELS, 10, 0.5, np.random.default_rng(3), min_size=5)
    c = dirichlet_partition(LABELS, 10, 0.5, np.random.default_rng(4), min_size=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(p.size == q.size and np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_smaller_concentration_means_more_label_skew() -> None:
    skews = [
        _skew(LABELS, dirichlet_partition(LABELS, 20, alpha, np.random.default_rng(0), min_size=10), 10)
        for alpha in (0.1, 1.0, 100.0)
    ]
    # expected TV skew ≈ 0.7 / 0.4 / 0.05 for these α: gaps far beyond single-draw noise (fixed seed anyway)
    assert skews[0] > skews[1] + 0.1
    assert skews[1] > skews[2] + 0.1
    assert skews[2] < 0.15  # near-IID: only sampling noise of ~250 samples per client remains


def test_dirichlet_share_variance_matches_the_documented_formula() -> None:
    # one class of 5,000 samples: client k's share of it is p_k ~ Beta-marginal of Dir(α 1_n),
    # Var p_k = (n − 1) / (n² (n α + 1))
    n, alpha, draws = 5, 0.5, 300
    labels = np.zeros(5_000, dtype=np.int64)
    rng = np.random.default_rng(0)
    shares = np.array(
        [[p.size / labels.size for p in dirichlet_partition(labels, n, alpha, rng, 0)] for _ in range(draws)]
    )
    expected = (n - 1) / (n**2 * (n * alpha + 1))
    # 1,500 correlated share samples: relative standard error of a variance estimate ~ 5-8 %; allow 25 %
    assert shares.var() == pytest.approx(expected, rel=0.25)
    # and the mean share is 1/n (sum-to-one per draw makes this exact up to float rounding)
    assert shares.mean() == pytest.approx(1 / n, abs=1e-9)


def test_dirichlet_partition_errors() -> None:
    with pytest.raises(ValueError, match="cannot give"):
        dirichlet_partition(LABELS, 100, 0.5, np.random.default_rng(0), min_size=100)
    with pytest.raises(ValueError, match="concentration"):
        dirichlet_partition(LABELS, 10, 0.0, np.random.default_rng(0), min_size=1)
    with pytest.raises(RuntimeError, match="lower min_size"):
        dirichlet_partition(LABELS, 50, 0.001, np.random.default_rng(0), min_size=50, max_tries=3)


# --- shard_partition ----------------------------------------------------------------------------------------


def test_shard_partition_gives_few_classes_per_client() -> None:
    labels = np.repeat(np.arange(10), 100)  # shards of 10 align with class boundaries
    parts = shard_partition(labels, 50, 2, np.random.default_rng(0))
    assert [p.size for p in parts] == [20] * 50
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(labels.size))
    assert max(np.unique(labels[p]).size for p in parts) <= 2
    again = shard_partition(labels, 50, 2, np.random.default_rng(0))
    assert all(np.array_equal(p, q) for p, q in zip(parts, again, strict=True))


def test_shard_partition_uneven_sizes_and_errors() -> None:
    labels = np.arange(103) % 7
    parts = shard_partition(labels, 5, 3, np.random.default_rng(1))
    sizes = [p.size for p in parts]
    assert sum(sizes) == 103
    # 15 shards of size 6 or 7 (array_split), 3 per client: 18..21 samples
    assert min(sizes) >= 18 and max(sizes) <= 21
    with pytest.raises(ValueError, match="exceed"):
        shard_partition(labels, 60, 2, np.random.default_rng(0))
