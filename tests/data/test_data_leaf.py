"""LEAF-format JSON (FEMNIST layout): write_leaf / load_leaf round trip and errors (most.data.leaf)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from most.data.leaf import load_leaf, write_leaf

SHAPE = (1, 4, 4)  # small images keep the JSON tiny; FEMNIST's are (1, 28, 28)
WIDTH = 16


def _user(rng: np.random.Generator, n: int, classes: int = 62) -> tuple[np.ndarray, np.ndarray]:
    # multiples of 1/8 are exact in float32 and in JSON text, so the round trip can be checked for equality
    return rng.integers(0, 9, size=(n, WIDTH)) / 8.0, rng.integers(0, classes, size=n)


@pytest.fixture
def leaf_dir(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    rng = np.random.default_rng(0)
    train = {"f0001": _user(rng, 20), "f0002": _user(rng, 8), "f0003": _user(rng, 41)}
    test = {u: _user(rng, 5) for u in train}
    # LEAF splits users over several files: two train files, one test file
    write_leaf(tmp_path / "train" / "all_data_0_niid_train.json", {u: train[u] for u in ("f0001", "f0002")})
    write_leaf(tmp_path / "train" / "all_data_1_niid_train.json", {"f0003": train["f0003"]})
    write_leaf(tmp_path / "test" / "all_data_0_niid_test.json", test)
    return tmp_path, train, test


def _rows(x: torch.Tensor) -> list[tuple[float, ...]]:
    return sorted(tuple(r) for r in x.reshape(x.shape[0], -1).tolist())


def test_write_leaf_format(tmp_path: Path) -> None:
    x, y = _user(np.random.default_rng(1), 3)
    path = write_leaf(tmp_path / "train" / "a.json", {"u1": (x, y)})
    blob = json.loads(path.read_text())
    assert set(blob) == {"users", "num_samples", "user_data"}
    assert blob["users"] == ["u1"] and blob["num_samples"] == [3]
    assert len(blob["user_data"]["u1"]["x"]) == 3 and len(blob["user_data"]["u1"]["x"][0]) == WIDTH
    assert blob["user_data"]["u1"]["y"] == y.tolist()


def test_round_trip(leaf_dir: tuple[Path, dict, dict]) -> None:
    root, train, test = leaf_dir
    ds = load_leaf(root, image_shape=SHAPE)
    assert ds.n_clients == 3 and ds.num_classes == 62 and ds.input_shape == SHAPE
    assert [c.name for c in ds.clients] == ["f0001", "f0002", "f0003"]  # file order, then user order
    for c in ds.clients:
        x, y = train[c.name]
        n = len(y)
        assert len(c.train) + len(c.val) == n
        assert abs(len(c.val) - 0.25 * n) < 1.0  # val_fraction 0.25, rounded to whole samples
        assert c.train.x.shape[1:] == SHAPE and c.train.x.dtype == torch.float32
        assert c.train.y.dtype == torch.int64
        # train ∪ val is exactly the user's LEAF train data (values are exact binary fractions)
        joined = torch.cat([c.train.x, c.val.x])
        assert _rows(joined) == _rows(torch.from_numpy(x.astype(np.float32)))
        assert sorted(torch.cat([c.train.y, c.val.y]).tolist()) == sorted(y.tolist())
        # the test split is the user's LEAF test data, in order
        tx, ty = test[c.name]
        assert torch.equal(c.test.x.reshape(len(ty), -1), torch.from_numpy(tx.astype(np.float32)))
        assert c.test.y.tolist() == ty.tolist()


def test_split_seed(leaf_dir: tuple[Path, dict, dict]) -> None:
    root, _, _ = leaf_dir
    a, b = load_leaf(root, image_shape=SHAPE, seed=0), load_leaf(root, image_shape=SHAPE, seed=0)
    c = load_leaf(root, image_shape=SHAPE, seed=1)
    assert all(torch.equal(p.train.x, q.train.x) for p, q in zip(a.clients, b.clients, strict=True))
    assert not all(torch.equal(p.train.x, q.train.x) for p, q in zip(a.clients, c.clients, strict=True))


def test_max_clients_and_val_fraction(leaf_dir: tuple[Path, dict, dict]) -> None:
    root, _, _ = leaf_dir
    ds = load_leaf(root, image_shape=SHAPE, max_clients=2, val_fraction=0.5)
    assert [c.name for c in ds.clients] == ["f0001", "f0002"]
    assert (len(ds.clients[0].train), len(ds.clients[0].val)) == (10, 10)
    with pytest.raises(ValueError, match="val_fraction"):
        load_leaf(root, image_shape=SHAPE, val_fraction=1.0)


def test_user_without_test_data_is_skipped_with_a_warning(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    write_leaf(tmp_path / "train" / "t.json", {"a": _user(rng, 6), "b": _user(rng, 6)})
    write_leaf(tmp_path / "test" / "t.json", {"a": _user(rng, 2)})
    with pytest.warns(UserWarning, match="skipped 1 LEAF users"):
        ds = load_leaf(tmp_path, image_shape=SHAPE)
    assert [c.name for c in ds.clients] == ["a"]


def test_missing_path_explains_leaf(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_leaf(tmp_path / "femnist" / "data")
    message = str(err.value)
    assert "LEAF" in message and "preprocess.sh" in message and "train/" in message and "test/" in message


def test_empty_part_folder(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    with pytest.raises(FileNotFoundError, match="no LEAF"):
        load_leaf(tmp_path)


def test_malformed_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    write_leaf(tmp_path / "test" / "t.json", {"a": _user(rng, 3)})
    bad = tmp_path / "train" / "t.json"
    bad.parent.mkdir()
    x, y = _user(rng, 4)
    record = {"a": {"x": x.tolist(), "y": y.tolist()}}
    bad.write_text(json.dumps({"users": ["a"], "num_samples": [5], "user_data": record}))
    with pytest.raises(ValueError, match="declares 5 samples"):
        load_leaf(tmp_path, image_shape=SHAPE)
    bad.write_text(json.dumps({"users": ["a"]}))
    with pytest.raises(ValueError, match="not LEAF format"):
        load_leaf(tmp_path, image_shape=SHAPE)
    write_leaf(bad, {"a": _user(rng, 4)})
    with pytest.raises(ValueError, match="expected \\(N, 784\\)"):
        load_leaf(tmp_path)  # FEMNIST's default image shape does not fit 16-wide rows
    write_leaf(bad, {"a": (x, np.full(4, 70))})
    with pytest.raises(ValueError, match="outside"):
        load_leaf(tmp_path, image_shape=SHAPE)  # label 70 >= 62 classes
