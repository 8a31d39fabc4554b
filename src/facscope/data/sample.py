"""The one sample record every consumer reads (motion, MER, agent, instruction data)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.facs import AU, au_numbers, format_aus, megc3, parse_aus

__all__ = ["APEX_RULES", "KINDS", "TARGETS", "Sample"]

#: How a sample's apex index was obtained.
APEX_RULES = ("annotated", "midpoint", "max-motion", "none")
#: Where a sample's pixels are: a folder of numbered frames, a video file, one image, or a
#: precomputed model input (``flow``: an image whose channels are named, e.g. u, v, strain, or
#: a ``.npy`` / ``.npz`` array).
KINDS = ("frames", "video", "image", "flow")
#: What a dataset's class label is read from: the sample's ``label`` or its ``megc3``.
TARGETS = ("label", "megc3")


@dataclass(frozen=True)
class Sample:
    """One labelled item of a dataset: a clip (frame folder or video) or a still image.

    Frame indices (``onset``, ``apex``, ``offset``) are the dataset's own frame numbers, the last
    integer in each frame's file name (1-based in most ME datasets), not positions in a list.

    Attributes:
        dataset: registry name of the dataset (``casme2``, ``samm``, …). In a composite (MEGC
            2019) each sample keeps the name of the dataset it came from.
        subject: subject id as a string, unique within the dataset (protocols group on
            ``dataset/subject``, see :attr:`group`).
        sample_id: unique within the dataset (``sub01/EP02_01f``).
        frames_dir / video / image / flow: where the pixels are; exactly one is set (``flow``:
            a precomputed model input such as an apex-flow PNG or ``.npy``; how its channels
            are named and scaled travels in ``meta`` as ``flow_channels``, ``flow_order``,
            ``flow_scale``).
        fps: frame rate of the clip (None for images).
        apex_rule: which rule produced ``apex`` (see :data:`APEX_RULES`).
        aus: parsed Action Units (empty when not annotated).
        emotion: the dataset's own label as written (``"repression"``, ``"Happiness"``, ``5``).
        label: the canonical emotion name (:func:`facscope.facs.normalize_emotion`), or None.
            Generic datasets (``folder``, ``csv``) keep a class name that is no emotion as
            written (lower-cased), e.g. ``"pain"``.
        meta: anything else the annotation holds (objective class, part, split, frame count …).
    """

    dataset: str
    subject: str
    sample_id: str
    frames_dir: Path | None = None
    video: Path | None = None
    image: Path | None = None
    fps: float | None = None
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    apex_rule: str = "none"
    aus: tuple[AU, ...] = ()
    emotion: str | None = None
    label: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    flow: Path | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.frames_dir, self.video, self.image, self.flow)) != 1:
            raise ConfigError(
                f"sample {self.sample_id!r}: set exactly one of frames_dir, video, image, flow"
            )
        if self.apex_rule not in APEX_RULES:
            raise ConfigError(f"apex_rule must be one of {APEX_RULES}; got {self.apex_rule!r}")
        if self.fps is not None and self.fps <= 0:
            raise ConfigError(f"sample {self.sample_id!r}: fps must be > 0; got {self.fps}")
        if self.onset is not None and self.offset is not None and self.offset < self.onset:
            raise ConfigError(
                f"sample {self.sample_id!r}: offset {self.offset} is before onset {self.onset}"
            )

    @property
    def megc3(self) -> str | None:
        """The MEGC 2019 3-class label (negative / positive / surprise); None for "others",
        neutral, no label, or a generic class name that is no emotion."""
        try:
            return megc3(self.label)
        except ConfigError:
            return None

    @property
    def au_string(self) -> str:
        return format_aus(self.aus)

    @property
    def au_set(self) -> frozenset[int]:
        """The AU numbers AU metrics count (:func:`facscope.facs.au_numbers`: action units, not
        ADs, head/eye codes or ``ref(…)``; a group of alternatives as its first code)."""
        return au_numbers(self.aus)

    @property
    def is_clip(self) -> bool:
        return self.image is None and self.flow is None

    @property
    def is_flow(self) -> bool:
        """A precomputed model input (``kind == "flow"``)."""
        return self.flow is not None

    @property
    def kind(self) -> str:
        """``"frames"``, ``"video"``, ``"image"`` or ``"flow"``."""
        if self.flow is not None:
            return "flow"
        return "frames" if self.frames_dir else "video" if self.video else "image"

    @property
    def path(self) -> Path:
        """The frames folder, video, image or flow file, whichever is set."""
        return self.frames_dir or self.video or self.image or self.flow  # type: ignore[return-value]

    @property
    def group(self) -> str:
        """``dataset/subject``: the key protocols split on (unique across a composite)."""
        return f"{self.dataset}/{self.subject}"

    @property
    def n_frames(self) -> int | None:
        """Frames from onset to offset inclusive, or None when either is unknown."""
        if self.onset is None or self.offset is None:
            return None
        return self.offset - self.onset + 1

    @property
    def duration(self) -> float | None:
        """Seconds from onset to offset (``(offset - onset) / fps``), or None if unknown."""
        if self.onset is None or self.offset is None or not self.fps:
            return None
        return (self.offset - self.onset) / self.fps

    def with_(self, **changes: Any) -> Sample:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able record (paths as strings, AUs as a FACS string).

        Meta values that are not str/int/float/bool/None are written as JSON text.
        """
        return {
            "dataset": self.dataset,
            "subject": self.subject,
            "sample_id": self.sample_id,
            "path": str(self.path),
            "kind": self.kind,
            "fps": self.fps,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "apex_rule": self.apex_rule,
            "aus": self.au_string,
            "emotion": None if self.emotion is None else str(self.emotion),
            "label": self.label,
            "megc3": self.megc3,
            **{f"meta.{k}": _flat(v) for k, v in self.meta.items()},
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Sample:
        """Inverse of :meth:`to_dict` (derived keys such as ``megc3`` are ignored)."""
        kind = record.get("kind") or "image"
        if kind not in KINDS:
            raise ConfigError(f"sample kind must be one of {KINDS}; got {kind!r}")
        path = Path(record["path"])
        meta = {k[5:]: v for k, v in record.items() if k.startswith("meta.")}
        return cls(
            dataset=str(record["dataset"]),
            subject=str(record["subject"]),
            sample_id=str(record["sample_id"]),
            **{"frames_dir" if kind == "frames" else kind: path},
            fps=None if record.get("fps") is None else float(record["fps"]),
            onset=_opt_int(record.get("onset")),
            apex=_opt_int(record.get("apex")),
            offset=_opt_int(record.get("offset")),
            apex_rule=record.get("apex_rule") or "none",
            aus=parse_aus(record.get("aus")),
            emotion=record.get("emotion"),
            label=record.get("label"),
            meta=meta,
        )


def _flat(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)
