r"""LEAF-format federated data (Caldas et al. 2018), e.g. FEMNIST, from a local folder.

LEAF (https://github.com/TalwalkarLab/leaf) is a benchmark suite of naturally federated datasets. Its FEMNIST
(Federated Extended MNIST: 62 classes — digits, upper- and lower-case letters — one client per writer) is what
the paper uses with 206 clients. It cannot be downloaded here; produce it with LEAF itself, e.g.
``cd leaf/data/femnist && ./preprocess.sh -s niid --sf 0.05 -k 0 -t sample --tf 0.8``, then pass the folder
that contains ``train/`` and ``test/`` (``leaf/data/femnist/data``).

Format: ``train/*.json`` and ``test/*.json``, each file a JSON object

    {"users": [u, ...], "num_samples": [n_u, ...],
     "user_data": {u: {"x": [[784 floats], ...], "y": [int, ...]}, ...}}

FEMNIST's x are 28×28 greyscale images flattened row-major, floats in [0, 1] (LEAF stores 1.0 for the white
background); they are kept as stored and reshaped to ``image_shape``.

Splits. A user's LEAF *test* data becomes its test split. Its LEAF *train* data is shuffled and split into
train and validation, the validation part being ``val_fraction`` of it (rounded, at least one sample each).
The paper uses train : val : test = 6 : 2 : 2 overall: produce the data with LEAF's ``--tf 0.8`` (80 % train,
20 % test) and keep the default ``val_fraction=0.25`` (0.8 · 0.25 = 0.2). With LEAF's default ``--tf 0.9`` the
same settings give 67.5 : 22.5 : 10. Users that lack test data or hold fewer than 2 training samples are
skipped (with a warning).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from most.data.federated import Client, FederatedDataset, Split, split_counts

FEMNIST_CLASSES = 62
FEMNIST_SHAPE = (1, 28, 28)
DEFAULT_VAL_FRACTION = 0.25
"""Share of a user's LEAF-train data used for validation: with LEAF ``--tf 0.8`` this gives 6:2:2."""

_LEAF_HELP = (
    "LEAF (https://github.com/TalwalkarLab/leaf) federated data is not shipped and is not downloaded here. "
    "Produce it with LEAF, e.g. for FEMNIST: 'cd leaf/data/femnist && ./preprocess.sh -s niid --sf 0.05 -k 0 "
    "-t sample --tf 0.8', then pass the folder that contains train/ and test/ (leaf/data/femnist/data)."
)


