"""Reference MELLM motion pipeline vs facscope's, side by side on the same synthetic clips.

- **reference** (as MELLM's first release runs it): grayscale onset and apex, TV-L1 with
  OpenCV's default parameters on the *full* 1024 × 768 frame, 11 × 11 nose-window compensation
  (the nose tip handed over for free from the generator's ground truth, so the reference pays
  for no face detector), the colour map over the frame;
- **facscope**: :func:`facscope.motion.analyse_pair` with its defaults — MTCNN detection and
  five-point alignment on the onset, both frames cropped to the 256-px aligned face, TV-L1
  (same defaults) on the crop, nose-window compensation, strain, (u, v, strain) stack, colour
  map and region statistics;
- **facscope fine**: the same with a 384-px crop and the ``tvl1.fine`` flow (TV-L1 with
  λ 0.3, θ 0.1): a downscaled crop shrinks the motion in pixels, and TV-L1's default
  regularisation then underestimates it, which these settings correct.

Both run on one core (``cv2.setNumThreads(1)``), interleaved clip by clip so machine noise hits
both. Reported: samples/second of each and their ratio (target ≥ 8×), facscope's throughput
with 1 and 2 worker processes, and the end-point error of both raw flows (before compensation)
against the generator's true flow, compared at the same points: the crop's face-region pixel
centres mapped into the frame, facscope's vectors mapped back to frame pixels through the
alignment (``ClipAlignment.vectors_to_source``), everything in frame pixels.

    python benchmarks/motion.py [--clips 3] [--amplitude 1.0] [--noise 1.0] [--scaling 8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

from facscope.motion.apex import face_mask
from facscope.motion.colormap import motion_colormap
from facscope.motion.compensate import nose_window_mean
from facscope.motion.pipeline import MotionConfig, analyse_pair
from facscope.synth.clips import synth_clip

EMOTIONS = ("happiness", "surprise", "disgust", "sadness", "fear", "anger")
FRAME = (1024, 768)


def reference(onset: np.ndarray, apex: np.ndarray, nose: tuple[float, float]) -> np.ndarray:
    """MELLM v1 on the full frame; returns the raw TV-L1 flow (the map is made and dropped)."""
    g0 = cv2.cvtColor(onset, cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(apex, cv2.COLOR_RGB2GRAY)
    flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(g0, g1, None)
    head = np.array(nose_window_mean(flow, nose, 11), np.float32)
    motion_colormap(g0, flow - head)
    return flow


#: facscope configurations compared with the reference
CONFIGS = {
    "facscope (256-px crop, tvl1)": MotionConfig(),
    "facscope fine (384-px crop, tvl1.fine)": MotionConfig(size=384, flow="tvl1.fine"),
}


def _init_worker() -> None:
    cv2.setNumThreads(1)


def _worker_task(task: tuple[str, np.ndarray, np.ndarray]) -> int:
    name, onset, apex = task
    analyse_pair(onset, apex, config=CONFIGS[name])
    return 1


def throughput(name: str, pairs: list[tuple[np.ndarray, np.ndarray]], workers: int) -> float:
    """Samples/second of a facscope config with ``workers`` processes (start-up excluded)."""
    tasks = [(name, a, b) for a, b in pairs]
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
    ) as pool:
        list(pool.map(_worker_task, tasks[:workers]))  # import, build the detector
        t0 = time.perf_counter()
        n = sum(pool.map(_worker_task, tasks))
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--amplitude", type=float, default=1.0, help="px at a 256-px aligned face")
    ap.add_argument("--noise", type=float, default=1.0, help="sensor noise sigma, grey levels")
    ap.add_argument("--scaling", type=int, default=8, help="samples for the 1 vs 2 worker run")
    args = ap.parse_args()
    cv2.setNumThreads(1)

    clips = [
        synth_clip(
            emotion=EMOTIONS[i % len(EMOTIONS)],
            amplitude=args.amplitude,
            fps=200,
            rise=0.02,
            fall=0.02,
            frame_size=FRAME,
            noise=args.noise,
            seed=i,
        )
        for i in range(args.clips)
    ]
    analyse_pair(clips[0].frames[0], clips[0].frames[clips[0].apex])  # warm-up (detector)
    names = ["reference (TV-L1 on the full frame)", *CONFIGS]
    times: dict[str, list[float]] = {n: [] for n in names}
    epe: dict[str, list[float]] = {n: [] for n in names}
    epe_moving: dict[str, list[float]] = {n: [] for n in names}
    for sc in clips:
        onset, apex = sc.frames[sc.onset], sc.frames[sc.apex]
        t0 = time.perf_counter()
        ref_flow = reference(onset, apex, tuple(sc.face.landmarks[2]))
        times[names[0]].append(time.perf_counter() - t0)
        grid = None
        for name, cfg in CONFIGS.items():
            t0 = time.perf_counter()
            res = analyse_pair(onset, apex, config=cfg)
            times[name].append(time.perf_counter() - t0)
            raw = res.flow + np.array(res.compensation.head_vector, np.float32)
            al = res.alignment
            if grid is None:  # evaluate everything on the first config's crop grid
                grid = al
                truth = grid.sample_source_field(sc.flow)
                mask = face_mask(grid.size)
                tmag = np.hypot(truth[..., 0], truth[..., 1])
                moving = mask & (tmag >= 0.1 * tmag[mask].max())
                estimates = {names[0]: grid.sample_source_field(ref_flow)}
            # this config's flow at the grid's pixel centres, as frame-pixel vectors
            estimates[name] = _on_grid(al, grid, raw)
        for name, est in estimates.items():
            err = np.hypot(*(est - truth).transpose(2, 0, 1))
            epe[name].append(float(err[mask].mean()))
            epe_moving[name].append(float(err[moving].mean()))
    pairs = [
        (clips[i % len(clips)].frames[0], clips[i % len(clips)].frames[clips[i % len(clips)].apex])
        for i in range(args.scaling)
    ]
    scaling = {n: (throughput(n, pairs, 1), throughput(n, pairs, 2)) for n in CONFIGS}

    print(
        f"# motion pipeline: {len(clips)} synthetic clips {FRAME[0]}×{FRAME[1]}, amplitude "
        f"{args.amplitude} px at 256 px (≈{args.amplitude * 0.8 * FRAME[1] / 256:.1f} px in the "
        f"frame), noise σ={args.noise}; {platform.processor() or platform.machine()}, "
        f"{mp.cpu_count()} CPUs, 1 OpenCV thread per worker\n"
    )
    print(
        "| pipeline | s/sample | samples/s | speed-up | EPE face (frame px) "
        "| EPE moving (frame px) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    ref_t = np.mean(times[names[0]])
    for n in names:
        t = np.mean(times[n])
        print(
            f"| {n} | {t:.2f} | {1 / t:.3f} | {ref_t / t:.1f}× | {np.mean(epe[n]):.3f} | "
            f"{np.mean(epe_moving[n]):.3f} |"
        )
    print(f"\nworker processes ({args.scaling} samples each):")
    for n, (one, two) in scaling.items():
        print(
            f"- {n}: 1 worker {one:.2f} samples/s, 2 workers {two:.2f} samples/s "
            f"(scaling {two / one:.2f}×)"
        )
    print("\nbars: speed-up ≥ 8× on one worker; EPE over the face no worse than the reference")
    for n in CONFIGS:
        fast = ref_t / np.mean(times[n]) >= 8
        good = np.mean(epe[n]) <= np.mean(epe[names[0]])
        print(f"- {n}: speed {'met' if fast else 'MISSED'}, EPE {'met' if good else 'MISSED'}")


def _on_grid(al: object, grid: object, crop_flow: np.ndarray) -> np.ndarray:
    """A crop's flow sampled at another crop's (``grid``) pixel centres, in frame pixels."""
    from scipy.ndimage import map_coordinates

    vec = al.vectors_to_source(crop_flow)  # type: ignore[attr-defined]
    m = al.forward @ grid.inverse  # type: ignore[attr-defined]  # grid pixels → this crop's
    n = grid.size  # type: ignore[attr-defined]
    gx, gy = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5)
    cx = m[0, 0] * gx + m[0, 1] * gy + m[0, 2] - 0.5
    cy = m[1, 0] * gx + m[1, 1] * gy + m[1, 2] - 0.5
    return np.stack(
        [map_coordinates(vec[..., c], [cy, cx], order=1, mode="nearest") for c in range(2)], -1
    ).astype(np.float32)


if __name__ == "__main__":
    main()
