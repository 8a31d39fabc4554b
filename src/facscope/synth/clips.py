"""Synthetic micro-expression clips with known flow, apex, AUs and emotion.

:func:`synth_clip` takes a real face (:mod:`facscope.synth.base`), places it in a frame,
and moves it with the displacement field of an AU combination
(:mod:`facscope.synth.fields`) along an onset → apex → offset profile: raised-cosine
ramps whose durations are given in seconds and converted with the frame rate. The field is
defined on the aligned face's unit square and mapped into frame pixels through the onset
frame's alignment transform (:func:`facscope.face.align_face`), so displacement vectors scale
and rotate with the face. Optional head motion (a smooth global translation and rotation),
sensor noise and illumination flicker make the clips harder.

Rendering is backward warping: frame ``t`` shows the onset content at ``p`` moved to
``p + a(t)·d(p)``, so each output pixel ``q`` needs ``p = q − a(t)·d(p)``, found by fixed-point
iteration (it converges because the fields are smooth: their gradient stays below 0.2 per pixel
of amplitude). The clip's ``flow`` is the true onset → apex motion in OpenCV's convention:
``onset[y, x] ≈ apex[y + flow[y, x, 1], x + flow[y, x, 0]]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from facscope.config import check_range
from facscope.errors import ConfigError
from facscope.facs import AU, EMOTION_PROTOTYPES, infer_emotion, normalize_emotion
from facscope.synth.base import Appearance, SynthBase, load_base, place_face
from facscope.synth.fields import REFERENCE_SIZE, ExpressionField, supported_aus, to_aus
from facscope.synth.render import render
from facscope.synth.truth import ClipTruth
from facscope.types import Face, apply_transform

__all__ = ["EXTRA_PROTOTYPES", "SynthClip", "SynthConfig", "emotion_aus", "synth_clip"]

#: AU sets for labels without an EMFACS prototype (CASME II's "repression", "others").
EXTRA_PROTOTYPES: dict[str, tuple[frozenset[int], ...]] = {
    "repression": (frozenset({14, 17}), frozenset({15, 17}), frozenset({14}), frozenset({24})),
    "others": (frozenset({4}), frozenset({7}), frozenset({1, 2}), frozenset({4, 7})),
    "neutral": (frozenset(),),
}
_INTENSITIES = ("A", "B", "C", "D", "E")


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """Everything that defines a synthetic clip besides its base face and appearance.

    Attributes:
        aus: the AUs (``"1+2+L12"``, numbers, :class:`~facscope.facs.AU` records); None takes
            the emotion's prototype.
        emotion: emotion label (any spelling :func:`~facscope.facs.normalize_emotion` knows, or
            ``repression``/``others``); None with ``aus`` infers it, None with neither is
            ``happiness``.
        vary: pick a random prototype variant, random intensities and sometimes one side (for
            datasets); False uses the first prototype as is.
        amplitude: peak displacement of the expression, in pixels of a 256-px aligned face.
        fps: frame rate.
        rise, fall: onset → apex and apex → offset durations in seconds.
        lead_in, lead_out: still frames before the onset and after the offset, in seconds.
        frame_size: (width, height) of the frames.
        face_scale: side of the aligned face's square as a fraction of the frame height.
        head_motion: peak global head translation over the clip, in 256-px aligned pixels
            (with a rotation that moves the face outline by up to half as much).
        noise: Gaussian sensor noise sigma, in grey levels, drawn independently per frame.
        flicker: relative amplitude of the global illumination gain (0.02 = ±2 %).
        grayscale: render gray frames (R = G = B), as SAMM's camera gives.
        seed: seeds every random choice (variation, head path, noise, flicker).
    """

    aus: str | tuple[AU, ...] | None = None  # stored as a tuple of AU records
    emotion: str | None = None
    vary: bool = False
    amplitude: float = 1.0
    fps: float = 200.0
    rise: float = 0.15
    fall: float = 0.2
    lead_in: float = 0.0
    lead_out: float = 0.0
    frame_size: tuple[int, int] = (640, 480)
    face_scale: float = 0.8
    head_motion: float = 0.0
    noise: float = 0.0
    flicker: float = 0.0
    grayscale: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.aus is not None:
            aus = to_aus(self.aus)
            object.__setattr__(self, "aus", aus)
            missing = sorted({a.number for a in aus} - set(supported_aus()))
            if missing:
                raise ConfigError(
                    f"AUs {missing} have no synthetic displacement field; supported AUs: "
                    f"{supported_aus()}"
                )
        if not (np.isfinite(self.amplitude) and 0 <= self.amplitude <= 5):
            raise ConfigError(
                f"amplitude must be in [0, 5] pixels at 256 px (MEs move 0.2–3 px); got {self.amplitude}"
            )
        if not (np.isfinite(self.fps) and 1 <= self.fps <= 5000):
            raise ConfigError(f"fps must be in [1, 5000]; got {self.fps}")
        for name in ("rise", "fall"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 < v <= 5):
                raise ConfigError(f"{name} must be in (0, 5] seconds; got {v}")
        for name in ("lead_in", "lead_out"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 <= v <= 5):
                raise ConfigError(f"{name} must be in [0, 5] seconds; got {v}")
        if round(self.rise * self.fps) < 1 or round(self.fall * self.fps) < 1:
            raise ConfigError(
                f"rise ({self.rise} s) and fall ({self.fall} s) must each last at least one frame "
                f"at {self.fps} fps; raise the fps or the durations"
            )
        size = tuple(int(v) for v in self.frame_size)
        if len(size) != 2 or not (32 <= size[0] <= 8192 and 32 <= size[1] <= 8192):
            raise ConfigError(
                f"frame_size must be (width, height) in 32..8192; got {self.frame_size}"
            )
        object.__setattr__(self, "frame_size", size)
        check_range("head_motion", self.head_motion, 0, 50, unit="pixels")
        check_range("noise sigma", self.noise, 0, 100, unit="grey levels")
        check_range("flicker", self.flicker, 0, 1, open_high=True)
        if self.emotion is not None and emotion_key(self.emotion) is None:
            raise ConfigError(
                f"unknown emotion {self.emotion!r}; use a basic emotion, 'repression' or 'others'"
            )

    @property
    def timing(self) -> tuple[int, int, int, int]:
        """(onset, apex, offset, n_frames) as 0-based frame indices and a frame count."""
        onset = round(self.lead_in * self.fps)
        apex = onset + round(self.rise * self.fps)
        offset = apex + round(self.fall * self.fps)
        return onset, apex, offset, offset + round(self.lead_out * self.fps) + 1


@dataclass(frozen=True, eq=False)
class SynthClip(ClipTruth):
    """A synthetic clip and its ground truth.

    Attributes:
        frames: RGB ``uint8`` frames (H, W, 3).
        fps: frame rate.
        onset, apex, offset: 0-based indices into ``frames``.
        flow: true onset → apex flow in frame pixels, (H, W, 2) float32, OpenCV convention
            (``onset[y, x] ≈ apex[y + flow[..., 1], x + flow[..., 0]]``), head motion included.
        expression_flow: the same without head motion.
        canonical_flow: the expression's onset → apex flow on the 256-px aligned face of
            ``face`` (head motion excluded).
        aus: the true AUs.
        emotion: the canonical emotion name.
        face: the face on the onset frame (box and five landmarks, exact).
        profile: the expression's strength a(t) in [0, 1] per frame (1 at the apex).
        amplitude: peak displacement at 256 px.
        base: the base face's name; appearance: how it was changed.
        config: the :class:`SynthConfig` that made the clip.
    """

    expression_flow: np.ndarray = field(repr=False)
    canonical_flow: np.ndarray = field(repr=False)
    aus: tuple[AU, ...]
    emotion: str
    face: Face
    profile: np.ndarray = field(repr=False)
    amplitude: float
    base: str
    appearance: Appearance
    config: SynthConfig = field(repr=False)

    def __len__(self) -> int:
        return len(self.frames)


def emotion_key(label: str) -> str | None:
    """Canonical name of an emotion label, including ``repression``/``others``; None if unknown."""
    canonical = normalize_emotion(label)
    ok = canonical in EMOTION_PROTOTYPES or canonical in EXTRA_PROTOTYPES
    return canonical if ok else None


def emotion_aus(emotion: str, rng: np.random.Generator | None = None) -> tuple[AU, ...]:
    """The AUs of ``emotion``'s first prototype, or a random variation of them with ``rng``.

    Without ``rng``: the first prototype (EMFACS, :data:`~facscope.facs.EMOTION_PROTOTYPES`),
    bilateral, intensity not coded, except contempt, which is unilateral (``R12+R14``) as in
    EMFACS. With ``rng``: the first prototype 60 % of the time, else another variant; each AU
    gets a random intensity B–E; one lateral-capable AU becomes unilateral 15 % of the time and
    contempt's side is random.
    """
    key = emotion_key(emotion)
    if key is None:
        raise ConfigError(
            f"no AU prototype for {emotion!r}; use a basic emotion, 'repression' or 'others'"
        )
    protos = EMOTION_PROTOTYPES.get(key) or EXTRA_PROTOTYPES[key]
    if rng is None:
        side = "R" if key == "contempt" else None
        return tuple(AU(n, side=side) for n in sorted(protos[0]))
    proto = (
        protos[0]
        if len(protos) == 1 or rng.random() < 0.6
        else protos[rng.integers(1, len(protos))]
    )
    numbers = sorted(proto)
    sides: list[str | None] = [None] * len(numbers)
    if key == "contempt":
        sides = [str(rng.choice(["L", "R"]))] * len(numbers)
    elif numbers and rng.random() < 0.15:
        lateral = [i for i, n in enumerate(numbers) if n in (2, 6, 7, 10, 12, 14, 15, 20)]
        if lateral:
            sides[int(rng.choice(lateral))] = str(rng.choice(["L", "R"]))
    return tuple(
        AU(n, side=s, intensity=_INTENSITIES[int(rng.integers(1, 5))])
        for n, s in zip(numbers, sides)
    )


def _raised_cosine(n: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Strength per frame: 0 before the onset, a raised-cosine rise to 1 at the apex, a
    raised-cosine fall to 0 at the offset, 0 after."""
    t = np.arange(n, dtype=np.float64)
    a = np.zeros(n)
    up = (t >= onset) & (t <= apex)
    a[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - onset) / max(apex - onset, 1))
    down = (t > apex) & (t <= offset)
    a[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - apex) / max(offset - apex, 1))
    return a


