"""Face detectors side by side: recall, false positives and time on generated hard cases.

Every input is generated here from scikit-image's public-domain images:

* ``astronaut``: the portrait; its face box is MTCNN's on the untouched image. Variants: the
  whole portrait scaled so the face is 20–96 px in a 512 px textured canvas (``small``),
  squeezed horizontally to 40–80 % (a yaw / near-profile proxy, ``squeeze``), half the face
  hidden by the background (``half``), rotated in-plane 15–90° (``rotated``).
* ``lfw``: scikit-image's LFW subset (25 × 25 grey crops; faces are the first 100): every other
  face alone at 96 px (``lfw96``), squeezed to 60 % (``lfw_squeeze``), and four at a time at
  48 px and 32 px (``lfw4x48``, ``lfw4x32``) in one canvas.
* negatives: 16 scikit-image pictures without a face (coffee, chelsea, rocket, coins, text,
  gravel…) whole and two random 200 px crops of each, and the LFW subset's 100 non-face crops,
  four per canvas at 96 px.

A detection finds a face when its centre is inside the true box and its side (√area) is 0.5–2×
the true side; a detection matching no face is a false positive. ``plausible`` counts the found
faces that also pass :func:`facscope.face.plausibility.check_face` (what ``analyze`` keeps).

    python benchmarks/detectors.py [--detectors mtcnn,blazeface.full,mtcnn.blazeface]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import defaultdict
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage import data

from facscope.embedded import lfw_faces
from facscope.face import create_detector, detect_faces
from facscope.face.plausibility import check_face

NEGATIVES = (
    "coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "immunohistochemistry", "moon",
    "page", "text", "brick", "grass", "gravel", "retina", "cell", "colorwheel", "clock",
)  # fmt: skip


@dataclass
class Case:
    group: str
    image: np.ndarray
    faces: list[tuple[float, float, float, float]] = field(default_factory=list)  # x1 y1 x2 y2


def _rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[..., :3])


def _texture(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (12, 12, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)


def _paste(canvas: np.ndarray, src: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``src`` warped by the 2×3 map ``m`` over ``canvas`` (where it lands)."""
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpAffine(np.full(src.shape[:2], 255, np.uint8), m, (w, h)) > 127
    out = canvas.copy()
    out[mask] = warped[mask]
    return out


