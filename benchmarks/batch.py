"""Batch analysis speed: ``facscope analyze FOLDER`` (one agent, reports, tables, summary page)
against calling the library per image in a loop (``facscope.analyze_images(path)`` once per
image, as a user script would), and the share of the batch's time spent outside detection.

The folder holds real public-domain faces: the astronaut portrait and LFW-subset faces
upscaled to 256 px, plus a 4-face composite (so the batch analyses several faces per image).
Backend: the offline ``expert`` (FER2013 classifier, needs the ``fer`` weights).

    python benchmarks/batch.py [--images 24] [--repeats 2]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np

from facscope.embedded import default_image, lfw_faces
from facscope.io import save_image


def make_folder(folder: Path, n: int) -> int:
    """``n`` images into ``folder``; returns the number of faces in them."""
    lfw = lfw_faces()
    save_image(folder / "astronaut.png", default_image())
    canvas = np.full((300, 1100, 3), 128, np.uint8)
    for k, i in enumerate((0, 7, 14, 21)):
        face = cv2.resize(lfw[i], (256, 256), interpolation=cv2.INTER_CUBIC)
        canvas[22:278, 10 + k * 270 : 266 + k * 270] = face[..., None]
    save_image(folder / "group.png", canvas)
    faces = 5
    for j in range(n - 2):
        face = cv2.resize(lfw[(j * 3) % 100], (256, 256), interpolation=cv2.INTER_CUBIC)
        save_image(folder / f"person{j:03d}.png", np.stack([face] * 3, -1))
        faces += 1
    return faces


def time_detection(paths: list[Path]) -> float:
    """Seconds the screened detection alone takes over the images (what analyze runs once)."""
    from facscope.face.plausibility import find_faces
    from facscope.io import load_image

    images = [load_image(p) for p in paths]
    start = time.perf_counter()
    for im in images:
        find_faces(im)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import facscope
    from facscope.agent import Agent, create_backend
    from facscope.agent.batch import analyze_batch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        faces = make_folder(folder, args.images)
        paths = sorted(folder.glob("*.png"))
        facscope.analyze_images(paths[0])  # warm up: models load once per process
        batch, loop, detect, found = [], [], [], 0
        for r in range(args.repeats):
            start = time.perf_counter()
            result = analyze_batch(
                paths,
                Agent(create_backend("expert")),
                out_dir=Path(tmp) / f"out{r}",
                progress=False,
            )
            batch.append(time.perf_counter() - start)
            found = result["faces"]
            start = time.perf_counter()
            for p in paths:
                facscope.analyze_images(p)
            loop.append(time.perf_counter() - start)
            detect.append(time_detection(paths))
    b, lo, d = (statistics.median(x) for x in (batch, loop, detect))
    print(f"{date.today()} · {platform.processor() or platform.machine()} · "
          f"{len(paths)} images, {faces} faces placed, {found} found, median of {args.repeats}")  # fmt: skip
    print(f"library per image in a loop: {len(paths) / lo:.2f} images/s ({lo:.2f} s; no reports)")
    print(f"analyze over the folder:     {len(paths) / b:.2f} images/s ({b:.2f} s; reports, "
          f"traces, tables, summary page)")  # fmt: skip
    print(f"detection alone: {d:.2f} s → {100 * (1 - d / b):.0f} % of the batch outside detection")


if __name__ == "__main__":
    main()
