"""Is a detection a face? Geometry checks a user can read, and doubts kept with the answer.

Detectors box things that are not faces (a T-shirt print, gravel, a door knob). Every detection
the analysis uses passes :func:`check_face` first:

* **five landmarks** (MTCNN, YuNet): measured in the frame of the eye line, in units of the eye
  distance ``d``, a face has its eyes ``0.25..0.75`` of the box width apart, a roll under 45°,
  the nose ``0.15..1.3 d`` below the eyes, the mouth below the nose and at most ``2 d`` below
  the eyes, the mouth centre within ``0.5 d`` of the eye centre sideways, the nose within
  ``0.9 d`` (a near-profile face is allowed but doubted past ``0.5 d``), a mouth ``0.35..1.6 d``
  wide, and every point inside the box grown by 15 %. A detection failing any rule is rejected,
  with the rule it failed.
* **boxes only** (Haar): there is no geometry to check, so the rule is: MTCNN must confirm the
  box — run on the box grown 1.6× (upscaled to at least 160 px), it must find a face whose five
  points pass the rules above and whose centre lies inside the box. Unconfirmed boxes are
  rejected ("not confirmed"); confirmed ones are kept and doubted as "boxes only".

Doubts (kept, but marked in the answer): a face under 48 px on its shorter side (``tiny``), a
score under 0.95 (``low score``), ``boxes only``, ``near-profile``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.types import Face

__all__ = [
    "Detections",
    "FaceCheck",
    "PlausibilityConfig",
    "check_face",
    "find_faces",
    "screen_faces",
]


@dataclass(frozen=True, kw_only=True)
class PlausibilityConfig:
    """The thresholds of :func:`check_face` (see the module docstring for what each means)."""

    eye_box_ratio: tuple[float, float] = (0.25, 0.75)
    max_roll_deg: float = 45.0
    nose_drop: tuple[float, float] = (0.15, 1.3)
    max_mouth_drop: float = 2.0
    min_nose_to_mouth: float = 0.1
    max_mouth_shift: float = 0.5
    max_nose_shift: float = 0.9
    profile_nose_shift: float = 0.5
    mouth_width: tuple[float, float] = (0.35, 1.6)
    box_margin: float = 0.15
    tiny_side: float = 48.0
    sure_score: float = 0.95
    verify_boxes: bool = True

    def __post_init__(self) -> None:
        for name in ("eye_box_ratio", "nose_drop", "mouth_width"):
            lo, hi = getattr(self, name)
            if not 0 <= lo < hi:
                raise ConfigError(f"{name} must be (low, high) with 0 <= low < high; got {lo, hi}")


@dataclass(frozen=True)
class FaceCheck:
    """One detection and what the checks found: ``problems`` reject it, ``doubts`` mark it."""

    face: Face
    problems: tuple[str, ...] = ()
    doubts: tuple[str, ...] = ()
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def plausible(self) -> bool:
        return not self.problems

    @property
    def doubtful(self) -> bool:
        return bool(self.doubts)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.face.to_dict(),
            "plausible": self.plausible,
            "problems": list(self.problems),
            "doubts": list(self.doubts),
        }


@dataclass(frozen=True)
class Detections:
    """The faces of one image after the checks: ``kept`` (largest first) and ``rejected``."""

    kept: list[FaceCheck]
    rejected: list[FaceCheck]
    detector: str = ""

    @property
    def faces(self) -> list[Face]:
        return [c.face for c in self.kept]

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "count": len(self.kept),
            "faces": [c.to_dict() for c in self.kept],
            "rejected": [c.to_dict() for c in self.rejected],
        }


def _geometry(face: Face) -> dict[str, float]:
    """The landmark layout in the eye-line frame, in units of the eye distance."""
    el, er, nose, ml, mr = np.asarray(face.landmarks, dtype=np.float64)
    d = float(np.linalg.norm(er - el))
    if d < 1e-6:
        return {"eye_distance": 0.0}
    u = (er - el) / d
    v = np.array([-u[1], u[0]])
    eyes, mouth = (el + er) / 2, (ml + mr) / 2
    return {
        "eye_distance": d,
        "eye_box_ratio": d / max(face.box.width, 1e-6),
        "roll_deg": float(np.degrees(np.arctan2(u[1], u[0]))),
        "nose_drop": float((nose - eyes) @ v / d),
        "mouth_drop": float((mouth - eyes) @ v / d),
        "nose_shift": float((nose - eyes) @ u / d),
        "mouth_shift": float((mouth - eyes) @ u / d),
        "mouth_width": float(np.linalg.norm(mr - ml) / d),
    }


def _landmark_problems(face: Face, m: dict[str, float], cfg: PlausibilityConfig) -> list[str]:
    if m["eye_distance"] <= 0:
        return ["the two eye points coincide"]
    out = []

    def outside(name: str, lo: float, hi: float, text: str) -> None:
        if not lo <= m[name] <= hi:
            out.append(f"{text} ({name} {m[name]:.2f}, allowed {lo:g}..{hi:g})")

    outside("eye_box_ratio", *cfg.eye_box_ratio, "eye distance does not fit the box")
    outside("roll_deg", -cfg.max_roll_deg, cfg.max_roll_deg, "eye line tilted too far")
    outside("nose_drop", *cfg.nose_drop, "nose not below the eyes")
    outside("mouth_drop", m["nose_drop"] + cfg.min_nose_to_mouth, cfg.max_mouth_drop,
            "mouth not below the nose")  # fmt: skip
    outside("mouth_shift", -cfg.max_mouth_shift, cfg.max_mouth_shift, "mouth not under the eyes")
    outside("nose_shift", -cfg.max_nose_shift, cfg.max_nose_shift, "nose far outside the eyes")
    outside("mouth_width", *cfg.mouth_width, "mouth width does not fit the eyes")
    b, g = face.box, cfg.box_margin
    lm = np.asarray(face.landmarks)
    inside = (
        (lm[:, 0] >= b.x1 - g * b.width)
        & (lm[:, 0] <= b.x2 + g * b.width)
        & (lm[:, 1] >= b.y1 - g * b.height)
        & (lm[:, 1] <= b.y2 + g * b.height)
    )
    if not inside.all():
        out.append("landmarks outside the box")
    return out


def check_face(face: Face, config: PlausibilityConfig | None = None) -> FaceCheck:
    """The geometry verdict on one detection (landmark rules; boxes-only faces are only
    doubted here — :func:`screen_faces` confirms them)."""
    cfg = config or PlausibilityConfig()
    doubts = []
    side = min(face.box.width, face.box.height)
    if side < cfg.tiny_side:
        doubts.append(f"tiny ({side:.0f} px)")
    if face.score < cfg.sure_score:
        doubts.append(f"low score ({face.score:.2f})")
    if face.landmarks is None:
        return FaceCheck(face, (), (*doubts, "boxes only"), {})
    m = _geometry(face)
    problems = _landmark_problems(face, m, cfg)
    if not problems and abs(m["nose_shift"]) > cfg.profile_nose_shift:
        doubts.append("near-profile")
    return FaceCheck(face, tuple(problems), tuple(doubts), {k: round(v, 3) for k, v in m.items()})


def _confirm_box(image: np.ndarray, face: Face, cfg: PlausibilityConfig) -> bool:
    """Whether MTCNN finds a plausible five-point face centred inside ``face``'s box."""
    import cv2

    from facscope.face.detect import detect_faces

    b = face.box
    cx, cy, half = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2, 0.8 * max(b.width, b.height)
    h, w = image.shape[:2]
    x1, y1 = max(0, int(cx - half)), max(0, int(cy - half))
    x2, y2 = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    crop = image[y1:y2, x1:x2]
    if crop.size == 0:
        return False
    s = max(1.0, 160 / min(crop.shape[:2]))
    if s > 1:
        crop = cv2.resize(crop, (round(crop.shape[1] * s), round(crop.shape[0] * s)))
    back = np.array([[1 / s, 0, x1], [0, 1 / s, y1], [0, 0, 1.0]])
    for found in detect_faces(crop, detector="mtcnn", max_side=None):
        mapped = found.mapped(back)
        fx, fy = (mapped.box.x1 + mapped.box.x2) / 2, (mapped.box.y1 + mapped.box.y2) / 2
        if b.x1 <= fx <= b.x2 and b.y1 <= fy <= b.y2 and check_face(mapped, cfg).plausible:
            return True
    return False


