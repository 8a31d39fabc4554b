"""Base faces and appearance changes for synthetic clips.

A *base* is a real face image with its detected five landmarks: the embedded astronaut portrait
(:func:`facscope.embedded.default_image`) or one of scikit-image's LFW faces
(:func:`facscope.embedded.lfw_faces`, 25×25 grayscale, upscaled ×4 with cubic interpolation and
padded 20 px by edge replication so that MTCNN finds it). An :class:`Appearance` turns one base
into many synthetic subjects: mirror, brightness, contrast, colour cast, blur, and the face's
size, tilt and position in the frame. :func:`place_face` renders the neutral frame and gives the
face's box and landmarks in it exactly, from the base's landmarks and the placement transform.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from facscope.errors import ConfigError, FaceNotFoundError
from facscope.types import BBox, Face, apply_transform, invert

__all__ = [
    "LFW_FACES",
    "Appearance",
    "SynthBase",
    "base_names",
    "load_base",
    "place_face",
]

#: Number of real faces in scikit-image's LFW subset (the other 100 crops are non-faces).
LFW_FACES = 100
#: Canonical (unit-square) point placed at the frame centre: the middle of the face.
_FACE_CENTRE = (0.5, 0.55)
#: Landmark order after a horizontal mirror (image-left and image-right swap).
_MIRROR_ORDER = [1, 0, 2, 4, 3]


@dataclass(frozen=True, eq=False)
class SynthBase:
    """A real face image (RGB ``uint8``), the face detected in it (with landmarks), and the
    part of the image that holds real content (``valid``; None: all of it). Outside ``valid``
    a placed face fades into a plain background."""

    image: np.ndarray = field(repr=False)
    face: Face
    name: str
    valid: BBox | None = None

    def __post_init__(self) -> None:
        if self.face.landmarks is None:
            raise ConfigError(
                f"base {self.name!r}: the face has no landmarks; use a landmark detector (mtcnn)"
            )


def base_names() -> list[str]:
    """Names :func:`load_base` accepts: ``astronaut`` and ``lfw:0`` … ``lfw:99``."""
    return ["astronaut", *(f"lfw:{i}" for i in range(LFW_FACES))]


@functools.lru_cache(maxsize=128)
def _named_base(name: str) -> SynthBase:
    import cv2

    from facscope.embedded import default_image, lfw_faces

    if name == "astronaut":
        return from_image(default_image(), name)
    idx = name.split(":", 1)[1]
    if not (idx.isdigit() and int(idx) < LFW_FACES):
        raise ConfigError(f"base must be one of 'astronaut', 'lfw:0'..'lfw:99'; got {name!r}")
    crop = lfw_faces()[int(idx)]
    big = cv2.resize(crop, (100, 100), interpolation=cv2.INTER_CUBIC)
    big = cv2.copyMakeBorder(big, 20, 20, 20, 20, cv2.BORDER_REPLICATE)
    return from_image(np.repeat(big[:, :, None], 3, axis=2), name, valid=BBox(20, 20, 120, 120))


def from_image(image: np.ndarray, name: str = "image", *, valid: BBox | None = None) -> SynthBase:
    """Detect the largest face in ``image`` (MTCNN) and make it a base."""
    from facscope.face import detect_faces
    from facscope.io import to_rgb_uint8

    rgb = to_rgb_uint8(image)
    faces = detect_faces(rgb)
    if not faces:
        raise FaceNotFoundError(
            f"base {name!r}: no face found; give a frontal face image or another base"
        )
    rgb.setflags(write=False)
    return SynthBase(rgb, faces[0], name, valid)


def load_base(base: str | np.ndarray | SynthBase | None = None) -> SynthBase:
    """A base from a name (:func:`base_names`), an RGB image, a ready base, or None (astronaut).

    Named bases are detected once per process and cached.
    """
    if base is None:
        return _named_base("astronaut")
    if isinstance(base, SynthBase):
        return base
    if isinstance(base, str):
        key = base.strip().lower()
        if key != "astronaut" and not key.startswith("lfw:"):
            raise ConfigError(f"base must be one of 'astronaut', 'lfw:N' (0..99); got {base!r}")
        return _named_base(key)
    return from_image(np.asarray(base))


@dataclass(frozen=True, kw_only=True)
class Appearance:
    """How a base face is changed into a synthetic subject (identity by default).

    Attributes:
        mirror: flip the face horizontally (the subject's left becomes the viewer's left).
        brightness: added to every channel, in grey levels.
        contrast: gain about the image mean.
        color: per-channel (R, G, B) gains, a colour cast.
        blur: Gaussian blur sigma in pixels of the frame (0: none).
        scale: face size relative to the configured ``face_scale``.
        rotation: in-plane tilt of the face in degrees (counter-clockwise on screen).
        shift: face centre offset as fractions of the frame's (width, height).
    """

    mirror: bool = False
    brightness: float = 0.0
    contrast: float = 1.0
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    blur: float = 0.0
    scale: float = 1.0
    rotation: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not 0.2 <= self.contrast <= 5:
            raise ConfigError(f"contrast must be in [0.2, 5]; got {self.contrast}")
        if len(self.color) != 3 or not all(0.2 <= g <= 5 for g in self.color):
            raise ConfigError(f"color must be three gains in [0.2, 5]; got {self.color}")
        if not 0 <= self.blur <= 20:
            raise ConfigError(f"blur sigma must be in [0, 20] pixels; got {self.blur}")
        if not 0.25 <= self.scale <= 4:
            raise ConfigError(f"scale must be in [0.25, 4]; got {self.scale}")
        if abs(self.rotation) > 45:
            raise ConfigError(f"rotation must be within ±45 degrees; got {self.rotation}")
        if len(self.shift) != 2 or not all(abs(s) <= 0.4 for s in self.shift):
            raise ConfigError(f"shift must be two fractions within ±0.4; got {self.shift}")
        object.__setattr__(self, "color", tuple(float(g) for g in self.color))
        object.__setattr__(self, "shift", tuple(float(s) for s in self.shift))

    @classmethod
    def random(cls, rng: np.random.Generator, *, strength: float = 1.0) -> Appearance:
        """A plausible random subject: mirror half the time, ±20 grey levels, contrast ×0.8–1.2,
        a ±8 % colour cast, blur up to 1 px, size ×0.9–1.1, tilt ±4°, offset ±4 %, all scaled by
        ``strength``."""
        s = float(strength)
        u = lambda a: float(rng.uniform(-a, a)) * s  # noqa: E731
        return cls(
            mirror=bool(rng.random() < 0.5),
            brightness=u(20),
            contrast=1 + u(0.2),
            color=(1 + u(0.08), 1 + u(0.08), 1 + u(0.08)),
            blur=abs(u(1.0)),
            scale=1 + u(0.1),
            rotation=u(4),
            shift=(u(0.04), u(0.04)),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "mirror": self.mirror,
            "brightness": round(self.brightness, 3),
            "contrast": round(self.contrast, 4),
            "color": [round(g, 4) for g in self.color],
            "blur": round(self.blur, 3),
            "scale": round(self.scale, 4),
            "rotation": round(self.rotation, 3),
            "shift": [round(s, 4) for s in self.shift],
        }

    def photometric(self, image: np.ndarray) -> np.ndarray:
        """Apply brightness, contrast, colour cast and blur to an RGB ``uint8`` image."""
        import cv2

        out = image.astype(np.float32)
        if self.contrast != 1:
            out = (out - out.mean()) * self.contrast + out.mean()
        out = out * np.asarray(self.color, np.float32) + self.brightness
        if self.blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), self.blur)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _placement(
    frame_size: tuple[int, int], face_scale: float, appearance: Appearance
) -> np.ndarray:
    """3×3 map from the unit square of the placed face to frame pixels."""
    w, h = frame_size
    s = face_scale * h * appearance.scale
    t = np.deg2rad(appearance.rotation)
    c, sn = np.cos(t), np.sin(t)
    cx = w / 2 + appearance.shift[0] * w
    cy = h / 2 + appearance.shift[1] * h
    # y points down, so a counter-clockwise tilt on screen is a negative math angle
    rot = np.array([[c, sn], [-sn, c]]) * s
    m = np.eye(3)
    m[:2, :2] = rot
    m[:2, 2] = np.array([cx, cy]) - rot @ np.array(_FACE_CENTRE)
    return m


def place_face(
    base: SynthBase,
    appearance: Appearance | None = None,
    *,
    frame_size: tuple[int, int] = (640, 480),
    face_scale: float = 0.8,
    render: bool = True,
) -> tuple[np.ndarray | None, Face, np.ndarray]:
    """Render the neutral frame of a subject and give its face.

    The base face is mapped by its similarity alignment (:func:`facscope.face.align_face`) to
    the unit square, optionally mirrored there, and placed in the frame so that the unit square
    spans ``face_scale`` × the frame height (× ``appearance.scale``).

    Returns:
        ``(frame, face, unit_to_frame)``: the RGB ``uint8`` frame (None when ``render`` is
        false), the face on it (box and landmarks mapped exactly from the base detection), and
        the 3×3 map from the unit square to frame pixels.
    """
    from facscope.face import align_face
    from facscope.face.align import warp

    app = appearance or Appearance()
    w, h = int(frame_size[0]), int(frame_size[1])
    if w < 32 or h < 32:
        raise ConfigError(f"frame size must be at least 32×32; got {w}×{h}")
    if not 0.1 <= face_scale <= 2:
        raise ConfigError(f"face_scale must be in [0.1, 2]; got {face_scale}")
    aligned = align_face(base.image, base.face, size=256)
    to_unit = np.diag([1 / 256, 1 / 256, 1.0]) @ aligned.forward  # base px → unit square
    mirror = np.array([[-1.0, 0, 1], [0, 1, 0], [0, 0, 1]]) if app.mirror else np.eye(3)
    unit_to_frame = _placement((w, h), face_scale, app)
    base_to_frame = unit_to_frame @ mirror @ to_unit
    landmarks = apply_transform(base_to_frame, base.face.landmarks)
    if app.mirror:
        landmarks = landmarks[_MIRROR_ORDER]
    box = BBox.from_points(apply_transform(base_to_frame, base.face.box.corners()))
    face = Face(box, base.face.score, landmarks)
    if not render:
        return None, face, unit_to_frame
    to_base = invert(base_to_frame)
    frame = warp(base.image, to_base, (w, h), border="replicate")
    frame = _fade_to_background(base, frame, to_base, unit_to_frame)
    return app.photometric(frame), face, unit_to_frame


def _fade_to_background(
    base: SynthBase, frame: np.ndarray, to_base: np.ndarray, unit_to_frame: np.ndarray
) -> np.ndarray:
    """Blend the frame into a plain background (the mean colour of the base's content border,
    brighter toward the top) outside the base's real content, with a soft edge."""
    import cv2

    from facscope.face.align import warp

    bh, bw = base.image.shape[:2]
    valid = base.valid or BBox(0, 0, bw, bh)
    x1, y1, x2, y2 = (round(v) for v in valid.to_list(None))
    content = base.image[y1:y2, x1:x2]
    inside = np.zeros((bh, bw), np.float32)
    inside[y1 + 1 : y2 - 1, x1 + 1 : x2 - 1] = 1.0  # one pixel in, so the edge never streaks
    h, w = frame.shape[:2]
    mask = warp(inside, to_base, (w, h), border="constant")
    if mask.min() >= 1.0:
        return frame
    side = float(np.sqrt(abs(np.linalg.det(unit_to_frame[:2, :2]))))
    mask = cv2.GaussianBlur(
        cv2.erode(mask, None, iterations=max(1, round(side * 0.02))), (0, 0), max(1.0, side * 0.02)
    )
    ring = np.concatenate([content[0], content[-1], content[:, 0], content[:, -1]])
    colour = ring.reshape(-1, 3).mean(0).astype(np.float32)
    ramp = np.linspace(1.08, 0.92, h, dtype=np.float32)[:, None, None]
    background = np.clip(colour * ramp, 0, 255)
    out = mask[..., None] * frame.astype(np.float32) + (1 - mask[..., None]) * background
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
