"""The one sample record every consumer reads (motion, MER, agent, instruction data)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.facs import AU, format_aus, megc3

__all__ = ["APEX_RULES", "Sample"]

#: How a sample's apex index was obtained.
APEX_RULES = ("annotated", "midpoint", "max-motion", "none")


@dataclass(frozen=True)
class Sample:
    """One labelled item of a dataset: a clip (frame folder or video) or a still image.

    Frame indices (``onset``, ``apex``, ``offset``) are the dataset's own frame numbers, the last
    integer in each frame's file name (1-based in most ME datasets), not positions in a list.

    Attributes:
        dataset: registry name of the dataset (``casme2``, ``samm``, …).
        subject: subject id as a string, unique within the dataset (protocols group on it).
        sample_id: unique within the dataset (``sub01/EP02_01f``).
        frames_dir / video / image: where the pixels are; exactly one is set.
        fps: frame rate of the clip (None for images).
        apex_rule: which rule produced ``apex`` (see :data:`APEX_RULES`).
        aus: parsed Action Units (empty when not annotated).
        emotion: the dataset's own label as written (``"repression"``, ``"Happiness"``, ``5``).
        label: the canonical emotion name (:func:`facscope.facs.normalize_emotion`), or None.
        meta: anything else the annotation holds (objective class, part, …).
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

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.frames_dir, self.video, self.image)) != 1:
            raise ConfigError(
                f"sample {self.sample_id!r}: set exactly one of frames_dir, video, image"
            )
        if self.apex_rule not in APEX_RULES:
            raise ConfigError(f"apex_rule must be one of {APEX_RULES}; got {self.apex_rule!r}")
        if self.fps is not None and self.fps <= 0:
            raise ConfigError(f"sample {self.sample_id!r}: fps must be > 0; got {self.fps}")

    @property
    def megc3(self) -> str | None:
        """The MEGC 2019 3-class label (negative / positive / surprise), None for "others"."""
        return megc3(self.label)

    @property
    def au_string(self) -> str:
        return format_aus(self.aus)

    @property
    def is_clip(self) -> bool:
        return self.image is None

    def with_(self, **changes: Any) -> Sample:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able record (paths as strings, AUs as a FACS string)."""
        return {
            "dataset": self.dataset,
            "subject": self.subject,
            "sample_id": self.sample_id,
            "path": str(self.frames_dir or self.video or self.image),
            "kind": "frames" if self.frames_dir else "video" if self.video else "image",
            "fps": self.fps,
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "apex_rule": self.apex_rule,
            "aus": self.au_string,
            "emotion": self.emotion,
            "label": self.label,
            "megc3": self.megc3,
            **{f"meta.{k}": v for k, v in self.meta.items()},
        }
