"""Throughput of the MER training pipeline: is the GPU ever starved by data loading?

For each video model it measures, on one device and in one run:

* **loading** — clips/s the DataLoader delivers from the clip cache (uint8 frames, only the
  picked ones read; key-frame sampling with jitter and flips, workers), moved to the device, no
  model;
* **training** — clips/s of one training step on a uint8 batch already on the device: the
  conversion to a normalised float clip, forward, backward and optimiser step;
* **end to end** — clips/s of the real loop (loader feeding the training step);
* **one worker** — clips/s one process reads, samples, flips and collates into shared memory, no
  loader (where loading time goes: the loader can deliver at most ``workers × one worker``;
  below that, the main process's receiving, pinning and copying is the limit);

and prints the loading / training ratio (the pipeline keeps the device busy when it is well
above 1; the issue asks for at least 3 on a GPU).

    python benchmarks/mer.py                       # GPU: 16×112×112, every video model
    python benchmarks/mer.py --device cpu --small  # CPU smoke run at a reduced size
    python benchmarks/mer.py --device cpu --loading-only --num-workers 1  # loading at full size

Without ``--root`` it writes a small synthetic DFME-layout dataset (``facscope synth``) to a
temporary folder and caches it first (the cache build is timed separately: it is a one-off).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

VIDEO_MODELS = ("r3d_18", "mc3_18", "r2plus1d_18", "s3d")


#: Defaults of the full (GPU) run and of ``--small``; a flag given explicitly wins.
FULL = {"frames": 16, "size": 112, "batch_size": 16, "steps": 100, "warmup": 10, "num_workers": 8,
        "epoch_clips": 1024}  # fmt: skip
SMALL = {"frames": 8, "size": 56, "batch_size": 4, "steps": 10, "warmup": 2, "num_workers": 2,
         "epoch_clips": 256}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--device", default="cuda", help="cuda, cuda:1, or cpu")
    ap.add_argument("--small", action="store_true", help=f"reduced sizes: {SMALL}")
    ap.add_argument("--root", help="a DFME-layout dataset root (default: a synthetic one)")
    ap.add_argument("--models", default=",".join(VIDEO_MODELS))
    ap.add_argument("--frames", type=int, help=f"frames per clip (default {FULL['frames']})")
    ap.add_argument("--size", type=int, help=f"input side (default {FULL['size']})")
    ap.add_argument("--batch-size", type=int, help=f"default {FULL['batch_size']}")
    ap.add_argument("--steps", type=int, help="timed steps per model and measurement")
    ap.add_argument("--warmup", type=int, help="untimed steps first")
    ap.add_argument("--num-workers", type=int, help=f"default {FULL['num_workers']}")
    ap.add_argument(
        "--mixed-precision", choices=["no", "fp16", "bf16"],
        help="default: bf16 on CUDA, no on CPU",
    )  # fmt: skip
    ap.add_argument(
        "--epoch-clips", type=int,
        help="clips per loader epoch: the cached clips are repeated up to this many, as a real "
        f"dataset's epoch is long (DFME: ~7,500 clips; default {FULL['epoch_clips']})",
    )  # fmt: skip
    ap.add_argument(
        "--loading-only", action="store_true",
        help="measure loading (and one worker) only: no model is trained",
    )  # fmt: skip
    ap.add_argument("--cache-dir", help="clip cache folder (default: inside the temp dir)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    for key, value in (SMALL if args.small else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.mixed_precision is None:
        args.mixed_precision = "bf16" if args.device.startswith("cuda") else "no"
    return args


def make_dataset(tmp: Path, small: bool) -> Path:
    from facscope.synth.dataset import write_dataset

    root = tmp / "synth-dfme"
    write_dataset(
        root, "dfme", subjects=3 if small else 8, clips_per_subject=4 if small else 8,
        amplitude=2.0, frame_size=(320, 240), seed=0, progress=False,
    )  # fmt: skip
    return root


def cpu_name() -> str:
    """The CPU's model name and core count (``/proc/cpuinfo`` on Linux)."""
    import os

    name = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(name, args, device, amp, ds, samples, built, ok, labels) -> dict:
    """Loading, training and end-to-end clips/s of one model."""
    import torch
    from torch.utils.data import DataLoader

    from facscope.mer.loader import CachedDataset, EpochSampler, collate, to_model_input
    from facscope.mer.models import create_model

    kw = {"adaptive_pool": True} if name == "s3d" and args.size < 224 else {}
    model = create_model(name, len(ds.classes), **kw).to(device)
    spec = model.input_spec.resolve(frames=args.frames, size=args.size)
    # A loader restarts its workers' iteration at every epoch; with a few dozen synthetic clips
    # that restart, not loading, would be measured. Repeat the clips to a realistic epoch length.
    idx = ok * max(1, -(-args.epoch_clips // len(ok)))
    data = CachedDataset(
        [samples[i] for i in idx], [built.entries[i] for i in idx], labels[idx].tolist(), spec,
        sampling="uniform", jitter=0.01, train=True, hflip=True,
    )  # fmt: skip
    sampler = EpochSampler(len(data), seed=0)
    loader = DataLoader(
        data, batch_size=args.batch_size, sampler=sampler, num_workers=args.num_workers,
        collate_fn=collate, pin_memory=device.type == "cuda", drop_last=True,
        persistent_workers=args.num_workers > 0,
    )  # fmt: skip

    # one worker's work in this process: read, sample, flip, and collate into shared memory (a
    # worker's batch goes to a fresh shared-memory block, and writing it first costs page
    # faults); after an untimed pass that opens the entries, as a worker's first epoch does
    n_one = min(len(data), 4 * args.batch_size * args.steps)
    for i in range(min(n_one, len(ok))):
        data[i]
    t0 = time.perf_counter()
    for start in range(0, n_one - args.batch_size + 1, args.batch_size):
        collate([data[i] for i in range(start, start + args.batch_size)])["x"].share_memory_()
    one_cps = (n_one // args.batch_size) * args.batch_size / (time.perf_counter() - t0)

    def batches():
        epoch = 0
        while True:
            sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    # loading alone (to the device, normalised)
    it = batches()
    for _ in range(args.warmup):
        b = next(it)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        b = next(it)
        x = b["x"].to(device, non_blocking=True)
    sync(device)
    load_cps = args.steps * args.batch_size / (time.perf_counter() - t0)
    row = {
        "model": name + (" (adaptive pool)" if kw else ""),
        "one_worker_clips_s": round(one_cps, 2),
        "loading_clips_s": round(load_cps, 2),
    }
    if args.loading_only:
        return row

    # training alone (a batch already on the device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    y = b["y"].to(device)
    model.train()

    def step(x, y):
        x = to_model_input(x, spec)  # uint8 → normalised float, on the device
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step(x, y)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(x, y)
    sync(device)
    train_cps = args.steps * args.batch_size / (time.perf_counter() - t0)

    # end to end: the loader feeding the training step
    t0 = time.perf_counter()
    for _ in range(args.steps):
        b = next(it)
        step(b["x"].to(device, non_blocking=True), b["y"].to(device))
    sync(device)
    e2e_cps = args.steps * args.batch_size / (time.perf_counter() - t0)
    return {
        **row,
        "train_clips_s": round(train_cps, 2),
        "end_to_end_clips_s": round(e2e_cps, 2),
        "loading_over_training": round(load_cps / train_cps, 2),
    }


def main(argv: list[str] | None = None) -> int:
    import torch

    from facscope.data import load_dataset
    from facscope.mer.cache import CacheSpec, build_cache

    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: pass --device cpu (with --small for a quick run)", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    amp = {"no": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.mixed_precision]
    tmp = Path(tempfile.mkdtemp(prefix="facscope-mer-bench-"))
    import warnings

    warnings.simplefilter("ignore")
    root = Path(args.root) if args.root else make_dataset(tmp, args.small)
    ds = load_dataset("dfme", root)
    samples = list(ds)
    cache = CacheSpec(
        root=Path(args.cache_dir or tmp / "cache"), kind="clip", size=args.size, fps=200.0
    )
    t0 = time.perf_counter()
    built = build_cache(samples, cache, progress=False)
    cache_s = time.perf_counter() - t0
    ok = [i for i, e in enumerate(built.entries) if e is not None]
    labels = ds.label_ids()
    header = {
        "date": datetime.date.today().isoformat(),
        "device": str(device),
        "card": card,
        "torch": torch.__version__,
        "input": f"{args.frames}x{args.size}x{args.size}",
        "batch_size": args.batch_size,
        "num_workers": args.num_workers,
        "mixed_precision": args.mixed_precision,
        "clips": len(ok),
        "epoch_clips": args.epoch_clips,
        "cache_build_s": round(cache_s, 2),
        "cache_built": built.built,
        "loading_only": args.loading_only,
    }
    print(json.dumps(header))
    results = []
    for name in args.models.split(","):
        row = measure(name, args, device, amp, ds, samples, built, ok, labels)
        results.append(row)
        print(json.dumps(row), flush=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    print()
    print(
        f"{card} ({device}), {header['input']}, batch {args.batch_size}, "
        f"{args.num_workers} workers, precision {args.mixed_precision}, {header['date']}"
    )
    if args.loading_only:
        print("| model | one worker clips/s | loading clips/s |")
        print("|---|---|---|")
        for r in results:
            print(f"| {r['model']} | {r['one_worker_clips_s']:.0f} | {r['loading_clips_s']:.0f} |")
    else:
        print(
            "| model | training clips/s | loading clips/s | end-to-end clips/s | "
            "loading / training | one worker clips/s |"
        )
        print("|---|---|---|---|---|---|")
        for r in results:
            print(
                f"| {r['model']} | {r['train_clips_s']:.0f} | {r['loading_clips_s']:.0f} | "
                f"{r['end_to_end_clips_s']:.0f} | {r['loading_over_training']:.1f}× | "
                f"{r['one_worker_clips_s']:.0f} |"
            )
        worst = min(r["loading_over_training"] for r in results)
        print(
            f"\nslowest loading/training ratio: {worst:.1f}× "
            f"({'OK' if worst >= 3 else 'below'} the 3× bar)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({**header, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
