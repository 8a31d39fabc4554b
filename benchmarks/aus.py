"""AU measurement from dense landmarks: build the reference, tune clip thresholds, evaluate.

    PYTHONPATH=src python benchmarks/aus.py                  # evaluate (docs/aus.md numbers)
    PYTHONPATH=src python benchmarks/aus.py --write-reference  # rebuild face/au_reference.py

Data, all generated here from public-domain faces that ship with scikit-image:

* still reference: LFW faces 0-49 (median and robust SD of every AU combination);
* clip tuning: synthetic clips (facscope.synth) of the astronaut and LFW faces 0-49;
* held-out evaluation: synthetic clips of LFW faces 50-99 (never used for tuning), and the
  near-neutral LFW faces 50-99 (the FER classifier's top label is neutral) for still-mode
  false-positive rates.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from facscope.face.au_geometry import geometry
from facscope.face.aus import AU_MEASURES, combine
from facscope.face.landmarks import create_landmarker
from facscope.facs import EMOTION_PROTOTYPES, prototype_aus

AUS = list(AU_MEASURES)
EMOTIONS = [*EMOTION_PROTOTYPES, "neutral"]
_REF = Path(__file__).resolve().parents[1] / "src/facscope/face/au_reference.py"


def _bases(lo: int, hi: int, astronaut: bool = False) -> list:
    from facscope.synth.base import load_base

    out = [load_base("astronaut")] if astronaut else []
    for i in range(lo, hi):
        try:
            out.append(load_base(f"lfw:{i}"))
        except Exception:  # an LFW crop where MTCNN finds no face
            continue
    return out


def _combos(points: np.ndarray) -> np.ndarray:
    geo = geometry(points)
    return np.array([combine(AU_MEASURES[a], geo) for a in AUS])


def _clips(bases: list, per_base: int, seed: int) -> list[dict]:
    """Synthetic clips with random emotions (EMFACS variants, random intensities/sides) and
    amplitudes 1-3 px at 256 px; each row: true AUs, onset and apex combos, the apex frame."""
    from facscope.synth import synth_clip

    lm = create_landmarker()
    rng = np.random.default_rng(seed)
    rows = []
    for b in bases:
        for _ in range(per_base):
            emotion = str(rng.choice(EMOTIONS))
            clip = synth_clip(
                b,
                emotion=emotion,
                vary=True,
                amplitude=float(rng.uniform(1, 3)),
                fps=30,
                frame_size=(320, 240),
                seed=int(rng.integers(1 << 30)),
            )
            on, ap = clip.frames[clip.onset], clip.frames[clip.apex]
            r0 = lm.landmarks(on, clip.face)
            r1 = lm.landmarks_at(ap, r0.crop)
            truth = {a.number for a in clip.aus}
            rows.append(
                {
                    "truth": truth,
                    "onset": _combos(r0.points),
                    "apex": _combos(r1.points),
                    "points": (r0.points, r1.points),
                    "onset_frame": on,
                    "apex_frame": ap,
                    "face": clip.face,
                    "emotion": clip.emotion,
                }
            )
    return rows


def _f1(pred: list[set], truth: list[set], au: int) -> float | None:
    tp = sum(au in p and au in t for p, t in zip(pred, truth))
    fp = sum(au in p and au not in t for p, t in zip(pred, truth))
    fn = sum(au not in p and au in t for p, t in zip(pred, truth))
    return None if tp + fn == 0 else 2 * tp / max(1, 2 * tp + fp + fn)


def _tune(rows: list[dict]) -> tuple[dict, dict]:
    """Per-AU clip threshold maximising F1 on the tuning clips; noise: robust SD of the value
    on clips without the AU."""
    d = np.array([r["apex"] - r["onset"] for r in rows])
    truth = [r["truth"] for r in rows]
    thr, noise = {}, {}
    for j, au in enumerate(AUS):
        neg = d[[au not in t for t in truth], j]
        sd = float(1.4826 * np.median(np.abs(neg - np.median(neg)))) or 1e-4
        noise[au] = sd
        best = (-1.0, 3 * sd)
        for k in np.linspace(1, 8, 57):
            f = _f1([{au} if v >= k * sd else set() for v in d[:, j]], truth, au)
            if f is not None and f > best[0]:
                best = (f, k * sd)
        thr[au] = best[1]
    return thr, noise


def _still_reference(bases: list) -> dict:
    """Median and robust SD over the faces the FER classifier does not call happy (smiles would
    widen every mouth and cheek spread)."""
    from facscope.face.emotion import classify_emotion

    lm = create_landmarker()
    keep = [b for b in bases if classify_emotion(b.image, b.face).label != "happiness"]
    print(f"still reference: {len(keep)} of {len(bases)} LFW faces 0-49 (not classified happy)")
    c = np.array([_combos(lm.landmarks(b.image, b.face).points) for b in keep])
    med = np.median(c, 0)
    sd = 1.4826 * np.median(np.abs(c - med), 0)
    return {au: (float(med[j]), float(sd[j])) for j, au in enumerate(AUS)}


def write_reference(path: Path = _REF) -> None:
    still = _still_reference(_bases(0, 50))
    thr, noise = _tune(_clips(_bases(0, 50, astronaut=True), 4, seed=1))
    k = {au: 2.0 for au in AUS} | {25: 3.0, 27: 6.0, 43: 5.0, 45: 5.0}
    lines = [
        '"""Generated by benchmarks/aus.py --write-reference; do not edit by hand.',
        "",
        "STILL_REFERENCE: AU -> (median, robust SD) of its combination over scikit-image LFW faces",
        "0-49 not classified happy (face mesh, eye frame, IOD units). STILL_K: threshold in robust SDs. CLIP_THRESHOLD /",
        "CLIP_NOISE: onset->apex value threshold (F1-optimal) and robust SD on clips without the AU,",
        'tuned on synthetic clips of the astronaut and LFW faces 0-49 (4 clips each)."""',
        "",
        "STILL_REFERENCE = {",
        *(f"    {a}: ({m:.5f}, {s:.5f})," for a, (m, s) in still.items()),
        "}",
        "STILL_K = {" + ", ".join(f"{a}: {v}" for a, v in k.items()) + "}",
        "CLIP_THRESHOLD = {" + ", ".join(f"{a}: {thr[a]:.5f}" for a in AUS) + "}",
        "CLIP_NOISE = {" + ", ".join(f"{a}: {noise[a]:.5f}" for a in AUS) + "}",
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"wrote {path}")


def _flow_stats(rows: list[dict]) -> list[list]:
    """Each clip's moving regions onset → apex (``facscope motion``'s defaults: aligned on the
    onset, TV-L1 on the 256-px crop; moving as the expert counts it)."""
    from facscope.motion.pipeline import analyse_pair
    from facscope.motion.stats import strong_regions

    return [strong_regions(analyse_pair(r["onset_frame"], r["apex_frame"]).regions) for r in rows]


def tune_flow_support(per_base: int = 4) -> float:
    """The fraction of its threshold at which a clip AU counts with the flow's support that
    maximises the mean AU F1 on the **tuning** clips (astronaut and LFW faces 0-49, seed 1),
    printed for ``facscope.face.aus.FLOW_SUPPORT``."""
    import facscope.face.aus as fa
    from facscope.face.aus import clip_aus, measured_aus

    rows = _clips(_bases(0, 50, astronaut=True), per_base, seed=1)
    stats = _flow_stats(rows)
    truth = [r["truth"] for r in rows]
    present = sorted(a for a in AUS if any(a in t for t in truth))
    best = (-1.0, 1.0)
    print("| FLOW_SUPPORT | mean clip + flow F1 (tuning clips) |\n|---|---|")
    for k in np.round(np.arange(0.0, 1.01, 0.1), 2):
        fa.FLOW_SUPPORT = float(k)
        preds = [set(measured_aus(clip_aus(*r["points"], flow=st))) for r, st in zip(rows, stats)]
        f1 = float(np.mean([_f1(preds, truth, a) for a in present]))
        print(f"| {k:.1f} | {f1:.3f} |")
        best = max(best, (f1, float(k)))
    print(f"best on the tuning clips: FLOW_SUPPORT = {best[1]:.1f} (mean F1 {best[0]:.3f})")
    return best[1]


def evaluate(per_base: int, *, flow: bool = True) -> None:
    from facscope.face.aus import clip_aus, measured_aus, still_aus
    from facscope.face.emotion import classify_emotion

    lm = create_landmarker()
    t = time.perf_counter()
    rows = _clips(_bases(50, 100), per_base, seed=2)
    print(f"held-out clips: {len(rows)} (LFW faces 50-99), {time.perf_counter() - t:.1f} s")
    truth = [r["truth"] for r in rows]
    t = time.perf_counter()
    stats = _flow_stats(rows) if flow else [None] * len(rows)
    if flow:
        print(f"onset -> apex flow of every clip: {time.perf_counter() - t:.1f} s")
    preds: dict[str, list[set]] = {"clip": [], "clip + flow": [], "still": [], "baseline": []}
    for r, st in zip(rows, stats):
        ap = lm.landmarks(r["apex_frame"], r["face"])
        preds["still"].append(set(measured_aus(still_aus(ap.points))))
        preds["clip"].append(set(measured_aus(clip_aus(*r["points"]))))
        if st is not None:
            preds["clip + flow"].append(set(measured_aus(clip_aus(*r["points"], flow=st))))
        label = classify_emotion(r["apex_frame"], r["face"]).label
        preds["baseline"].append(set(prototype_aus(label)) if label != "neutral" else set())
    preds = {k: v for k, v in preds.items() if v}
    cols = {"clip": "clip F1", "clip + flow": "clip + flow F1", "still": "still F1",
            "baseline": "prototype baseline F1"}  # fmt: skip
    print("| AU | clips with AU | " + " | ".join(cols[k] for k in preds) + " |")
    print("|---" * (len(preds) + 2) + "|")
    means: dict[str, list[float]] = {k: [] for k in preds}
    for au in AUS:
        n = sum(au in t for t in truth)
        if n == 0:
            continue
        f = {k: _f1(p, truth, au) for k, p in preds.items()}
        for k, v in f.items():
            means[k].append(v)
        print(f"| {au} | {n} | " + " | ".join(f"{v:.2f}" for v in f.values()) + " |")
    print("| mean | | " + " | ".join(f"{np.mean(v):.2f}" for v in means.values()) + " |")
    _false_positives(lm)


def _false_positives(lm) -> None:
    from facscope.face.aus import measured_aus, still_aus
    from facscope.face.emotion import classify_emotion

    groups = {"neutral": ("neutral",), "not happy": None, "all": ()}
    fired = {g: dict.fromkeys(AUS, 0) for g in groups}
    count = dict.fromkeys(groups, 0)
    for b in _bases(50, 100):
        label = classify_emotion(b.image, b.face).label
        found = measured_aus(still_aus(lm.landmarks(b.image, b.face).points))
        for g in groups:
            if (g == "neutral" and label != "neutral") or (
                g == "not happy" and label == "happiness"
            ):
                continue
            count[g] += 1
            for a in found:
                fired[g][a] += 1
    print("\nstill-mode firing rate on held-out LFW faces 50-99, by FER classifier label")
    print("| faces | n | " + " | ".join(str(a) for a in AUS) + " |")
    print("|---" * (len(AUS) + 2) + "|")
    for g in groups:
        rates = " | ".join(f"{fired[g][a] / max(count[g], 1):.0%}" for a in AUS)
        print(f"| {g} | {count[g]} | {rates} |")


def main() -> None:
    warnings.simplefilter("ignore")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--write-reference", action="store_true")
    p.add_argument("--clips-per-face", type=int, default=4)
    p.add_argument("--no-flow", action="store_true", help="skip the clip + flow column")
    p.add_argument("--tune-flow", action="store_true", help="tune FLOW_SUPPORT on the tuning clips")
    args = p.parse_args()
    if args.tune_flow:
        tune_flow_support(args.clips_per_face)
    elif args.write_reference:
        write_reference()
    else:
        evaluate(args.clips_per_face, flow=not args.no_flow)


if __name__ == "__main__":
    main()
