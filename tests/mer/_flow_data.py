"""Generated apex-flow sets in the layouts researchers hold (no real data ships).

Each sample is a (u, v, strain) stack at 28 × 28: a smooth per-subject background plus a
class-specific motion pattern (class 0 moves a blob right, 1 moves a lower blob up, 2 opens
both: u and v at once), with noise; each channel min–max normalised to 0..255 and written as an
RGB PNG (R = u, G = v, B = strain), as the MEGC 2019 composite's flow images are.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("negative", "positive", "surprise")


def flow_stack(rng: np.random.Generator, label: int, size: int = 28) -> np.ndarray:
    """A float (size, size, 3) u, v, strain stack of class ``label``."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    base = rng.normal(0, 0.3, (4, 4, 2)).astype(np.float32)
    u = cv2.resize(base[..., 0], (size, size)) * 0.5
    v = cv2.resize(base[..., 1], (size, size)) * 0.5
    blob_hi = np.exp(-((xx - 0.5) ** 2 + (yy - 0.3) ** 2) / 0.02)
    blob_lo = np.exp(-((xx - 0.5) ** 2 + (yy - 0.75) ** 2) / 0.02)
    amp = rng.uniform(0.8, 1.2)
    if label == 0:
        u = u + amp * blob_hi
    elif label == 1:
        v = v - amp * blob_lo
    else:
        u, v = u + amp * blob_lo, v + amp * blob_hi
    u = u + rng.normal(0, 0.1, u.shape)
    v = v + rng.normal(0, 0.1, v.shape)
    gy, gx = np.gradient(u)
    vy, vx = np.gradient(v)
    strain = np.sqrt(gx**2 + vy**2 + 0.5 * (gy + vx) ** 2)
    return np.stack([u, v, strain], axis=-1).astype(np.float32)


def to_png_values(stack: np.ndarray) -> np.ndarray:
    """Each channel min–max normalised to 0..255, ``uint8`` (H, W, 3) in R, G, B order."""
    lo = stack.min(axis=(0, 1), keepdims=True)
    hi = stack.max(axis=(0, 1), keepdims=True)
    return np.round((stack - lo) / np.maximum(hi - lo, 1e-8) * 255).astype(np.uint8)


def write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))  # cv2 writes BGR


def subject_names(n: int) -> list[str]:
    """Subjects spelt as the composite's flow sets spell them: CASME II, SAMM, SMIC in turn."""
    names = []
    for i in range(n):
        names.append((f"sub{i + 1:02d}", f"{i + 6:03d}", f"s{i + 1:02d}")[i % 3])
    return names


def make_flow_manifest(
    root: Path, *, subjects: int = 20, per_class: int = 2, seed: int = 0, fmt: str = "png"
) -> Path:
    """Write ``subjects × 3 × per_class`` flow PNGs (``fmt="npy"``: the float stacks, signed
    u and v, as ``.npy``) and a ``path, subject, label, dataset`` manifest; returns its path."""
    rng = np.random.default_rng(seed)
    rows = []
    sources = {0: "casme2", 1: "samm", 2: "smic"}
    for i, subject in enumerate(subject_names(subjects)):
        for c, label in enumerate(CLASSES):
            for k in range(per_class):
                rel = Path("flow") / subject / f"{label}_{k}.{fmt}"
                stack = flow_stack(rng, c)
                if fmt == "npy":
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    np.save(root / rel, stack)
                else:
                    write_png(root / rel, to_png_values(stack))
                rows.append({"path": str(rel), "subject": subject, "label": label,
                             "dataset": sources[i % 3]})  # fmt: skip
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest


def make_flow_folds(root: Path, *, subjects: int = 6, per_class: int = 2, seed: int = 0) -> Path:
    """The fold-per-folder layout ``root/{subject}/u_train|u_test/{0,1,2}/*.png``."""
    rng = np.random.default_rng(seed)
    names = subject_names(subjects)
    images = {
        (s, c, k): to_png_values(flow_stack(rng, c))
        for s in names
        for c in range(len(CLASSES))
        for k in range(per_class)
    }
    for test in names:
        for (s, c, k), img in images.items():
            part = "u_test" if s == test else "u_train"
            write_png(root / test / part / str(c) / f"{s}_{c}_{k}.png", img)
    return root
