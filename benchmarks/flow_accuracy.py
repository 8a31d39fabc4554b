"""End-point error of every flow method on synthetic clips with known motion.

For each amplitude (peak displacement in pixels of a 256-px aligned face) and each emotion, a
synthetic clip is rendered (:func:`facscope.synth.clips.synth_clip`, sensor noise on), the face
is detected and aligned on the onset, and each method computes the onset → apex flow on the
256-px crop. The true flow (frame pixels) is mapped into the crop exactly: sampled at the crop's
pixel centres and its vectors scaled/rotated by the alignment. Errors are in crop pixels:

- ``EPE face``: mean end-point error over the face (the union of the canonical regions);
- ``EPE moving``: the same over the pixels whose true motion is at least 0.1 × amplitude;
- ``rel. moving``: ``EPE moving`` divided by the mean true motion there;
- ``zero-flow``: the error of answering "no motion" on the moving pixels, for scale;
- ``ms``: milliseconds per 256 × 256 flow.

With ``--apex N`` it also measures apex spotting (:func:`facscope.motion.spot_apex`, every
signal) on N full clips per amplitude at 200 fps (sensor noise σ = 2, default rise 0.15 s and
fall 0.2 s): the mean and maximum error in frames against the true apex.

    python benchmarks/flow_accuracy.py [--amplitudes 0.25 0.5 1 2] [--noise 1] [--seeds 2]
                                       [--apex 12]
"""

from __future__ import annotations

import argparse
import platform
import time

import cv2
import numpy as np

from facscope.motion.apex import face_mask
from facscope.motion.clip import Clip
from facscope.motion.flow import compute_flow, create_flow, list_flows
from facscope.synth.clips import synth_clip

EMOTIONS = ("happiness", "surprise", "disgust", "sadness", "fear", "anger")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--amplitudes", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--methods", nargs="+", default=list_flows())
    ap.add_argument("--emotions", nargs="+", default=list(EMOTIONS))
    ap.add_argument("--seeds", type=int, default=1, help="clips per emotion and amplitude")
    ap.add_argument("--noise", type=float, default=1.0, help="sensor noise sigma, grey levels")
    ap.add_argument("--size", type=int, default=256, help="aligned crop side")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads")
    ap.add_argument("--apex", type=int, default=0, help="clips per amplitude for apex spotting")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    mask = face_mask(args.size)
    methods = {m: create_flow(m) for m in args.methods}
    rows: dict[tuple[float, str], dict[str, list[float]]] = {}
    for amp in args.amplitudes:
        for emotion in args.emotions:
            for seed in range(args.seeds):
                sc = synth_clip(
                    emotion=emotion,
                    amplitude=amp,
                    fps=200,
                    rise=0.01,
                    fall=0.01,
                    frame_size=(640, 480),
                    noise=args.noise,
                    seed=seed,
                )
                clip = Clip.from_frames(sc.frames, fps=sc.fps)
                al = clip.align(sc.onset, size=args.size)
                on, apx = al.crop_gray(clip[sc.onset]), al.crop_gray(clip[sc.apex])
                truth = al.vectors_from_source(al.sample_source_field(sc.flow))
                tmag = np.hypot(truth[..., 0], truth[..., 1])
                moving = mask & (tmag >= 0.1 * amp)
                for name, method in methods.items():
                    t0 = time.perf_counter()
                    flow = compute_flow(on, apx, method)
                    ms = 1000 * (time.perf_counter() - t0)
                    err = np.hypot(*(flow - truth).transpose(2, 0, 1))
                    r = rows.setdefault((amp, name), {})
                    r.setdefault("face", []).append(float(err[mask].mean()))
                    r.setdefault("moving", []).append(float(err[moving].mean()))
                    r.setdefault("rel", []).append(float(err[moving].mean() / tmag[moving].mean()))
                    r.setdefault("zero", []).append(float(tmag[moving].mean()))
                    r.setdefault("ms", []).append(ms)
    n = len(args.emotions) * args.seeds
    print(
        f"# flow EPE on synthetic clips ({n} clips per amplitude: {', '.join(args.emotions)}; "
        f"noise σ={args.noise}; {args.size}-px aligned crop; {platform.processor() or platform.machine()}, "
        f"{args.threads} OpenCV thread(s))\n"
    )
    print("| amplitude (px @256) | method | EPE face | EPE moving | rel. moving | zero-flow | ms |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for (amp, name), r in rows.items():
        print(
            f"| {amp:g} | {name} | {np.mean(r['face']):.3f} | {np.mean(r['moving']):.3f} | "
            f"{np.mean(r['rel']):.2f} | {np.mean(r['zero']):.3f} | {np.mean(r['ms']):.0f} |"
        )

    if args.apex:
        apex_table(args.amplitudes, args.apex)


def apex_table(amplitudes: list[float], n: int) -> None:
    from facscope.motion.apex import APEX_SIGNALS, spot_apex

    errors: dict[tuple[float, str], list[int]] = {}
    for amp in amplitudes:
        for i in range(n):
            sc = synth_clip(
                emotion=EMOTIONS[i % len(EMOTIONS)],
                amplitude=amp,
                fps=200,
                frame_size=(320, 240),
                noise=2.0,
                seed=100 + i,
            )
            clip = Clip.from_frames(sc.frames, fps=sc.fps)
            al = clip.align(sc.onset)
            for signal in APEX_SIGNALS:
                res = spot_apex(clip, onset=sc.onset, offset=sc.offset, signal=signal, alignment=al)
                errors.setdefault((amp, signal), []).append(res.index - sc.apex)
    print(f"\n# apex spotting at 200 fps, noise σ=2 ({n} clips per amplitude)\n")
    print("| amplitude (px @256) | signal | mean abs. error (frames) | max error | within 3 |")
    print("|---:|---|---:|---:|---:|")
    for (amp, signal), errs in errors.items():
        e = np.abs(errs)
        print(f"| {amp:g} | {signal} | {e.mean():.2f} | {e.max()} | {(e <= 3).sum()}/{len(e)} |")


if __name__ == "__main__":
    main()
