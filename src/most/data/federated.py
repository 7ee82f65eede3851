r"""Typed containers for federated data and the partitioners that make label-skewed clients.

Every federated loader (:mod:`most.data.synthetic_fedprox`, :mod:`most.data.fashion`, :mod:`most.data.leaf`)
returns a :class:`FederatedDataset`: a list of :class:`Client` s, each holding a train, validation and test
:class:`Split` with inputs ``x`` (N, \*input_shape) float32 and labels ``y`` (N,) int64.

The paper (appendix A.4.2) splits every client's data train : validation : test = 6 : 2 : 2;
:func:`split_client` does that with a seeded shuffle. Datasets without natural clients (Fashion-MNIST) are cut
into clients with :func:`dirichlet_partition` (label skew of tunable strength) or :func:`shard_partition`
(McMahan et al. 2017's sort-and-shard, each client sees only a few classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

DEFAULT_RATIOS: tuple[float, float, float] = (0.6, 0.2, 0.2)
"""The paper's train : validation : test proportions per client."""

DEFAULT_MAX_TRIES = 1000
"""How many times :func:`dirichlet_partition` redraws before giving up on ``min_size``."""


@dataclass(frozen=True)
class Split:
    """One part of one client's data: inputs ``x`` (N, \\*input_shape) float32 and labels ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.dtype != torch.float32:
            raise TypeError(f"Split.x must be float32, got {self.x.dtype}")
        if self.y.dtype != torch.int64:
            raise TypeError(f"Split.y must be int64, got {self.y.dtype}")
        if self.y.ndim != 1:
            raise ValueError(f"Split.y must be 1-D (N,), got shape {tuple(self.y.shape)}")
        if self.x.ndim < 1 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"Split.x has shape {tuple(self.x.shape)} but y has {self.y.shape[0]} labels")

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Client:
    """One federated client (one objective): train, validation and test splits; ``name``, e.g. a LEAF user."""

    train: Split
    val: Split
    test: Split
    name: str = ""

    @property
    def n_samples(self) -> int:
        """Total samples over the three splits."""
        return len(self.train) + len(self.val) + len(self.test)


@dataclass(frozen=True)
class FederatedDataset:
    """``clients`` with inputs of shape ``input_shape`` (no sample axis) and labels in [0, num_classes).

    Construction checks that every split's inputs have shape (N, \\*input_shape) and every label is in range.
    """

    name: str
    clients: list[Client]
    num_classes: int
    input_shape: tuple[int, ...]
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.clients:
            raise ValueError(f"{self.name}: a federated dataset needs at least one client")
        if self.num_classes < 1:
            raise ValueError(f"{self.name}: num_classes must be >= 1, got {self.num_classes}")
        for k, client in enumerate(self.clients):
            label = client.name or str(k)
            for part, split in (("train", client.train), ("val", client.val), ("test", client.test)):
                if tuple(split.x.shape[1:]) != tuple(self.input_shape):
                    raise ValueError(
                        f"{self.name}: client {label} {part} inputs have shape {tuple(split.x.shape[1:])}, "
                        f"expected {tuple(self.input_shape)}"
                    )
                if len(split) and (int(split.y.min()) < 0 or int(split.y.max()) >= self.num_classes):
                    raise ValueError(f"{self.name}: client {label} {part} labels fall outside [0, {self.num_classes})")

    @property
    def n_clients(self) -> int:
        """Number of clients (n, the number of objectives in federated MosT)."""
        return len(self.clients)

    def sizes(self, part: str = "train") -> np.ndarray:
        """(n_clients,) sample counts of one part: ``"train"``, ``"val"`` or ``"test"``."""
        return np.array([len(_part(c, part)) for c in self.clients], dtype=np.int64)

    def label_distributions(self, part: str = "train") -> np.ndarray:
        """(n_clients, num_classes) label frequencies per client in one part; rows sum to 1 (0 if empty)."""
        counts = np.stack(
            [np.bincount(_part(c, part).y.numpy(), minlength=self.num_classes) for c in self.clients]
        ).astype(np.float64)
        totals = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)

    def label_skew(self, part: str = "train") -> float:
        r"""Mean total-variation distance between each client's label distribution p_k and the pooled one p̄.

        skew = (1/n) Σ_k ½ ‖p_k − p̄‖₁ ∈ [0, 1): 0 when every client has the pooled label mix (IID), near 1
        when clients hold disjoint classes. p̄ weights clients by their sample counts.
        """
        dist = self.label_distributions(part)
        sizes = self.sizes(part).astype(np.float64)
        pooled = (dist * sizes[:, None]).sum(axis=0) / max(sizes.sum(), 1.0)
        return float(0.5 * np.abs(dist - pooled[None, :]).sum(axis=1).mean())

    def describe(self) -> str:
        """A few lines: clients, classes, sample counts per part (min / median / max) and label skew."""
        head = f"{self.name}: {self.n_clients} clients, {self.num_classes} classes"
        lines = [f"{head}, input shape {self.input_shape}"]
        if self.description:
            lines.append(f"  {self.description}")
        for part in ("train", "val", "test"):
            s = self.sizes(part)
            lines.append(
                f"  {part:<5} samples per client: min {s.min()}, median {np.median(s):g}, max {s.max()}, "
                f"total {s.sum()}"
            )
        present = (self.label_distributions("train") > 0).sum(axis=1)
        lines.append(
            f"  label skew (mean TV to pooled, train): {self.label_skew('train'):.3f}; "
            f"classes per client (train): min {present.min()}, mean {present.mean():.1f}, max {present.max()}"
        )
        return "\n".join(lines)


def _part(client: Client, part: str) -> Split:
    if part == "train":
        return client.train
    if part == "val":
        return client.val
    if part == "test":
        return client.test
    raise ValueError(f"unknown part {part!r}; valid parts: 'train', 'val', 'test'")


def split_counts(n: int, ratios: Sequence[float]) -> list[int]:
    """Integer part sizes summing to ``n`` in proportion to ``ratios``, every part >= 1 when n >= len(ratios).

    Largest-remainder rounding of n·r_p / Σr, then any empty part takes one sample from the largest part.
    """
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or np.any(r <= 0) or not np.all(np.isfinite(r)):
        raise ValueError(f"ratios must be positive and finite, got {tuple(ratios)}")
    exact = n * r / r.sum()
    counts = np.floor(exact).astype(np.int64)
    remainder = n - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")  # largest fractional parts first, ties by position
    counts[order[:remainder]] += 1
    if n >= r.size:
        for p in range(r.size):
            if counts[p] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[p] = 1
    return [int(c) for c in counts]


def split_client(
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    generator: torch.Generator,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    *,
    name: str = "client",
) -> Client:
    """Shuffle one client's samples and cut them train : val : test in proportion to ``ratios`` (6:2:2).

    Args:
        x: (N, \\*input_shape) inputs, converted to float32.
        y: (N,) integer labels, converted to int64.
        generator: seeds the shuffle (a permutation of the N samples).
        ratios: three positive weights; sizes are rounded by largest remainder so they sum to N, and every
            part gets at least one sample.
        name: the client's name, used in errors and stored on the :class:`Client`.

    Raises:
        ValueError: when N < 3 (some part would be empty), naming the client, or when x and y disagree on N.
    """
    if len(ratios) != 3:
        raise ValueError(f"client {name}: ratios must have three entries (train, val, test), got {tuple(ratios)}")
    if y.ndim != 1 or x.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"client {name}: x has shape {tuple(x.shape)} but y has shape {tuple(y.shape)}")
    n = int(y.shape[0])
    if n < 3:
        raise ValueError(f"client {name} has {n} samples; a train/val/test split needs at least 3")
    n_train, n_val, _ = split_counts(n, ratios)
    perm = torch.randperm(n, generator=generator).numpy()
    parts = (perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :])
    # Gather in numpy (single-threaded): torch's multi-threaded indexing and casts ran 10-100x slower on a
    # loaded 2-core machine. torch inputs are viewed as numpy (no copy) and the parts wrapped back.
    xa = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    ya = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    train, val, test = (
        Split(
            torch.from_numpy(np.ascontiguousarray(xa[idx], dtype=np.float32)),
            torch.from_numpy(np.ascontiguousarray(ya[idx], dtype=np.int64)),
        )
        for idx in parts
    )
    return Client(train=train, val=val, test=test, name=name)


def dirichlet_partition(
    labels: np.ndarray,
    n_clients: int,
    concentration: float,
    rng: np.random.Generator,
    min_size: int,
    *,
    max_tries: int = DEFAULT_MAX_TRIES,
) -> list[np.ndarray]:
    r"""Label-skewed partition (Hsu et al. 2019): per class, client shares ~ Dirichlet(concentration · 1_n).

    For every class c with N_c samples, draw p_c ~ Dir(concentration, …, concentration) over the n clients,
    shuffle the class's indices and cut them at positions ⌊N_c · (p_c1 + … + p_ck)⌋, k = 1..n−1; run k goes to
    client k. Client k's expected share of class c is 1/n; the spread around it grows as ``concentration``
    shrinks: Var p_ck = (n − 1) / (n² (nα + 1)) for α = concentration, so α → ∞ is IID and α → 0 gives each
    class to a single client. The whole draw is repeated (all classes) until every client has at least
    ``min_size`` samples.

    Args:
        labels: (N,) integer class labels.
        n_clients: number of clients n >= 1.
        concentration: Dirichlet parameter α > 0 (0.5 is a common "strong skew" choice, 100 is near-IID).
        rng: numpy Generator; the partition is a deterministic function of its state.
        min_size: lower bound on every client's sample count (e.g. 3 so a 6:2:2 split has no empty part).
        max_tries: redraws before giving up.

    Returns:
        n_clients int64 index arrays, disjoint, covering all N samples, each shuffled.

    Raises:
        ValueError: on bad arguments or when n_clients · min_size > N.
        RuntimeError: when ``max_tries`` draws all leave some client below ``min_size`` (lower ``min_size`` or
            raise ``concentration``).
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {y.shape}")
    if n_clients < 1:
        raise ValueError(f"n_clients must be >= 1, got {n_clients}")
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration}")
    if min_size < 0 or n_clients * min_size > y.size:
        raise ValueError(f"cannot give {n_clients} clients {min_size} samples each out of {y.size}")
    classes = np.unique(y)
    for _ in range(max_tries):
        buckets: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(y == c))
            shares = rng.dirichlet(np.full(n_clients, float(concentration)))
            cuts = (np.cumsum(shares)[:-1] * idx.size).astype(np.int64)
            for k, chunk in enumerate(np.split(idx, cuts)):
                buckets[k].append(chunk)
        parts = [np.concatenate(b).astype(np.int64) for b in buckets]
        if min(p.size for p in parts) >= min_size:
            return [rng.permutation(p) for p in parts]
    raise RuntimeError(
        f"dirichlet_partition: {max_tries} draws with concentration {concentration} all left a client "
        f"with fewer than {min_size} samples; lower min_size, use fewer clients, or raise concentration"
    )