def screen_faces(
    image: np.ndarray, faces: list[Face], config: PlausibilityConfig | None = None
) -> tuple[list[FaceCheck], list[FaceCheck]]:
    """``(kept, rejected)``: every face checked; boxes-only faces confirmed by MTCNN."""
    cfg = config or PlausibilityConfig()
    kept, rejected = [], []
    for face in faces:
        c = check_face(face, cfg)
        boxes_only = face.landmarks is None and cfg.verify_boxes
        if c.plausible and boxes_only and not _confirm_box(image, face, cfg):
            c = FaceCheck(
                face, ("not confirmed: MTCNN finds no five-point face in the box",), c.doubts
            )
        (kept if c.plausible else rejected).append(c)
    return kept, rejected


def find_faces(
    image: np.ndarray,
    *,
    detector: str = "mtcnn",
    config: PlausibilityConfig | None = None,
    check: bool = True,
    **options: object,
) -> Detections:
    """Detect faces (:func:`facscope.face.detect_faces`) and screen them (:func:`screen_faces`).

    ``check=False`` keeps every detection (still marked with its doubts).
    """
    from facscope.face.detect import detect_faces
    from facscope.io import to_rgb_uint8

    rgb = to_rgb_uint8(image)
    faces = detect_faces(rgb, detector=detector, **options)
    if not check:
        return Detections([check_face(f, config) for f in faces], [], detector)
    kept, rejected = screen_faces(rgb, faces, config)
    return Detections(kept, rejected, detector)
