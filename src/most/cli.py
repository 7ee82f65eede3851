"""Command line: ``most run EXPERIMENT [--quick] [--seeds N] [--methods a,b] [--out DIR] [--lr X]``, ``most list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from most import experiments, methods


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="most", description="MosT: m models for n objectives (experiments, reports)")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an experiment and write results.json, results.md and figures")
    run.add_argument("experiment", help="experiment name (see `most list`)")
    run.add_argument("--quick", action="store_true", help="reduced protocol (under a minute on 2 cores)")
    run.add_argument("--seeds", type=int, default=1, help="number of seeds 0..N-1 (default 1)")
    run.add_argument("--methods", default=None, help="comma-separated method names (default: the experiment's)")
    run.add_argument("--out", type=Path, default=None, help="output directory (default runs/EXPERIMENT)")
    run.add_argument("--lr", type=float, default=None, help="fix the learning rate instead of the protocol's sweep")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: the models are small and "
        "multi-threaded indexing was measured 3-4x slower on 2 shared cores)",
    )
    sub.add_parser("list", help="list experiments and methods")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        print("experiments:", ", ".join(experiments.available()))
        print("methods:")
        for name, text in methods.describe().items():
            print(f"  {name:15s} {text}")
        return 0
    try:
        exp = experiments.get(args.experiment)
        chosen = (
            [s.strip() for s in args.methods.split(",") if s.strip()] if args.methods else list(exp.default_methods)
        )
        unknown = [c for c in chosen if c not in methods.available()]
        if unknown:
            raise ValueError(f"unknown method(s) {', '.join(unknown)}; available: {', '.join(methods.available())}")
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    except ValueError as exc:
        print(f"most: error: {exc}", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(max(args.threads, 1))
    out = args.out if args.out is not None else Path("runs") / args.experiment
    out.mkdir(parents=True, exist_ok=True)
    result = exp.run(
        methods=chosen,
        seeds=args.seeds,
        quick=args.quick,
        out_dir=out,
        lr=args.lr,
        progress=not args.no_progress,
    )
    from most.reports.results import write_results
    from most.reports.tables import markdown_table, write_markdown

    write_results(result, out)
    write_markdown(result, out)
    figures = [] if args.no_figures else exp.figures(result, out)
    print(f"\n{exp.name}: {result.metric} ({'higher' if result.higher_is_better else 'lower'} is better)\n")
    print(markdown_table(result))
    print(f"\nwrote {out / 'results.json'}, {out / 'results.md'}" + "".join(f", {f}" for f in figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