def shard_partition(
    labels: np.ndarray, n_clients: int, shards_per_client: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """McMahan et al. (2017)'s pathological non-IID split: sort by label, cut into shards, deal them out.

    The N samples are shuffled, stably sorted by label, and cut into n_clients · shards_per_client contiguous
    shards of near-equal size (sizes differ by at most one; no sample is dropped). Each client receives
    ``shards_per_client`` shards chosen uniformly without replacement, so it sees about that many classes
    at most.

    Args:
        labels: (N,) integer class labels.
        n_clients: number of clients n >= 1.
        shards_per_client: shards per client s >= 1; needs n · s <= N.
        rng: numpy Generator; the partition is a deterministic function of its state.

    Returns:
        n_clients int64 index arrays, disjoint, covering all N samples, each shuffled.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {y.shape}")
    if n_clients < 1 or shards_per_client < 1:
        raise ValueError(f"n_clients and shards_per_client must be >= 1, got {n_clients}, {shards_per_client}")
    n_shards = n_clients * shards_per_client
    if n_shards > y.size:
        raise ValueError(f"{n_shards} shards ({n_clients} clients x {shards_per_client}) exceed {y.size} samples")
    shuffled = rng.permutation(y.size)
    ordered = shuffled[np.argsort(y[shuffled], kind="stable")]
    shards = np.array_split(ordered, n_shards)
    deal = rng.permutation(n_shards).reshape(n_clients, shards_per_client)
    return [rng.permutation(np.concatenate([shards[s] for s in row])).astype(np.int64) for row in deal]
