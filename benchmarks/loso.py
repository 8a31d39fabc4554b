"""A whole STSTNet LOSO: the per-fold loop against all folds as one stacked model, in one run.

On a generated composite-sized flow set (442 samples of 68 subjects, 3 classes, 28 × 28 u/v/
strain PNGs as the MEGC 2019 composite circulates; no real data) with the published recipe
(``configs/mer-megc2019-ststnet.yaml``: Adam, lr 5e-5, batch 256, dropout after each stream's
pooling, 0..255 inputs in cv2's BGR order), it times

* the **per-fold loop** (``facscope.mer.fold``) on ``--loop-folds`` folds × ``--loop-epochs``
  epochs, extrapolated to 68 folds × ``--epochs`` (the loop's cost is the same every epoch and
  every fold; the whole loop ran for over an hour here unfinished);
* the **batched run** (``batched_folds: 68``) of every fold for ``--batched-epochs`` epochs
  (default: all ``--epochs``), extrapolated when fewer;

and prints the minutes of each, the ratio, and the achieved GFLOP/s of the batched run: the
first convolution's training arithmetic (forward, its recomputation in the fused backward, and
the weight gradient: 3 × 2 × 27 multiply-adds per channel and position) over the run's time,
against the machine's fp32 peak (``--peak``, 190 GFLOP/s for the 2-core AVX-512 machine the
issue names). The cache build (reading the PNGs once) is timed apart: it is a one-off.

    python benchmarks/loso.py                                  # the full bar: 68 × 800
    python benchmarks/loso.py --epochs 800 --batched-epochs 40 # quicker, extrapolated
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "mer"))
from _flow_data import CLASSES, flow_stack, to_png_values, write_png

#: The composite's shape: 68 subjects, 442 samples (negative 250, positive 109, surprise 83).
SUBJECTS, SAMPLES, CLASS_COUNTS = 68, 442, (250, 109, 83)


def write_composite(root: Path, seed: int = 0) -> Path:
    """A generated composite-sized flow set and its ``path, subject, label, dataset`` manifest."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), CLASS_COUNTS)
    rng.shuffle(labels)
    subject = np.sort(np.concatenate([np.arange(SUBJECTS), rng.integers(0, SUBJECTS,
                                                                         SAMPLES - SUBJECTS)]))  # fmt: skip
    sources = ("smic", "casme2", "samm")
    rows = []
    for i, (s, c) in enumerate(zip(subject, labels)):
        rel = Path("flow") / f"s{s:02d}" / f"{i:03d}.png"
        write_png(root / rel, to_png_values(flow_stack(rng, int(c))))
        rows.append({"path": str(rel), "subject": f"s{s:02d}", "label": CLASSES[c],
                     "dataset": sources[s % 3]})  # fmt: skip
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def recipe(manifest: Path, out: Path, **changes: object) -> object:
    from facscope.mer.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "mer-megc2019-ststnet.yaml")
    return cfg.replace(data="csv", root=str(manifest), cache_dir=str(out / "cache"),
                       data_options={"flow_order": "bgr", "flow_scale": "stored", "kind": "flow"},
                       output_dir=str(out / "run"), resume=False, checkpoint_every=50,
                       **changes)  # fmt: skip


def timed(config: object) -> tuple[float, object]:
    from facscope.mer.train import train

    t = time.perf_counter()
    result = train(config, progress=False)
    return time.perf_counter() - t, result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--epochs", type=int, default=800, help="the recipe's epochs (800)")
    ap.add_argument("--batched-epochs", type=int, help="epochs actually run batched (default all)")
    ap.add_argument("--loop-folds", type=int, default=2, help="folds the per-fold loop runs")
    ap.add_argument("--loop-epochs", type=int, default=10, help="epochs of each of those")
    ap.add_argument("--kernel", default="auto", choices=("auto", "fused", "torch"))
    ap.add_argument("--peak", type=float, default=190.0, help="the machine's fp32 GFLOP/s")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args(argv)
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = write_composite(root)
        t_cache, _ = timed(recipe(manifest, root / "warm", epochs=1, folds=(0,),
                                  batched_folds=None))  # fmt: skip
        t_loop, _ = timed(recipe(manifest, root / "loop", epochs=args.loop_epochs,
                                 folds=tuple(range(args.loop_folds)), batched_folds=None))  # fmt: skip
        loop_min = t_loop / (args.loop_folds * args.loop_epochs) * SUBJECTS * args.epochs / 60
        run_epochs = args.batched_epochs or args.epochs
        t_batched, result = timed(recipe(manifest, root / "batched", epochs=run_epochs,
                                         batched_kernel=args.kernel))  # fmt: skip
        batched_min = t_batched / run_epochs * args.epochs / 60
        rows = SAMPLES * (SUBJECTS - 1) / SUBJECTS * SUBJECTS  # training rows per epoch, all folds
        flops = 3 * 2 * 27 * 16 * 30 * 30 * rows * run_epochs
        numbers = {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
            "epochs": args.epochs,
            "batched_epochs_run": run_epochs,
            "loop_folds_epochs_run": [args.loop_folds, args.loop_epochs],
            "cache_s": round(t_cache, 1),
            "loop_minutes_68_folds": round(loop_min, 1),
            "batched_minutes_68_folds": round(batched_min, 2),
            "ratio": round(loop_min / batched_min, 1),
            "batched_gflops": round(flops / t_batched / 1e9, 1),
            "peak_gflops": args.peak,
            "uf1_batched_run": round(float(result.metrics["uf1"]), 4),
        }
    print(f"per-fold loop : {loop_min:7.1f} min for 68 folds x {args.epochs} epochs "
          f"(ran {args.loop_folds} folds x {args.loop_epochs} epochs, extrapolated)")  # fmt: skip
    print(f"batched       : {batched_min:7.2f} min for 68 folds x {args.epochs} epochs "
          f"(ran {run_epochs} epochs)")  # fmt: skip
    print(f"ratio         : {loop_min / batched_min:7.1f}x")
    print(f"batched conv  : {numbers['batched_gflops']:7.1f} GFLOP/s of {args.peak:.0f} peak "
          f"({100 * numbers['batched_gflops'] / args.peak:.0f} %)")  # fmt: skip
    print(json.dumps(numbers))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