def _smooth_path(rng: np.random.Generator, times: np.ndarray, dims: int) -> np.ndarray:
    """A smooth random path (len(times), dims), zero at times[0], peak norm 1 (or all zero)."""
    path = np.zeros((len(times), dims))
    for _ in range(2):
        freq = rng.uniform(0.5, 3.0)
        phase = rng.uniform(0, 2 * np.pi)
        path += np.outer(np.sin(2 * np.pi * freq * times + phase), rng.normal(size=dims))
    path -= path[0]
    peak = np.linalg.norm(path, axis=1).max()
    return path / peak if peak > 1e-12 else path


def _head_transforms(
    cfg: SynthConfig, rng: np.random.Generator, n: int, onset: int, centre: np.ndarray, px: float
) -> list[np.ndarray]:
    """Per-frame 3×3 head transforms in pixel-index coordinates (identity at the onset).

    ``px`` is the frame size of one 256-px aligned pixel.
    """
    eye = [np.eye(3)] * n
    if cfg.head_motion == 0:
        return eye
    times = (np.arange(n) - onset) / cfg.fps
    order = np.r_[onset:n, 0:onset]  # the path starts (is zero) at the onset
    shift = np.empty((n, 2))
    shift[order] = _smooth_path(rng, times[order], 2) * cfg.head_motion * px
    angle = np.empty(n)
    # rotation that moves a point 100 aligned pixels from the centre by half the head motion
    angle[order] = _smooth_path(rng, times[order], 1)[:, 0] * 0.5 * cfg.head_motion / 100
    out = []
    for (tx, ty), th in zip(shift, angle):
        c, s = np.cos(th), np.sin(th)
        m = np.array([[c, -s, 0.0], [s, c, 0.0], [0, 0, 1]])
        m[:2, 2] = centre - m[:2, :2] @ centre + (tx, ty)
        out.append(m)
    return out


