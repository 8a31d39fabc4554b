"""A tiny generated micro-expression dataset for the facscope.mer tests (no face detection
needed: frames are already "face crops", use ``face="full"``).

Each clip is a subject-specific smooth texture whose central patch moves in a class-specific
direction from onset to apex and back; the manifest is the generic ``csv`` adapter's format.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("anger", "happiness", "surprise")
DIRECTIONS = {"anger": (1.0, 0.0), "happiness": (0.0, 1.0), "surprise": (-0.7, -0.7)}


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def make_clip(
    folder: Path, tex: np.ndarray, label: str, *, frames: int, amp: float, first: int = 1
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = tex.shape[0]
    dx, dy = DIRECTIONS[label]
    apex = frames // 2
    mask = np.zeros((size, size), np.float32)
    mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)[..., None]
    for t in range(frames):
        a = amp * (t / apex if t <= apex else (frames - 1 - t) / (frames - 1 - apex))
        m = np.float32([[1, 0, dx * a], [0, 1, dy * a]])
        moved = cv2.warpAffine(tex, m, (size, size), borderMode=cv2.BORDER_REFLECT)
        img = (tex * (1 - mask) + moved * mask).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{first + t}.png"), img)


def make_tiny_dataset(
    root: Path,
    *,
    subjects: int = 4,
    clips: int = 1,
    size: int = 40,
    frames: int = 7,
    amp: float = 3.0,
    seed: int = 0,
) -> Path:
    """Write ``subjects × len(CLASSES) × clips`` clips and a manifest; returns the CSV path."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(subjects):
        tex = texture(rng, size)
        fps = (200.0, 100.0)[s % 2]
        for c, label in enumerate(CLASSES):
            for k in range(clips):
                sid = f"s{s:02d}/{label}_{k}"
                folder = root / "clips" / f"s{s:02d}" / f"{label}_{k}"
                make_clip(folder, tex, label, frames=frames, amp=amp * (1 + 0.1 * k))
                rows.append(
                    {
                        "path": str(folder.relative_to(root)),
                        "subject": f"s{s:02d}",
                        "label": label,
                        "sample_id": sid,
                        "fps": fps,
                        "onset": 1,
                        "apex": 1 + frames // 2,
                        "offset": frames,
                    }
                )
            del c
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest
