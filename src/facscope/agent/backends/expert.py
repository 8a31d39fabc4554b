"""The ``expert`` backend: a deterministic policy that uses the tools and classical perception.

It plays the model's part through the same loop, tools and answer format, with no network and
no language model: detect → align → (clips: motion map) → zoom into the regions that matter →
answer. The perception behind the answer:

* **emotion**: the FER2013 mini-Xception (:func:`facscope.face.emotion.classify_emotion`) on the
  aligned face the ``align_face`` tool returned; for clips with measured motion, the emotion
  whose EMFACS prototype best matches the measured AUs (:func:`facscope.facs.infer_emotion`).
* **AUs**: *measured* from the dense face mesh when the ``landmarks`` extra is installed
  (:mod:`facscope.face.aus`: still mode for images, onset → apex change for clips; the tools
  put the measurements in the ``align_face`` record and each region's in its ``zoom``
  observation). The emotion then combines the classifier's probabilities with the EMFACS
  match of the measured AUs (:func:`combine_evidence`), and the reasoning says when the two
  disagree. Without the extra: for clips, from the motion statistics of ``motion_map``
  (:func:`facscope.agent.motion.motion_aus`); for still images, the predicted emotion's main
  EMFACS prototype (:func:`facscope.facs.prototype_aus`) — *inferred, not measured*, and the
  reasoning says so. The answer says which in its ``au_basis`` field.

Regions to zoom: for stills, where the predicted emotion's prototype AUs show; for clips, the
regions that moved most. Each decision reads only the conversation and the episode's tool
records, as a model would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from facscope.agent.parse import format_answer
from facscope.errors import ConfigError
from facscope.facs import AU_CATALOGUE, EMOTIONS, infer_emotion, prototype_aus
from facscope.vlm.backends.base import (
    BACKENDS,
    Backend,
    Generation,
    GenerationRequest,
    message_images,
)
from facscope.vlm.toolcalls import format_tool_call as _call

__all__ = ["ExpertBackend", "combine_evidence"]

#: weight of the AU evidence against the classifier in :func:`combine_evidence`
AU_WEIGHT = 0.5
#: the same for clips (micro-expressions are too small for a still-image classifier)
AU_WEIGHT_CLIP = 0.8


def combine_evidence(
    probabilities: dict[str, float], aus: Sequence[int], *, au_weight: float = AU_WEIGHT
) -> tuple[str, dict[str, float], str]:
    """Emotion from the classifier's probabilities and the measured AUs' EMFACS match.

    Score per emotion = (1 − w)·p(emotion) + w·match, with ``match`` the best Jaccard overlap
    with the emotion's EMFACS prototypes (:func:`facscope.facs.emotion_scores`), and for
    neutral 1 when no AU is measured, else 0; w = ``au_weight`` (:data:`AU_WEIGHT` for
    stills, :data:`AU_WEIGHT_CLIP` for clips, whose apex frame the classifier barely reads). Returns the emotion, the
    scores and the emotion the AUs alone point to.
    """
    from facscope.facs import emotion_scores

    match = emotion_scores(aus) if aus else {}
    au_best = max(match, key=lambda e: match[e]) if aus and max(match.values()) > 0 else "neutral"
    scores = {}
    for e, p in probabilities.items():
        m = (1.0 if not aus else 0.0) if e == "neutral" else match.get(e, 0.0)
        scores[e] = (1 - au_weight) * float(p) + au_weight * m
    return max(scores, key=lambda e: scores[e]), scores, au_best


_SIDE_PAIRS = {"right_": "left_", "left_": "right_"}


def _default_classifier() -> Callable[..., Any]:
    try:
        from facscope.face.emotion import classify_emotion
    except ImportError as exc:  # pragma: no cover - the module ships with facscope
        raise ConfigError(
            f"the expert backend needs facscope.face.emotion ({exc}); reinstall facscope"
        ) from None
    return classify_emotion


@BACKENDS.register("expert")
class ExpertBackend(Backend):
    """Offline default: deterministic tool policy + FER2013 classifier + FACS prototypes/motion.

    Args:
        max_zooms: regions to zoom into before answering (2 by default).
        zoom_scale: context factor of each zoom.
        classifier: ``f(image, face=None, *, aligned=None) -> prediction`` with ``label`` and
            ``probabilities``; defaults to the FER2013 mini-Xception. Tests pass a stub.
        use_motion: for clips, call ``motion_map`` and measure AUs from motion.
    """

    name = "expert"
    coordinates = "pixels"

    def __init__(
        self,
        *,
        max_zooms: int = 2,
        zoom_scale: float = 1.3,
        classifier: Callable[..., Any] | None = None,
        use_motion: bool = True,
    ) -> None:
        if not 0 <= max_zooms <= 8:
            raise ConfigError(f"max_zooms must be in 0..8; got {max_zooms}")
        self.max_zooms = int(max_zooms)
        self.zoom_scale = float(zoom_scale)
        self.classifier = classifier
        self.use_motion = use_motion
        self._cache: dict[int, tuple[Any, Any]] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "coordinates": self.coordinates,
            "max_zooms": self.max_zooms,
            "classifier": getattr(self.classifier, "__name__", None) or "fer2013-mini-xception",
        }

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        out = []
        for req in requests:
            start = time.perf_counter()
            try:
                text, info = self._step(req)
                out.append(Generation(text, seconds=time.perf_counter() - start, info=info))
            except Exception as exc:  # perception failure: report, do not crash the batch
                out.append(
                    Generation(
                        "",
                        error=f"{type(exc).__name__}: {exc}",
                        seconds=time.perf_counter() - start,
                    )
                )
        return out

    # ------------------------------------------------------------------ policy

    def _step(self, req: GenerationRequest) -> tuple[str, dict[str, Any]]:
        records = list(req.records)
        tools = {t["function"]["name"] for t in req.tools}
        names = [r.name for r in records]
        last_turn = any(
            m["role"] == "user" and isinstance(m["content"], str) and "last turn" in m["content"]
            for m in req.messages[2:]
        )
        if not tools:  # passive: one look at the image we were shown
            return self._answer(req, records, passive=True)
        if last_turn:
            return self._answer(req, records)
        if "detect_faces" not in names:
            return "First I locate the face.\n" + _call("detect_faces"), {}
        detect = next(r for r in records if r.name == "detect_faces")
        if not detect.ok or not detect.data.get("faces"):
            return self._answer(req, records)
        if not any(r.name == "align_face" and r.ok for r in records):
            if names.count("align_face") >= 2:
                return self._answer(req, records)
            return "I align the largest face to an upright, standard view.\n" + _call(
                "align_face", face_index=0
            ), {}
        clip = "motion_map" in tools and self.use_motion
        if clip and "motion_map" not in names:
            return "This is a clip: I look at how the face moved from onset to apex.\n" + _call(
                "motion_map"
            ), {}
        plan, info = self._plan(req, records, clip)
        tried = {str(r.arguments.get("region")) for r in records if r.name == "zoom"}
        for region in plan:
            if region not in tried:
                return (
                    f"I zoom into the {region.replace('_', ' ')} to check the evidence there.\n"
                    + _call("zoom", region=region, scale=self.zoom_scale),
                    info,
                )
        return self._answer(req, records)

    def _perceive(
        self, req: GenerationRequest, records: list[Any], passive: bool = False
    ) -> tuple[Any, float]:
        """The classifier's prediction for the aligned face (or the shown image), cached."""
        image = None
        if not passive:
            for r in records:
                if r.name == "align_face" and r.ok and r.images:
                    image = r.images[0]
        if image is None:
            shown = message_images(req.messages)
            if not shown:
                raise ConfigError("the expert backend needs an image in the conversation")
            image = shown[0]
        key = id(image)
        if key in self._cache and self._cache[key][0] is image:
            return self._cache[key][1], 0.0
        classify = self.classifier or _default_classifier()
        start = time.perf_counter()
        pred = classify(np.asarray(image.convert("RGB")))
        seconds = time.perf_counter() - start
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = (image, pred)
        return pred, seconds

    @staticmethod
    def _motion(records: list[Any]) -> list[dict[str, Any]]:
        for r in records:
            if r.name == "motion_map" and r.ok and r.data.get("region") is None:
                return list(r.data.get("stats") or [])
        return []

    def _plan(
        self, req: GenerationRequest, records: list[Any], clip: bool
    ) -> tuple[list[str], dict[str, Any]]:
        from facscope.face.regions import AU_REGIONS

        if clip and self._motion(records):
            stats = sorted(self._motion(records), key=lambda s: -float(s.get("mean", 0.0)))
            regions = [s["region"] for s in stats if s.get("region") != "forehead"]
            return regions[: self.max_zooms], {}
        pred, seconds = self._perceive(req, records)
        regions: list[str] = []
        label = pred.label
        aus = sorted(prototype_aus(label)) if label != "neutral" else []
        for au in aus:
            for region in AU_REGIONS.get(au, ())[:1]:
                if region not in regions:
                    regions.append(region)
        if not regions and label == "neutral":
            regions = ["mouth", "glabella"]
        return regions[: self.max_zooms], {"classify_seconds": seconds}

    def _answer(
        self, req: GenerationRequest, records: list[Any], passive: bool = False
    ) -> tuple[str, dict[str, Any]]:
        aligned = passive or any(r.name == "align_face" and r.ok for r in records)
        pred, seconds = self._perceive(req, records, passive=passive)
        probs = sorted(pred.probabilities.items(), key=lambda kv: -kv[1])
        lines = []
        if not aligned:
            lines.append("No face could be detected and aligned, so I judge the whole image.")
        lines.append(
            "Classifier (FER2013 mini-Xception) on the aligned face: "
            + ", ".join(f"{k} {v:.2f}" for k, v in probs[:3])
            + "."
        )
        motion = self._motion(records)
        emotion = pred.label
        measured = _measurements(records)
        if measured is not None:
            extra: tuple[int, ...] = ()
            if motion:
                from facscope.agent.motion import motion_aus

                extra, evidence = motion_aus(motion)
                if evidence:
                    lines.append("Motion from onset to apex, region by region:")
                    lines += [f"- {e}" for e in evidence]
            aus, emotion = self._measured_lines(lines, measured, pred.probabilities, extra)
            basis = "measured"
        elif motion:
            from facscope.agent.motion import motion_aus

            aus, evidence = motion_aus(motion)
            basis = "measured"
            if evidence:
                lines.append("Motion from onset to apex, region by region:")
                lines += [f"- {e}" for e in evidence]
            else:
                lines.append("No region moved clearly between onset and apex.")
            if aus:
                emotion = infer_emotion(aus)
                lines.append(
                    f"The measured AUs fit the {emotion} prototype best (EMFACS), so I answer {emotion}."
                )
        else:
            aus = tuple(sorted(prototype_aus(emotion))) if emotion != "neutral" else ()
            basis = "inferred"
            lines.append(
                "No AU could be measured (the landmarks extra is not installed or the face "
                "has no landmarks), so the AUs are inferred."
            )
            if aus:
                described = "; ".join(
                    f"AU{a} {AU_CATALOGUE[a].name} ({AU_CATALOGUE[a].region})" for a in aus
                )
                lines.append(
                    f"The AUs are the EMFACS prototype of {emotion}, inferred from the predicted "
                    f"emotion, not measured: {described}."
                )
            else:
                lines.append("A neutral face shows no Action Units.")
        zooms = [
            str(r.arguments.get("region") or "box") for r in records if r.name == "zoom" and r.ok
        ]
        if zooms:
            lines.append(
                "Regions inspected up close: " + ", ".join(z.replace("_", " ") for z in zooms) + "."
            )
        if emotion not in _allowed(req):
            emotion = "neutral" if "neutral" in _allowed(req) else _allowed(req)[0]
        text = "\n".join(lines) + "\n" + format_answer(emotion, aus, au_basis=basis)
        probabilities = {k: float(v) for k, v in pred.probabilities.items()}
        return text, {"classify_seconds": seconds, "probabilities": probabilities}

    @staticmethod
    def _measured_lines(
        lines: list[str],
        measured: list[dict[str, Any]],
        probabilities: Any,
        motion: tuple[int, ...] = (),
    ) -> tuple[tuple[int, ...], str]:
        """Reasoning from measured AUs (and, for clips, the AUs the motion rules measured);
        returns the present AUs and the combined emotion."""
        present = tuple(sorted({int(m["au"]) for m in measured if m["present"]} | set(motion)))
        if 43 in present and 45 in present:
            present = tuple(a for a in present if a != 45)
        if 26 in present and 27 in present:
            present = tuple(a for a in present if a != 26)
        mode = measured[0].get("mode", "still") if measured else "still"
        lines.append(f"AUs measured from the face mesh ({mode} mode):")
        for m in measured:
            if m["present"]:
                lines.append(
                    f"- AU{m['au']} {AU_CATALOGUE[m['au']].name} present ({m['intensity']}): "
                    f"{m['evidence']}, confidence {m['confidence']:.2f}"
                )
        if not present:
            lines.append("- none reaches its threshold")
        weight = AU_WEIGHT_CLIP if mode == "clip" else AU_WEIGHT
        emotion, scores, au_best = combine_evidence(dict(probabilities), present, au_weight=weight)
        top = sorted(probabilities.items(), key=lambda kv: -kv[1])[0][0]
        lines.append(
            f"EMFACS reading of the measured AUs: {au_best}; classifier: {top}; combined "
            f"(classifier {1 - weight:.1f} + AU match {weight:.1f}): "
            + ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(scores.items(), key=lambda kv: -kv[1])[:3]
            )
            + "."
        )
        if au_best != top:
            lines.append(
                f"The classifier ({top}) and the AU evidence ({au_best}) disagree; "
                f"I answer {emotion} from the combined score."
            )
        return present, emotion


def _measurements(records: list[Any]) -> list[dict[str, Any]] | None:
    """The measured AUs the align_face tool recorded (None: not measured)."""
    for r in reversed(records):
        if r.name == "align_face" and r.ok and r.data.get("au_measurements") is not None:
            return list(r.data["au_measurements"])
    return None


def _allowed(req: GenerationRequest) -> list[str]:
    """The answer set announced in the system prompt (the expert never answers outside it)."""
    import re

    system = (
        req.messages[0]["content"] if req.messages and req.messages[0]["role"] == "system" else ""
    )
    m = re.search(r"one of: ([a-z, ]+)\.", system if isinstance(system, str) else "")
    return [e.strip() for e in m.group(1).split(",")] if m else list(EMOTIONS)