def _box_through(m: np.ndarray, box: tuple[float, ...]) -> tuple[float, float, float, float]:
    """The true box after ``m``: centre mapped, side scaled per axis (rotation keeps the side)."""
    x1, y1, x2, y2 = box
    cx, cy = m[:, :2] @ [(x1 + x2) / 2, (y1 + y2) / 2] + m[:, 2]
    sx, sy = np.linalg.norm(m[:, 0]), np.linalg.norm(m[:, 1])
    hw, hh = (x2 - x1) * sx / 2, (y2 - y1) * sy / 2
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def cases() -> list[Case]:
    astro = data.astronaut()
    ref = detect_faces(astro, detector="mtcnn")[0].box
    box = (ref.x1, ref.y1, ref.x2, ref.y2)
    side = max(ref.width, ref.height)
    fc = np.array([(ref.x1 + ref.x2) / 2, (ref.y1 + ref.y2) / 2])
    out = [Case("astronaut", astro, [box])]

    def placed(scale_x: float, scale_y: float, angle: float, at: tuple[float, float], seed: int):
        c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
        a = np.array([[c, -s], [s, c]]) @ np.diag([scale_x, scale_y])
        m = np.hstack([a, (np.asarray(at) - a @ fc)[:, None]])
        return _paste(_texture(512, seed), astro, m), _box_through(m, box)

    k = 0
    for px in (20, 24, 32, 40, 48, 64, 96):
        for at in ((140, 140), (300, 220), (400, 380)):
            k += 1
            img, b = placed(px / side, px / side, 0, at, k)
            out.append(Case("small", img, [b]))
    for f in (0.4, 0.5, 0.6, 0.7, 0.8):
        img, b = placed(f * 128 / side, 128 / side, 0, (256, 256), 100 + k)
        out.append(Case("squeeze", img, [b]))
    for keep in (0.5, 0.6, 0.7):
        for from_left in (True, False):
            img, b = placed(128 / side, 128 / side, 0, (256, 256), 200 + k)
            x1, _, x2, _ = b
            cut = x1 + keep * (x2 - x1) if from_left else x2 - keep * (x2 - x1)
            bg = _texture(512, 300 + k)
            sl = np.s_[:, int(cut) :] if from_left else np.s_[:, : int(cut)]
            img[sl] = bg[sl]
            out.append(Case("half", img, [b]))
    for ang in (-60, -45, -30, -15, 15, 30, 45, 60, 90):
        img, b = placed(128 / side, 128 / side, ang, (256, 256), 400 + k)
        out.append(Case("rotated", img, [b]))

    crops = lfw_faces()
    faces, nonfaces = crops[0:100:2], crops[100:200]

    def grid(tiles: list[np.ndarray], px: int, canvas: int, seed: int, sx: float = 1.0) -> Case:
        img, boxes = _texture(canvas, seed), []
        n = int(np.ceil(np.sqrt(len(tiles))))
        cell = canvas / n
        for i, t in enumerate(tiles):
            w = max(1, round(px * sx))
            g = cv2.resize(t, (w, px), interpolation=cv2.INTER_CUBIC)
            x = int(cell * (i % n) + (cell - w) / 2)
            y = int(cell * (i // n) + (cell - px) / 2)
            img[y : y + px, x : x + w] = g[..., None]
            boxes.append((x, y, x + w, y + px))
        return Case("", img, boxes)

    for i, f in enumerate(faces):
        c = grid([f], 96, 320, 500 + i)
        out.append(Case("lfw96", c.image, c.faces))
        c = grid([f], 96, 320, 600 + i, sx=0.6)
        out.append(Case("lfw_squeeze", c.image, c.faces))
    for j in range(0, 48, 4):
        for px, canvas in ((48, 256), (32, 192)):
            c = grid(list(faces[j : j + 4]), px, canvas, 700 + j + px)
            out.append(Case(f"lfw4x{px}", c.image, c.faces))

    rng = np.random.default_rng(0)
    for name in NEGATIVES:
        img = _rgb(getattr(data, name)())
        out.append(Case("negative", img))
        h, w = img.shape[:2]
        for _ in range(2):
            s = min(200, h, w)
            y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
            out.append(Case("negative", np.ascontiguousarray(img[y : y + s, x : x + s])))
    for j in range(0, 100, 4):
        c = grid(list(nonfaces[j : j + 4]), 96, 256, 900 + j)
        out.append(Case("lfw_nonface", c.image))
    return out


def _matches(det, gt: tuple[float, ...]) -> bool:
    x1, y1, x2, y2 = gt
    cx, cy = (det.box.x1 + det.box.x2) / 2, (det.box.y1 + det.box.y2) / 2
    ratio = np.sqrt(det.box.area / max((x2 - x1) * (y2 - y1), 1e-9))
    return x1 <= cx <= x2 and y1 <= cy <= y2 and 0.5 <= ratio <= 2.0


def score(found, truth) -> tuple[int, int, int]:
    """(faces found, of which plausible, false positives)."""
    used: set[int] = set()
    hit = plausible = 0
    for gt in truth:
        for i, d in enumerate(found):
            if i not in used and _matches(d, gt):
                used.add(i)
                hit += 1
                plausible += check_face(d).plausible
                break
    return hit, plausible, len(found) - len(used)


def mouth_half_width(all_cases: list[Case]) -> float:
    """Median MTCNN mouth width / (2 × eye distance) on the astronaut and the lfw96 faces."""
    vals = []
    for c in all_cases:
        if c.group in ("astronaut", "lfw96"):
            for f in detect_faces(c.image, detector="mtcnn"):
                el, er, _, ml, mr = f.landmarks
                vals.append(np.linalg.norm(mr - ml) / (2 * np.linalg.norm(er - el)))
    return float(np.median(vals))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--detectors", default="mtcnn,blazeface.full,blazeface.short,mtcnn.blazeface")
    args = ap.parse_args()
    names = args.detectors.split(",")
    all_cases = cases()
    groups = list(dict.fromkeys(c.group for c in all_cases))
    dets = {n: create_detector(n) for n in names}
    for d in dets.values():  # warm up (first LiteRT / OpenCV call allocates)
        detect_faces(all_cases[0].image, detector=d)
    # per detector and group: faces, found, plausible, false positives, images, seconds
    tab: dict[str, dict[str, list[float]]] = {n: defaultdict(lambda: [0.0] * 6) for n in names}
    for c in all_cases:
        for n, d in dets.items():
            t0 = time.perf_counter()
            found = detect_faces(c.image, detector=d)
            dt = time.perf_counter() - t0
            hit, ok, fp = score(found, c.faces)
            row = tab[n][c.group]
            for i, v in enumerate((len(c.faces), hit, ok, fp, 1, dt)):
                row[i] += v

    print(f"{platform.machine()}, {len(all_cases)} images; found/faces (plausible), FP = false")
    print("positives (detections matching no face), ms = mean per image")
    print("| group | images | faces | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for g in [*groups, "all"]:
        rows = {n: (tab[n][g] if g != "all" else np.sum(list(tab[n].values()), 0)) for n in names}
        r0 = rows[names[0]]
        cells = []
        for n in names:
            faces, hit, ok, fp, imgs, sec = rows[n]
            rec = f"{int(hit)}/{int(faces)} ({int(ok)})" if faces else "-"
            cells.append(f"{rec}, FP {int(fp)}, {1000 * sec / imgs:.1f} ms")
        print(f"| {g} | {int(r0[4])} | {int(r0[0])} | " + " | ".join(cells) + " |")
    print(f"MTCNN mouth half-width / eye distance (median): {mouth_half_width(all_cases):.3f}")


if __name__ == "__main__":
    main()
