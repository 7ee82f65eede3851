"""The in-process federated engine: reductions, pair scheduling, local training, failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import most
from most.data.federated import Client, FederatedDataset, Split
from most.data.synthetic_fedprox import synthetic
from most.engine.federated import FederatedRunError, run_federated
from most.engine.local import FlatModel, LocalConfig, Padded, PairTrainer
from most.models import LogisticRegression, SmallCNN


@pytest.fixture(scope="module")
def data() -> FederatedDataset:
    return synthetic(0.0, 0.5, clients=12, seed=0)


def _factory(data: FederatedDataset):  # type: ignore[no-untyped-def]
    return lambda: LogisticRegression(int(np.prod(data.input_shape)), data.num_classes)


def _run(data: FederatedDataset, name: str, rounds: int = 8, **options):  # type: ignore[no-untyped-def]
    method = most.methods.create(name, **options)
    return run_federated(
        data, _factory(data), method, m=3, rounds=rounds, local=LocalConfig(epochs=1), seed=0, eval_every=4
    )


def test_fedprox_with_mu_zero_is_fedavg(data: FederatedDataset) -> None:
    a = _run(data, "fedavg")
    b = _run(data, "fedprox", mu=0.0)
    # identical arithmetic: same seeds, same shuffles, the proximal term is skipped at μ = 0
    assert torch.equal(a.models, b.models)
    c = _run(data, "fedprox", mu=1.0)
    assert not torch.equal(a.models, c.models)


def test_most_trains_only_active_pairs(data: FederatedDataset) -> None:
    n, m = data.n_clients, 3
    res = _run(data, "most", warmup=2, tau=0.0)
    fedavg = _run(data, "fedavg")
    assert fedavg.pairs_trained == [n * m] * 8
    assert res.pairs_trained[:2] == [n * m, n * m]  # warm-up rounds train every pair
    # after warm-up, an exact τ = 0 plan has at most n + m − 1 nonzeros (Proposition 1)
    assert all(p <= n + m - 1 for p in res.pairs_trained[2:])
    assert res.sparsity[-1] >= 1 - (n + m - 1) / (n * m) - 1e-12


def test_ifca_trains_one_model_per_client(data: FederatedDataset) -> None:
    res = _run(data, "ifca")
    assert res.pairs_trained == [data.n_clients] * 8


def test_federated_run_learns_and_records(data: FederatedDataset) -> None:
    res = _run(data, "most", rounds=12, warmup=3)
    ev = res.final
    assert ev.val_acc.shape == (data.n_clients, 3) and ev.selected.shape == (data.n_clients,)
    # 10 classes: chance is 10%; a short run must clearly beat it
    assert ev.mean_acc > 0.3
    assert res.train_loss[-1] < res.train_loss[0]
    assert np.allclose(ev.diversity, ev.diversity.T) and np.all(np.diag(ev.diversity) == 0)
    assert len(res.evaluations) == 3 and res.rounds_done == 12
    assert set(res.seconds) >= {"local", "transport", "min_norm", "eval", "total"}


def test_linear_fast_path_matches_functional_gradients() -> None:
    torch.manual_seed(0)
    flat = FlatModel(LogisticRegression(6, 4))
    padded = Padded([torch.randn(9, 6), torch.randn(5, 6)], [torch.randint(0, 4, (9,)), torch.randint(0, 4, (5,))])
    trainer = PairTrainer(flat, padded, LocalConfig())
    thetas = 0.3 * torch.randn(3, flat.dim)
    x, y = torch.randn(3, 7, 6), torch.randint(0, 4, (3, 7))
    mask = torch.ones(3, 7)
    mask[1, 4:] = 0
    g_fast, l_fast = trainer.gradients(thetas, x, y, mask)
    flat.linear = False
    g_ref, l_ref = trainer.gradients(thetas, x, y, mask)
    # float32 throughout: agreement to a few ulps of the gradient scale
    assert torch.allclose(g_fast, g_ref, atol=1e-6) and torch.allclose(l_fast, l_ref, atol=1e-6)


def test_local_training_of_a_cnn_runs_batched() -> None:
    torch.manual_seed(0)
    flat = FlatModel(SmallCNN(1, 3, (8, 8)))
    padded = Padded(
        [torch.rand(6, 1, 8, 8), torch.rand(4, 1, 8, 8)],
        [torch.randint(0, 3, (6,)), torch.randint(0, 3, (4,))],
    )
    trainer = PairTrainer(flat, padded, LocalConfig(batch_size=3, epochs=2))
    start = flat.flatten().repeat(2, 1)
    delta, loss = trainer.train(torch.tensor([0, 1]), start, 0, torch.Generator().manual_seed(0))
    assert delta.shape == (2, flat.dim) and torch.isfinite(delta).all() and (delta.norm(dim=1) > 0).all()
    assert loss.shape == (2,) and torch.isfinite(loss).all()


def test_nan_update_names_client_model_and_round(data: FederatedDataset) -> None:
    bad = list(data.clients)
    c = bad[4]
    x = c.train.x.clone()
    x[0, 0] = float("nan")
    bad[4] = Client(Split(x, c.train.y), c.val, c.test)
    broken = FederatedDataset(data.name, bad, data.num_classes, data.input_shape)
    with pytest.raises(FederatedRunError, match=r"client 4, model 0 is not finite in round 0") as info:
        _run(broken, "fedavg")
    assert info.value.partial is not None and info.value.partial.rounds_done == 0


def test_client_without_samples_is_named() -> None:
    with pytest.raises(ValueError, match="client 1 has no samples"):
        Padded([torch.zeros(3, 2), torch.zeros(0, 2)], [torch.zeros(3), torch.zeros(0)])
