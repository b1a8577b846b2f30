"""The model-zoo comparison as a benchmark script: the same function as `digitlab zoo`.

Trains every registered model with its recipe (src/digitlab/presets/zoo/<model>.yaml) as a recorded run, then writes
results/zoo.json + results/zoo.md (results/zoo-quick.* in quick mode) and the zoo table with its plot
(docs/model-zoo.md + .png; <runs-dir>/zoo-quick.md in quick mode, so CI never overwrites the committed table).
Usage: python benchmarks/zoo.py [--quick] [--models cnn,mlp] [--threads N] [--runs-dir runs] [key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results
from digitlab.console import setup_logging
from digitlab.store import RunStore
from digitlab.zoo import COLUMNS, format_row, output_paths, run_zoo, write_zoo_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="One epoch on 2,000 images per model (CI smoke test).")
    ap.add_argument("--models", default=None, help="Comma-separated model names (default: all registered).")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch in every run (default: the recipes').")
    ap.add_argument("--runs-dir", type=Path, default=Path("runs"), help="Folder of run folders (the database lives there too).")
    ap.add_argument("overrides", nargs="*", help="key=value overrides applied to every recipe (for experiments).")
    args = ap.parse_args()
    setup_logging()  # the runs' epoch lines on the terminal: a full zoo takes about half an hour
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    overrides = [*([f"threads={args.threads}"] if args.threads is not None else []), *args.overrides]
    rows = run_zoo(models, args.quick, args.runs_dir, RunStore(runs_dir=args.runs_dir), overrides=overrides or None)
    if any(r["status"] == "interrupted" for r in rows):
        sys.exit("interrupted; no table written")
    md, png = output_paths(args.quick, args.runs_dir)
    write_zoo_table(rows, md, png, args.quick)
    write_results(
        "zoo-quick" if args.quick else "zoo",
        {"quick": args.quick, "overrides": overrides, "rows": rows},
        [format_row(r) for r in rows],
        COLUMNS,
    )
    print(f"table: {md}  plot: {png}")


if __name__ == "__main__":
    main()
