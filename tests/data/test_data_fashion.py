"""Fashion-MNIST: the idx parser, the real Debian-packaged files, and the federated split (most.data.fashion).

The real files come from the Debian package ``dataset-fashion-mnist`` that ``make`` installs; these tests do
not skip when it is missing — they fail, pointing at the install command.
"""

from __future__ import annotations

import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from most.data.fashion import (
    DEFAULT_ROOT,
    FILES,
    fashion_federated,
    load_fashion_arrays,
    read_idx,
)


def _idx_bytes(array: np.ndarray, type_code: int, big_endian_dtype: str) -> bytes:
    """The idx encoding written by hand: magic 0x0000TTDD, big-endian uint32 sizes, big-endian data."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


def _write_fake_fashion(root: Path, n_train: int, n_test: int) -> None:
    """Four gzipped idx files in the Debian package's layout: random images, labels i mod 10 (balanced)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n_train + n_test, 28, 28), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    root.mkdir(parents=True, exist_ok=True)
    parts = {
        "train_images": _idx_bytes(images[:n_train], 0x08, ">u1"),
        "train_labels": _idx_bytes(labels[:n_train], 0x08, ">u1"),
        "test_images": _idx_bytes(images[n_train:], 0x08, ">u1"),
        "test_labels": _idx_bytes(labels[n_train:], 0x08, ">u1"),
    }
    for key, blob in parts.items():
        (root / FILES[key]).write_bytes(gzip.compress(blob, compresslevel=1))


# --- the idx parser on small generated files ----------------------------------------------------------------


def test_read_idx_uint8_gz(tmp_path: Path) -> None:
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "a-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_bytes(a, 0x08, ">u1")))
    out = read_idx(path, expected_magic=0x00000803)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert np.array_equal(out, a)


@pytest.mark.parametrize(
    ("type_code", "big", "native"),
    [(0x0B, ">i2", np.int16), (0x0C, ">i4", np.int32), (0x0D, ">f4", np.float32), (0x0E, ">f8", np.float64)],
)
def test_read_idx_big_endian_types_plain_file(tmp_path: Path, type_code: int, big: str, native: type) -> None:
    a: np.ndarray = np.array([[1, -2, 300], [6000, 5, -6]], dtype=native)
    path = tmp_path / "b.idx"
    path.write_bytes(_idx_bytes(a, type_code, big))
    out = read_idx(path)
    assert out.dtype == np.dtype(native) and out.dtype.isnative
    assert np.array_equal(out, a)  # integers and small floats round-trip exactly


def test_read_idx_errors(tmp_path: Path) -> None:
    a = np.zeros((2, 2), dtype=np.uint8)
    good = _idx_bytes(a, 0x08, ">u1")
    (tmp_path / "magic.idx").write_bytes(good)
    with pytest.raises(ValueError, match="expected 0x00000803"):
        read_idx(tmp_path / "magic.idx", expected_magic=0x00000803)
    (tmp_path / "short.idx").write_bytes(good[:-1])
    with pytest.raises(ValueError, match="needs 4 data bytes"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "type.idx").write_bytes(b"\x00\x00\x07\x01" + struct.pack(">I", 0))
    with pytest.raises(ValueError, match="element type"):
        read_idx(tmp_path / "type.idx")
    (tmp_path / "notidx.idx").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "notidx.idx")
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


def test_missing_root_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_arrays(tmp_path / "nowhere")


# --- the federated split, on a small fake copy in the package's layout --------------------------------------


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fashion")
    _write_fake_fashion(root, n_train=3000, n_test=1000)
    return root


def test_fashion_federated_shapes_and_scaling(fake_root: Path) -> None:
    ds = fashion_federated(clients=10, root=fake_root)
    assert ds.n_clients == 10 and ds.num_classes == 10 and ds.input_shape == (1, 28, 28)
    total = sum(c.n_samples for c in ds.clients)
    assert total == 4000  # train + test pooled, nothing dropped
    for c in ds.clients:
        n = c.n_samples
        for part, share in ((c.train, 0.6), (c.val, 0.2), (c.test, 0.2)):
            assert part.x.dtype == torch.float32 and part.x.shape[1:] == (1, 28, 28)
            assert float(part.x.min()) >= 0.0 and float(part.x.max()) <= 1.0
            assert abs(len(part) - share * n) < 1.0  # 6:2:2 up to rounding to whole samples
    # pixel values are exactly k/255 for integers k: scaling is x / 255 (float32 rounding only)
    x = torch.cat([c.train.x for c in ds.clients])
    assert torch.allclose(x * 255, (x * 255).round(), atol=1e-4)
    # the pooled label histogram is preserved by the partition
    pooled = torch.cat([torch.cat([c.train.y, c.val.y, c.test.y]) for c in ds.clients])
    assert np.bincount(pooled.numpy(), minlength=10).tolist() == [400] * 10


def test_fashion_federated_determinism(fake_root: Path) -> None:
    a = fashion_federated(clients=8, seed=1, root=fake_root)
    b = fashion_federated(clients=8, seed=1, root=fake_root)
    c = fashion_federated(clients=8, seed=2, root=fake_root)
    assert all(torch.equal(p.train.x, q.train.x) for p, q in zip(a.clients, b.clients, strict=True))
    assert [x.n_samples for x in a.clients] != [x.n_samples for x in c.clients]


def test_fashion_concentration_controls_skew(fake_root: Path) -> None:
    skew = {
        alpha: fashion_federated(clients=10, concentration=alpha, root=fake_root).label_skew()
        for alpha in (0.1, 1.0, 100.0)
    }
    # expected ≈ 0.7 / 0.35 / 0.07 at 10 clients of ~240 training samples: gaps well above sampling noise
    assert skew[0.1] > skew[1.0] + 0.1 > skew[100.0] + 0.2


def test_fashion_shards_and_cap(fake_root: Path) -> None:
    shards = fashion_federated(clients=20, partition="shards", shards_per_client=2, root=fake_root)
    present = (shards.label_distributions("train") > 0).sum(axis=1)
    # 40 shards of 100 over 10 classes of 400: each shard is one class, so at most 2 classes per client
    assert present.max() <= 2
    capped = fashion_federated(clients=10, per_client_cap=30, root=fake_root)
    assert all(c.n_samples == 30 for c in capped.clients)
    with pytest.raises(ValueError, match="valid: 'dirichlet', 'shards'"):
        fashion_federated(partition="iid", root=fake_root)  # type: ignore[arg-type]


# --- the real Debian-packaged files -------------------------------------------------------------------------


def test_real_fashion_arrays() -> None:
    x_train, y_train, x_test, y_test = load_fashion_arrays(DEFAULT_ROOT)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    # Fashion-MNIST is exactly balanced: 6,000 / 1,000 images per class
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert int(x_train.max()) == 255 and int(x_train.min()) == 0


def test_real_fashion_federated_100_clients() -> None:
    start = time.perf_counter()
    ds = fashion_federated(clients=100, concentration=0.5, seed=0)
    seconds = time.perf_counter() - start
    assert ds.n_clients == 100 and ds.input_shape == (1, 28, 28)
    assert sum(c.n_samples for c in ds.clients) == 70000
    assert min(c.n_samples for c in ds.clients) >= 10  # the default min_size
    assert 0.2 < ds.label_skew() < 0.8  # measured 0.44 for concentration 0.5; loose bounds around it
    assert seconds < 20  # measured ~1.5 s on 2 cores; a generous guard against accidental quadratic work