def _read_part(folder: Path) -> dict[str, dict[str, Any]]:
    """user id -> {"x": list, "y": list} over all JSON files of one part, files in sorted name order."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"{folder}: no LEAF *.json files. {_LEAF_HELP}")
    users: dict[str, dict[str, Any]] = {}
    for f in files:
        with f.open() as fh:
            blob = json.load(fh)
        try:
            ids, counts, data = blob["users"], blob["num_samples"], blob["user_data"]
        except (KeyError, TypeError) as err:
            raise ValueError(f"{f}: not LEAF format (needs 'users', 'num_samples', 'user_data')") from err
        if len(ids) != len(counts):
            raise ValueError(f"{f}: {len(ids)} users but {len(counts)} num_samples entries")
        for user, count in zip(ids, counts, strict=True):
            record = data[user]
            if len(record["x"]) != count or len(record["y"]) != count:
                raise ValueError(
                    f"{f}: user {user} declares {count} samples but has {len(record['x'])} x and {len(record['y'])} y"
                )
            if user in users:
                users[user]["x"].extend(record["x"])
                users[user]["y"].extend(record["y"])
            else:
                users[user] = {"x": list(record["x"]), "y": list(record["y"])}
    return users


def _to_split(record: Mapping[str, Any], image_shape: tuple[int, ...], user: str, part: str) -> Split:
    x = np.asarray(record["x"], dtype=np.float32)
    y = np.asarray(record["y"], dtype=np.int64)
    width = int(np.prod(image_shape))
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"user {user} {part}: x has shape {x.shape}, expected (N, {width}) for {image_shape}")
    return Split(torch.from_numpy(x.reshape((-1, *image_shape))), torch.from_numpy(y))


def load_leaf(
    path: str | Path,
    *,
    num_classes: int = FEMNIST_CLASSES,
    image_shape: tuple[int, ...] = FEMNIST_SHAPE,
    max_clients: int | None = None,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = 0,
) -> FederatedDataset:
    """Load a LEAF dataset folder (with ``train/`` and ``test/``) as one client per LEAF user.

    Args:
        path: the folder containing ``train/`` and ``test/`` with LEAF JSON files.
        num_classes: number of classes (62 for FEMNIST); labels must lie in [0, num_classes).
        image_shape: shape each flat x row is reshaped to, (1, 28, 28) for FEMNIST.
        max_clients: keep only the first this many usable users (train files in sorted name order, users in
            file order); ``None`` keeps all.
        val_fraction: share of a user's LEAF-train data moved to validation, in (0, 1).
        seed: seeds the per-user train/validation shuffle (torch Generator seeded with ``seed``, then one
            permutation per user in order).

    Raises:
        FileNotFoundError: when ``path``, ``train/`` or ``test/`` is missing; the message explains LEAF and
            how to produce the data.
        ValueError: on malformed files, inputs of the wrong width or labels out of range.
    """
    root = Path(path)
    if not (root / "train").is_dir() or not (root / "test").is_dir():
        raise FileNotFoundError(f"{root}: expected a LEAF data folder with train/ and test/ subfolders. {_LEAF_HELP}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if max_clients is not None and max_clients < 1:
        raise ValueError(f"max_clients must be >= 1 or None, got {max_clients}")
    train_users = _read_part(root / "train")
    test_users = _read_part(root / "test")

    generator = torch.Generator().manual_seed(seed)
    clients: list[Client] = []
    skipped: list[str] = []
    for user, record in train_users.items():
        if max_clients is not None and len(clients) >= max_clients:
            break
        if user not in test_users or len(test_users[user]["y"]) == 0 or len(record["y"]) < 2:
            skipped.append(user)
            continue
        full = _to_split(record, image_shape, user, "train")
        n_train, _ = split_counts(len(full), (1.0 - val_fraction, val_fraction))
        perm = torch.randperm(len(full), generator=generator)
        train_idx, val_idx = perm[:n_train], perm[n_train:]
        train = Split(full.x.index_select(0, train_idx), full.y.index_select(0, train_idx))
        val = Split(full.x.index_select(0, val_idx), full.y.index_select(0, val_idx))
        clients.append(Client(train, val, _to_split(test_users[user], image_shape, user, "test"), name=user))
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} LEAF users without test data or with < 2 training samples "
            f"(first: {skipped[0]})",
            stacklevel=2,
        )
    if not clients:
        raise ValueError(f"{root}: no LEAF user has both >= 2 training samples and test data")
    label = root.resolve().parent.name if root.name == "data" else root.name  # leaf/data/femnist/data -> femnist
    return FederatedDataset(
        name=f"leaf({label})",
        clients=clients,
        num_classes=num_classes,
        input_shape=tuple(image_shape),
        description=f"LEAF users from {root}; train split into train/val with val_fraction {val_fraction:g}, "
        f"seed {seed}",
    )


def write_leaf(
    path: str | Path, users: Mapping[str, tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]]
) -> Path:
    """Write one LEAF JSON file ``{"users", "num_samples", "user_data": {u: {"x", "y"}}}`` (tests, demos).

    Args:
        path: the ``.json`` file to write (parent folders are created), e.g. ``root/train/part0.json``.
        users: user id -> (x (N, ...) flattened to (N, prod ...) floats, y (N,) ints), in the order to write.

    Returns:
        The path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    user_data: dict[str, dict[str, list[Any]]] = {}
    for user, (x, y) in users.items():
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.int64)
        if xa.shape[0] != ya.shape[0] or ya.ndim != 1:
            raise ValueError(f"user {user}: x has {xa.shape[0]} rows but y has shape {ya.shape}")
        user_data[user] = {"x": xa.reshape(xa.shape[0], -1).tolist(), "y": ya.tolist()}
    blob = {
        "users": list(user_data),
        "num_samples": [len(d["y"]) for d in user_data.values()],
        "user_data": user_data,
    }
    out.write_text(json.dumps(blob))
    return out
