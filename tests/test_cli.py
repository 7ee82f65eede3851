"""The command line: ``most run`` writes the results.json schema of DESIGN.md §4; bad names list valid ones."""

from __future__ import annotations

import json

import pytest

from most.cli import main


def test_run_demo_writes_results_and_table(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["run", "demo", "--quick", "--methods", "most,mgda", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["experiment"] == "demo" and doc["higher_is_better"] is False and isinstance(doc["metric"], str)
    assert [r["method"] for r in doc["runs"]] == ["most", "mgda"]
    for r in doc["runs"]:
        assert set(r) >= {"method", "seed", "value", "seconds"} and r["seconds"] > 0
    by = {r["method"]: r["value"] for r in doc["runs"]}
    assert by["most"] < by["mgda"]  # the clustered demo: MosT's worst objective is far better served
    out = capsys.readouterr().out
    assert "| most |" in out and (tmp_path / "results.md").exists()


def test_run_fl_quick_writes_figures(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = main(["run", "fl-syn-0.5", "--quick", "--methods", "most,fedavg", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    for r in doc["runs"]:
        assert 10 < r["value"] <= 100 and len(r["client_acc"]) == 30  # accuracy in %, one entry per client
    for name in ("per_client_accuracy", "curves", "diversity", "worst_k", "gamma_most", "assignment_most"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope"], r"unknown experiment 'nope'; available: .*fl-syn-0.0"),
        (["run", "demo", "--methods", "most,bogus"], r"unknown method\(s\) bogus; available: most, most-e"),
        (["run", "demo", "--seeds", "0"], r"--seeds must be >= 1"),
    ],
)
def test_bad_names_list_valid_ones(argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    import re

    assert re.search(message, capsys.readouterr().err)


def test_list_names_experiments_and_methods(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "fl-syn-0.0" in out and "most-e" in out and "fedmgda+" in out
