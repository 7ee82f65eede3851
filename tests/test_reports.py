"""results.json I/O, Markdown tables and PNG figures (most.reports)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from most.experiments.base import ExperimentResult, Run
from most.reports import figures
from most.reports.results import read_results, results_json, write_results
from most.reports.tables import (
    comparison_table,
    markdown_table,
    ratio_column,
    summary,
    write_markdown,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _two_methods_three_seeds(higher_is_better: bool = True) -> ExperimentResult:
    """Method A: values 80, 82, 84 (mean 82, sample sd 2), seconds 1, 2, 3 (mean 2), "worst 20%" 70, 71, 72.
    Method B: values 85, 86, 90 (mean 87, sample sd sqrt(14 / 2) = sqrt 7 = 2.6458), seconds 4, 4, 4.
    Runs interleaved, A first."""
    runs = []
    for seed, (a, b) in enumerate([(80.0, 85.0), (82.0, 86.0), (84.0, 90.0)]):
        runs.append(Run("A", seed, a, float(seed + 1), {"worst 20%": 70.0 + seed}))
        runs.append(Run("B", seed, b, 4.0))
    return ExperimentResult("syn", "accuracy", higher_is_better, runs)


def _table_rows(text: str) -> list[list[str]]:
    """Cells of a Markdown table (header first, separator dropped)."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.strip().splitlines()]
    return [rows[0], *rows[2:]]


# ---------------------------------------------------------------------------------------------------- tables


def test_summary_by_hand() -> None:
    rows = summary(_two_methods_three_seeds())
    assert [r.method for r in rows] == ["A", "B"]
    assert [r.n for r in rows] == [3, 3]
    # Tolerance 1e-12: means and sample standard deviations of three small numbers, a few roundings each.
    want = {"A": (82.0, 2.0, 2.0), "B": (87.0, math.sqrt(7.0), 4.0)}
    for r in rows:
        mean, std, seconds = want[r.method]
        assert abs(r.mean - mean) <= 1e-12
        assert abs(r.std - std) <= 1e-12
        assert abs(r.seconds - seconds) <= 1e-12


def test_markdown_table_by_hand() -> None:
    text = markdown_table(_two_methods_three_seeds(), extra_columns=("worst 20%",), ratio_to="A")
    assert _table_rows(text) == [
        ["Method", "accuracy", "seeds", "seconds", "time / A", "worst 20%"],
        ["A", "82.00 ± 2.00", "3", "2.00", "1.00×", "71.00 ± 1.00"],
        ["B", "**87.00** ± 2.65", "3", "4.00", "2.00×", "—"],
    ]
    assert text.splitlines()[1] == "|:---|---:|---:|---:|---:|---:|"


def test_markdown_table_bolds_the_smallest_when_lower_is_better_and_respects_decimals() -> None:
    rows = _table_rows(markdown_table(_two_methods_three_seeds(higher_is_better=False), decimals=1))
    assert rows[1][1] == "**82.0** ± 2.0"
    assert rows[2][1] == "87.0 ± 2.6"


def test_single_seed_has_zero_std_and_ties_are_all_bold() -> None:
    result = ExperimentResult("x", "hv", True, [Run("A", 0, 5.0, 1.0), Run("B", 0, 5.0, 1.0)])
    rows = summary(result)
    assert [r.std for r in rows] == [0.0, 0.0]
    cells = [row[1] for row in _table_rows(markdown_table(result))[1:]]
    assert cells == ["**5.00** ± 0.00", "**5.00** ± 0.00"]


def test_ratio_column() -> None:
    ratios = ratio_column(_two_methods_three_seeds(), "B")
    # Tolerance 1e-12: one division of exactly represented means.
    assert abs(ratios["A"] - 0.5) <= 1e-12 and ratios["B"] == 1.0
    with pytest.raises(ValueError, match="'linear' is not in the results"):
        ratio_column(_two_methods_three_seeds(), "linear")


def test_non_numeric_extra_column_is_an_error() -> None:
    result = ExperimentResult("x", "acc", True, [Run("A", 0, 1.0, 1.0, {"curve": [1, 2]})])
    with pytest.raises(ValueError, match="'curve'"):
        markdown_table(result, extra_columns=("curve",))


def test_comparison_table_layout() -> None:
    syn = _two_methods_three_seeds()
    femnist = ExperimentResult("femnist", "accuracy", True, [Run("A", 0, 70.0, 1.0), Run("C", 0, 60.0, 1.0)])
    assert _table_rows(comparison_table([syn, femnist])) == [
        ["Experiment", "A", "B", "C"],
        ["syn", "82.00 ± 2.00", "**87.00** ± 2.65", "—"],
        ["femnist", "**70.00** ± 0.00", "—", "60.00 ± 0.00"],
    ]
    zdt = ExperimentResult("zdt1", "hypervolume", True, [Run("A", 0, 5.5, 1.0)])
    assert _table_rows(comparison_table([syn, zdt]))[0][:2] == ["Experiment", "Metric"]
    with pytest.raises(ValueError):
        comparison_table([])


