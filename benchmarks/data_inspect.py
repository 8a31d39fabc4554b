"""Time ``facscope data inspect csv`` on a MEGC-shaped manifest (442 samples, 68 subjects).

Runs, side by side in one process and on the same generated manifest:

* baseline: the csv module reading the manifest and counting classes and subjects
  (``collections.Counter``), no path checks;
* facscope, in process: ``load_dataset("csv", path).summary()`` (parses AUs and indices, checks
  every path on disk, builds Sample records);
* facscope, CLI: ``python -m facscope.cli data inspect csv --root manifest.csv`` as a user runs it
  (interpreter start-up and imports included).

Prints the median wall and CPU time of repeated runs and the ratios (CPU time is the
fairer number on a loaded machine), and checks that all three agree on the
counts. Usage: ``python benchmarks/data_inspect.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PARTS = {"casme2": (24, (88, 32, 25)), "samm": (28, (92, 26, 15)), "smic": (16, (70, 51, 43))}
CLASSES = ("negative", "positive", "surprise")


def write_manifest(folder: Path) -> Path:
    """442 flow-image rows from 68 subjects with the published MEGC 2019 class counts."""
    import cv2
    import numpy as np

    png = cv2.imencode(".png", np.zeros((28, 28, 3), np.uint8))[1].tobytes()
    (folder / "flow").mkdir()
    rng = np.random.default_rng(0)
    rows = [["path", "subject", "label", "dataset", "onset", "apex", "offset", "aus"]]
    for ds, (n_subj, counts) in PARTS.items():
        labels = [c for c, n in zip(CLASSES, counts) for _ in range(n)]
        rng.shuffle(labels)
        for i, lab in enumerate(labels):
            name = f"{ds}_{i:03d}.png"
            (folder / "flow" / name).write_bytes(png)
            rows.append([f"flow/{name}", f"{ds[:2]}{i % n_subj:02d}", lab, ds, 1, 5, 9, "4+7"])
    path = folder / "manifest.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def baseline(path: Path) -> tuple[Counter, int]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return Counter(r["label"] for r in rows), len({(r["dataset"], r["subject"]) for r in rows})


def facscope_inprocess(path: Path) -> tuple[Counter, int]:
    from facscope.data import load_dataset

    s = load_dataset("csv", path).summary()
    return Counter({k: v for k, v in s["classes"].items() if v}), s["subjects"]


def facscope_cli(path: Path) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "facscope.cli", "data", "inspect", "csv", "--root", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return res.stdout


def timed(fn, path: Path, repeats: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time (this process + finished children) of ``fn``."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn(path)
        walls.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        cpus.append(time.process_time() - c0 + child)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_manifest(Path(tmp))
        facscope_inprocess(path)  # warm the imports once; the CLI pays them every run
        t_base, u_base, (c_base, s_base) = timed(baseline, path, args.repeats)
        t_lib, u_lib, (c_lib, s_lib) = timed(facscope_inprocess, path, args.repeats)
        t_cli, u_cli, out = timed(facscope_cli, path, max(3, args.repeats // 2))
    assert c_base == c_lib == Counter(dict(zip(CLASSES, (250, 109, 83))))
    assert s_base == s_lib == 68
    assert "csv: 442 samples, 68 subjects" in out and "negative  250" in out
    print("facscope data inspect csv, MEGC-shaped manifest (442 samples, 68 subjects)")
    print("                                      wall (ms)  cpu (ms)  wall ratio  cpu ratio")
    for name, wall, cpu in (
        ("baseline (csv module + Counter)", t_base, u_base),
        ("facscope load_dataset + summary", t_lib, u_lib),
        ("facscope CLI (new process)", t_cli, u_cli),
    ):
        print(
            f"  {name:<34} {wall * 1e3:9.2f} {cpu * 1e3:9.2f} {wall / t_base:10.1f}x "
            f"{cpu / max(u_base, 1e-9):9.1f}x"
        )
    print("  counts agree: negative 250, positive 109, surprise 83; 68 subjects")


if __name__ == "__main__":
    main()