def _gains(cfg: SynthConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    """Illumination gain per frame: mains-lamp flicker (100 Hz) plus a slow drift, ±flicker."""
    if cfg.flicker == 0:
        return np.ones(n)
    t = np.arange(n) / cfg.fps
    slow = rng.uniform(2, 8)
    u = 0.5 * np.sin(2 * np.pi * 100 * t + rng.uniform(0, 2 * np.pi))
    u += 0.5 * np.sin(2 * np.pi * slow * t + rng.uniform(0, 2 * np.pi))
    return 1 + cfg.flicker * u


def _resolve_content(cfg: SynthConfig, rng: np.random.Generator) -> tuple[tuple[AU, ...], str]:
    aus = to_aus(cfg.aus)
    if cfg.aus is None:
        emotion = emotion_key(cfg.emotion or "happiness") or "happiness"
        aus = emotion_aus(emotion, rng if cfg.vary else None)
    else:
        emotion = emotion_key(cfg.emotion) if cfg.emotion else infer_emotion(aus)
    return aus, str(emotion)


def synth_clip(
    base: str | np.ndarray | SynthBase | None = None,
    *,
    aus: str | Iterable[AU | int] | None = None,
    emotion: str | None = None,
    amplitude: float = 1.0,
    fps: float = 200,
    frame_size: tuple[int, int] = (640, 480),
    head_motion: float = 0.0,
    noise: float = 0.0,
    flicker: float = 0.0,
    seed: int = 0,
    appearance: Appearance | None = None,
    config: SynthConfig | None = None,
    **options: object,
) -> SynthClip:
    """Render a synthetic micro-expression clip with its true flow, apex, AUs and emotion.

    Args:
        base: the face: None (the embedded astronaut), a name (``"lfw:3"``), an RGB image (its
            largest face is detected) or a :class:`~facscope.synth.base.SynthBase`.
        aus, emotion, amplitude, fps, frame_size, head_motion, noise, flicker, seed: see
            :class:`SynthConfig`.
        appearance: how the base is changed into a subject (identity by default).
        config: a ready :class:`SynthConfig`; the keyword arguments above are then ignored.
        **options: other :class:`SynthConfig` fields (``rise``, ``fall``, ``vary``, …).

    Example:
        >>> clip = synth_clip(emotion="happiness", amplitude=1.5, frame_size=(320, 240))
        >>> clip.apex, clip.flow.shape
        (30, (240, 320, 2))
    """
    if config is None:
        config = SynthConfig(
            aus=None if aus is None else to_aus(aus),
            emotion=emotion,
            amplitude=amplitude,
            fps=fps,
            frame_size=frame_size,
            head_motion=head_motion,
            noise=noise,
            flicker=flicker,
            seed=seed,
            **options,
        )
    rng = np.random.default_rng(config.seed)
    true_aus, true_emotion = _resolve_content(config, rng)
    field_ = ExpressionField(true_aus, config.amplitude)
    src = load_base(base)
    app = appearance or Appearance()
    neutral, face, unit_to_frame = place_face(
        src, app, frame_size=config.frame_size, face_scale=config.face_scale
    )
    assert neutral is not None
    if config.grayscale:
        neutral = np.repeat(neutral.mean(axis=2, keepdims=True).round().astype(np.uint8), 3, 2)
    onset, apex, offset, n = config.timing
    profile = _raised_cosine(n, onset, apex, offset)
    centre = apply_transform(unit_to_frame, [(0.5, 0.55)])[0] - 0.5  # pixel-index coordinates
    px = float(np.sqrt(abs(np.linalg.det(unit_to_frame[:2, :2])))) / REFERENCE_SIZE
    heads = _head_transforms(config, rng, n, onset, centre, px)
    gains = _gains(config, rng, n)
    frames, flow, expr_flow = render(
        neutral,
        face,
        field_,
        profile,
        heads,
        gains,
        apex,
        rng,
        noise=config.noise,
        grayscale=config.grayscale,
    )
    return SynthClip(
        frames=frames,
        fps=float(config.fps),
        onset=onset,
        apex=apex,
        offset=offset,
        flow=flow,
        expression_flow=expr_flow,
        canonical_flow=field_.grid(REFERENCE_SIZE),
        aus=true_aus,
        emotion=true_emotion,
        face=face,
        profile=profile,
        amplitude=float(config.amplitude),
        base=src.name,
        appearance=app,
        config=config,
    )