def test_write_markdown(tmp_path: Path) -> None:
    path = write_markdown(_two_methods_three_seeds(), tmp_path / "out", extra=("worst 20%",))
    assert path == tmp_path / "out" / "results.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# syn\n")
    assert "| B | **87.00** ± 2.65 | 3 | 4.00 | — |" in text


# ---------------------------------------------------------------------------------------------- results.json


def test_results_json_round_trips_and_converts_numpy(tmp_path: Path) -> None:
    result = ExperimentResult(
        "syn",
        "accuracy",
        True,
        [
            Run(
                "most",
                0,
                float(np.float64(84.25)),
                1.5,
                {"per_client": np.array([0.5, 0.75]), "n": np.int64(3), "f": np.float32(0.5), "t": (1, 2)},
            ),
            Run("mgda", 1, math.nan, 2.0),
        ],
        protocol={"rounds": np.int64(100), "lr": 0.05},
    )
    path = write_results(result, tmp_path)
    assert path == tmp_path / "results.json"
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text.startswith('{\n  "experiment": "syn"')  # indent 2
    assert data["runs"][0] == {
        "method": "most",
        "seed": 0,
        "value": 84.25,
        "seconds": 1.5,
        "per_client": [0.5, 0.75],
        "n": 3,
        "f": 0.5,
        "t": [1, 2],
    }
    back = read_results(path)
    assert read_results(tmp_path) == back  # a directory works too
    assert back.experiment == "syn" and back.metric == "accuracy" and back.higher_is_better is True
    assert back.protocol == {"rounds": 100, "lr": 0.05}
    assert back.runs[0] == Run("most", 0, 84.25, 1.5, {"per_client": [0.5, 0.75], "n": 3, "f": 0.5, "t": [1, 2]})
    assert back.runs[1].method == "mgda" and math.isnan(back.runs[1].value)
    # Writing what was read gives the same text: the format is a fixed point.
    assert results_json(back) == text


def test_results_json_rejects_clashing_extra_keys_and_malformed_files(tmp_path: Path) -> None:
    clash = ExperimentResult("x", "acc", True, [Run("A", 0, 1.0, 1.0, {"seed": 5})])
    with pytest.raises(ValueError, match="clash"):
        write_results(clash, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"experiment": "x", "metric": "acc", "runs": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="higher_is_better"):
        read_results(bad)
    bad.write_text(json.dumps({"experiment": "x", "metric": "acc", "higher_is_better": True, "runs": [{}]}))
    with pytest.raises(ValueError, match=r"runs\[0\]"):
        read_results(bad)


# --------------------------------------------------------------------------------------------------- figures


def _assert_png(path: Path) -> None:
    assert path.is_file()
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1000  # a labelled plot, not an empty canvas header


def test_every_figure_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t, n, m = 20, 30, 5
    acc = {"most": rng.uniform(0.6, 1.0, n), "fedavg": rng.uniform(0.5, 0.9, n)}
    written = [
        figures.per_client_accuracy(acc, tmp_path / "fig1.png"),
        figures.curves(
            {
                "most": {"train_loss": np.linspace(2, 0.5, t), "test_accuracy": np.linspace(0.3, 0.85, t)},
                "fedavg": {"train_loss": np.linspace(2, 0.8, t), "test_accuracy": np.linspace(0.3, 0.75, t)},
            },
            tmp_path / "curves.png",
        ),
        figures.diversity_heatmap(
            {"most": rng.uniform(0, 1, (m, m)), "fedavg": np.zeros((m, m))}, tmp_path / "div.png"
        ),
        figures.worst_k_bars(
            {"most": {"worst 20%": 0.6, "worst 40%": 0.7}, "fedavg": {"worst 20%": 0.5, "worst 40%": 0.6}},
            tmp_path / "worst.png",
        ),
        figures.gamma_dynamics(np.linspace(0, 0.75, t), [None, *np.geomspace(1, 1e-4, t - 1)], tmp_path / "g.png"),
        figures.assignment_bands(rng.dirichlet(np.ones(m), size=t), tmp_path / "bands.png"),
        figures.pareto_front(
            {"most": rng.uniform(0, 1, (m, 2)), "linear": rng.uniform(0, 1, (m, 2))},
            np.column_stack([np.linspace(0, 1, 50), 1 - np.sqrt(np.linspace(0, 1, 50))]),
            tmp_path / "sub" / "front.png",
        ),
        figures.pareto_front({"most": rng.uniform(0, 1, (m, 2))}, None, tmp_path / "front_only.png"),
    ]
    for path in written:
        _assert_png(path)


def test_figures_reject_malformed_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one method"):
        figures.per_client_accuracy({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="same length"):
        figures.gamma_dynamics(np.zeros(3), np.zeros(4), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        figures.pareto_front({"a": np.zeros((3, 3))}, None, tmp_path / "x.png")
    with pytest.raises(ValueError, match="labels"):
        figures.assignment_bands(np.full((2, 3), 1 / 3), tmp_path / "x.png", labels=["a"])
    assert not (tmp_path / "x.png").exists()
