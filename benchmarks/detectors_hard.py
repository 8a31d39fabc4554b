"""Harder detector cases than benchmarks/detectors.py: frame-filling crops, rolled crops, tiny
faces on a busy background. MTCNN, BlazeFace full and short range, ``mtcnn.blazeface``.

    PYTHONPATH=src python benchmarks/detectors_hard.py

Inputs, all generated here from public-domain images that ship with scikit-image:

* **LFW 160 px**: the LFW subset's 100 face crops (25 × 25) upscaled to 160 px;
* **small**: the astronaut's face and LFW faces pasted at 14–48 px into a 640 × 480 frame
  (scikit-image's coffee photo as the background), at known places;
* **squeezed**: LFW faces narrowed to 55 % of their width (a crude stand-in for a turned head:
  the face's features crowd together as they do at 40–60° of yaw) and pasted at 96 px;
* **rolled**: LFW faces at 160 px rotated by ±40°;
* **negatives**: scikit-image's coffee, chelsea (a cat), rocket, brick, grass and gravel
  photos, noise, and the LFW subset's 100 non-face crops upscaled to 160 px.

A face counts as found when a detection's box centre lies in the face's known box and the two
boxes' areas are within 4× of each other. Raw detector output, and for MTCNN and the fallback
also behind facscope's plausibility screen (``find_faces``, what ``analyze`` keeps). Prints
recall per set, images with any detection among the negatives, and ms per image.
"""

from __future__ import annotations

import time
import warnings

import cv2
import numpy as np
from skimage import data

from facscope.embedded import default_image, lfw_faces
from facscope.face import detect_faces
from facscope.types import BBox

DETECTORS = ("mtcnn", "blazeface.full", "blazeface.short", "mtcnn.blazeface")
#: the same detectors behind facscope's plausibility screen (what analyze keeps)
SCREENED = ("mtcnn", "mtcnn.blazeface")


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3])


def _up(face: np.ndarray, side: int = 160) -> np.ndarray:
    return _rgb(cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC))


def _astronaut_face() -> np.ndarray:
    img = default_image()
    b = detect_faces(img)[0].box
    cx, cy, s = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, max(b.width, b.height) * 1.1
    return img[int(cy - s / 2) : int(cy + s / 2), int(cx - s / 2) : int(cx + s / 2)]


def _paste(background: np.ndarray, face: np.ndarray, side_w: int, side_h: int, at: tuple[int, int]):
    img = background.copy()
    x, y = at
    img[y : y + side_h, x : x + side_w] = cv2.resize(
        face, (side_w, side_h), interpolation=cv2.INTER_AREA
    )
    return img, BBox(x, y, x + side_w, y + side_h)


def _sets() -> dict[str, list[tuple[np.ndarray, BBox | None]]]:
    lfw = lfw_faces()
    bg = cv2.resize(_rgb(data.coffee()), (640, 480))
    rng = np.random.default_rng(0)
    astro = _astronaut_face()
    sets: dict[str, list] = {
        "LFW 160 px": [(_up(lfw[i]), BBox(0, 0, 160, 160)) for i in range(100)]
    }
    small = []
    for side in (14, 18, 24, 32, 48):
        for _ in range(4):
            at = (int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - side)))
            small.append(_paste(bg, astro, side, side, at))
        for i in range(0, 100, 10):
            at = (int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - side)))
            small.append(_paste(bg, _up(lfw[i]), side, side, at))
    sets["small (14-48 px)"] = small
    sets["squeezed (55 % width)"] = [
        _paste(bg, _up(lfw[i]), 53, 96, (300, 200)) for i in range(0, 100, 2)
    ]
    rolled = []
    for i in range(0, 100, 2):
        for angle in (-40, 40):
            m = cv2.getRotationMatrix2D((80, 80), angle, 1.0)
            rolled.append(
                (
                    cv2.warpAffine(_up(lfw[i]), m, (160, 160), borderMode=cv2.BORDER_REFLECT),
                    BBox(20, 20, 140, 140),
                )
            )
    sets["rolled ±40°"] = rolled
    neg = [
        (_rgb(getattr(data, n)()), None)
        for n in ("coffee", "chelsea", "rocket", "brick", "grass", "gravel")
    ]
    neg.append((rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), None))
    neg += [(_up(lfw[i]), None) for i in range(100, 200)]
    sets["negatives"] = neg
    return sets


def _detect(image: np.ndarray, name: str) -> list:
    if name.endswith(" (screened)"):
        from facscope.face.plausibility import find_faces

        return find_faces(image, detector=name.removesuffix(" (screened)")).faces
    return detect_faces(image, detector=name)


def _found(faces: list, truth: BBox) -> bool:
    for f in faces:
        b = f.box
        cx, cy = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2
        inside = truth.x1 <= cx <= truth.x2 and truth.y1 <= cy <= truth.y2
        if inside and 0.25 <= b.area / truth.area <= 4:
            return True
    return False


def main() -> None:
    warnings.simplefilter("ignore")
    sets = _sets()
    names = [*DETECTORS, *(f"{d} (screened)" for d in SCREENED)]
    for name in names:
        _detect(sets["negatives"][0][0], name)  # build and warm each detector once
    print("| set | images | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    times = {d: [] for d in names}
    for set_name, items in sets.items():
        cells = []
        for d in names:
            hits = 0
            for image, truth in items:
                t = time.perf_counter()
                faces = _detect(image, d)
                times[d].append(time.perf_counter() - t)
                hits += bool(faces) if truth is None else _found(faces, truth)
            cells.append(
                f"{hits}/{len(items)}" + (" with a detection" if set_name == "negatives" else "")
            )
        print(f"| {set_name} | {len(items)} | " + " | ".join(cells) + " |")
    print(
        "| ms per image (all sets) | | "
        + " | ".join(f"{1e3 * np.mean(times[d]):.1f}" for d in names)
        + " |"
    )


if __name__ == "__main__":
    main()
