"""The ``expert`` backend: a deterministic policy that uses the tools and classical perception.

It plays the model's part through the same loop, tools and answer format, with no network and
no language model: detect → align → (clips: motion map) → zoom into the regions that matter →
answer. The perception behind the answer:

* **emotion**: the FER2013 mini-Xception (:func:`facscope.face.emotion.classify_emotion`) on the
  aligned face the ``align_face`` tool returned; for clips with measured motion, the emotion
  whose EMFACS prototype best matches the measured AUs (:func:`facscope.facs.infer_emotion`).
* **AUs**: for clips, *measured* from the motion statistics of ``motion_map``
  (:func:`facscope.agent.motion.motion_aus`); for still images, the predicted emotion's main
  EMFACS prototype (:func:`facscope.facs.prototype_aus`) — *inferred, not measured*. The answer
  says which in its ``au_basis`` field.

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

__all__ = ["ExpertBackend"]

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
        if motion:
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


def _allowed(req: GenerationRequest) -> list[str]:
    """The answer set announced in the system prompt (the expert never answers outside it)."""
    import re

    system = (
        req.messages[0]["content"] if req.messages and req.messages[0]["role"] == "system" else ""
    )
    m = re.search(r"one of: ([a-z, ]+)\.", system if isinstance(system, str) else "")
    return [e.strip() for e in m.group(1).split(",")] if m else list(EMOTIONS)
