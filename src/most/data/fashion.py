r"""Fashion-MNIST (Xiao et al. 2017) as federated clients, from the Debian package ``dataset-fashion-mnist``.

The package installs four gzipped idx files under ``/usr/share/datasets/fashion-mnist/``: 60,000 training and
10,000 test images (28×28 uint8 greyscale, 10 classes). Install it with ``apt-get install
dataset-fashion-mnist`` (the project's ``make`` does so). Nothing is downloaded at run time.

Fashion-MNIST has no writer ids, so clients are made by label-skewed partitioning of the pooled 70,000 images:
Dirichlet(concentration) class shares per client (:func:`most.data.federated.dirichlet_partition`) or
McMahan's sort-and-shard (:func:`most.data.federated.shard_partition`). Each client is then split
train : val : test = 6:2:2.

The idx format (LeCun's MNIST format), parsed by hand here with numpy (a few lines, no extra dependency):
a 4-byte magic number ``0x00 0x00 T D`` — T the element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), D the number of dimensions — then D big-endian uint32 sizes, then the elements,
big-endian, in C order.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from most.data.federated import FederatedDataset, dirichlet_partition, shard_partition, split_client

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
"""Where the Debian package ``dataset-fashion-mnist`` installs the idx files."""

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
IMAGE_MAGIC = 0x00000803  # uint8, 3 dimensions
LABEL_MAGIC = 0x00000801  # uint8, 1 dimension
NUM_CLASSES = 10
IMAGE_SIZE = 28
PIXEL_MAX = 255.0
DEFAULT_MIN_SIZE = 10
"""Fewest samples a client may hold after partitioning (a 6:2:2 split needs >= 3)."""

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_INSTALL_HINT = (
    "Fashion-MNIST is read from the Debian package 'dataset-fashion-mnist': run "
    "'apt-get install dataset-fashion-mnist' (as root), or pass root= a folder holding the four idx .gz files"
)


def read_idx(path: str | Path, *, expected_magic: int | None = None) -> np.ndarray:
    """Parse one idx file (gzipped if the name ends in ``.gz``) into a native-endian numpy array.

    Args:
        path: the idx file.
        expected_magic: when given, the 4-byte big-endian magic number the file must start with
            (e.g. 0x00000803 for uint8 images of 3 dimensions).

    Returns:
        An array of shape (s_1, ..., s_D) with the element type named by the magic number.

    Raises:
        FileNotFoundError: when the file is missing.
        ValueError: on a bad magic number, unknown element type or a size that disagrees with the header.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"idx file {p} not found")
    raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    if len(raw) < 4:
        raise ValueError(f"{p}: too short for an idx header ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{p}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{p}: not an idx file (magic 0x{magic:08X} should start with two zero bytes)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_DTYPES:
        raise ValueError(f"{p}: unknown idx element type 0x{type_code:02X}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{p}: header promises {ndim} dimensions but the file has {len(raw)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{p}: header shape {shape} needs {expected} data bytes, file has {len(raw) - header}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_fashion_arrays(
    root: str | Path = DEFAULT_ROOT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST as numpy arrays: x_train (60000, 28, 28) uint8, y_train (60000,) uint8, x_test, y_test.

    Raises:
        FileNotFoundError: when a file is missing, saying to ``apt-get install dataset-fashion-mnist``.
        ValueError: on a malformed file or image/label counts that disagree.
    """
    folder = Path(root)
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}. {_INSTALL_HINT}")
    x_train = read_idx(folder / FILES["train_images"], expected_magic=IMAGE_MAGIC)
    y_train = read_idx(folder / FILES["train_labels"], expected_magic=LABEL_MAGIC)
    x_test = read_idx(folder / FILES["test_images"], expected_magic=IMAGE_MAGIC)
    y_test = read_idx(folder / FILES["test_labels"], expected_magic=LABEL_MAGIC)
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{folder}: {part} has {x.shape[0]} images but {y.shape[0]} labels")
    return x_train, y_train, x_test, y_test


def fashion_federated(
    *,
    clients: int = 100,
    concentration: float = 0.5,
    partition: Literal["dirichlet", "shards"] = "dirichlet",
    shards_per_client: int = 2,
    min_size: int = DEFAULT_MIN_SIZE,
    per_client_cap: int | None = None,
    seed: int = 0,
    root: str | Path = DEFAULT_ROOT,
) -> FederatedDataset:
    """Pooled Fashion-MNIST (70,000 images) cut into label-skewed clients, each split 6:2:2.

    Inputs are scaled to float32 in [0, 1] with shape (1, 28, 28); labels are int64 in [0, 10).

    Args:
        clients: number of clients n.
        concentration: Dirichlet α for ``partition="dirichlet"``: smaller is more skewed (see
            :func:`most.data.federated.dirichlet_partition`).
        partition: ``"dirichlet"`` or ``"shards"`` (McMahan's sort-and-shard, ``shards_per_client`` each).
        shards_per_client: shards per client for ``partition="shards"``.
        min_size: fewest samples per client for the Dirichlet partition (redrawn until met; >= 3).
        per_client_cap: keep at most this many samples per client (a uniform random subset, before the 6:2:2
            split) — for quick runs; ``None`` keeps everything.
        seed: data seed; partition, cap and splits draw from children of ``numpy.random.SeedSequence(seed)``.
        root: folder with the idx files.
    """
    if partition not in ("dirichlet", "shards"):
        raise ValueError(f"unknown partition {partition!r}; valid: 'dirichlet', 'shards'")
    if per_client_cap is not None and per_client_cap < 3:
        raise ValueError(f"per_client_cap must be >= 3 (a 6:2:2 split), got {per_client_cap}")
    if min_size < 3:
        raise ValueError(f"min_size must be >= 3 so a 6:2:2 split has no empty part, got {min_size}")
    x_train, y_train, x_test, y_test = load_fashion_arrays(root)
    images = np.concatenate([x_train, x_test])  # (70000, 28, 28) uint8
    labels = np.concatenate([y_train, y_test]).astype(np.int64)  # (70000,)

    partition_ss, cap_ss, split_ss = np.random.SeedSequence(seed).spawn(3)
    partition_rng = np.random.default_rng(partition_ss)
    if partition == "dirichlet":
        parts = dirichlet_partition(labels, clients, concentration, partition_rng, min_size)
        how = f"Dirichlet label skew, concentration {concentration:g}"
    else:
        parts = shard_partition(labels, clients, shards_per_client, partition_rng)
        how = f"{shards_per_client} label-sorted shards per client"
    if per_client_cap is not None:
        cap_rng = np.random.default_rng(cap_ss)
        parts = [p if p.size <= per_client_cap else cap_rng.choice(p, per_client_cap, replace=False) for p in parts]

    split_seeds = np.random.default_rng(split_ss).integers(0, 2**62, size=clients)
    out = []
    for k, idx in enumerate(parts):
        x = (images[idx].astype(np.float32) / np.float32(PIXEL_MAX))[:, None]  # (N_k, 1, 28, 28) in [0, 1]
        y = labels[idx]
        out.append(split_client(x, y, torch.Generator().manual_seed(int(split_seeds[k])), name=f"client{k}"))
    cap = "" if per_client_cap is None else f", at most {per_client_cap} samples per client"
    return FederatedDataset(
        name=f"fashion-mnist({partition}, {clients} clients)",
        clients=out,
        num_classes=NUM_CLASSES,
        input_shape=(1, IMAGE_SIZE, IMAGE_SIZE),
        description=f"pooled train+test (70,000 images), {how}{cap}, data seed {seed}",
    )
