"""One input, every face: detect and screen once, run one episode per chosen face, and give
one row per face for tables.

:func:`analyze` is what ``facscope analyze`` runs on each image: the faces are found by the
agent's detector and screened (:mod:`facscope.face.plausibility`); ``face="all"`` runs one
episode per kept face (batched together), ``"largest"`` or an index runs one. With no face the
result is a single ``no_face`` row and no emotion is guessed. :meth:`Analysis.rows` flattens it
into the columns of :data:`ROW_COLUMNS` (``results.csv``, the DataFrame API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facscope.agent.inputs import as_rgb, clip_frames
from facscope.agent.loop import Agent, AgentInput
from facscope.agent.trace import Episode
from facscope.errors import ConfigError
from facscope.facs import EMOTIONS
from facscope.types import LANDMARK_NAMES

__all__ = ["ROW_COLUMNS", "Analysis", "analyze", "failed_row", "parse_face", "select_faces"]

#: The columns of one row per face (``results.csv``, :func:`facscope.analyze_images`).
ROW_COLUMNS: tuple[str, ...] = (
    "input", "face", "faces_found", "status", "reason", "emotion",
    *(f"p_{e}" for e in EMOTIONS),
    "aus", "au_basis", "x1", "y1", "x2", "y2", "score",
    *(f"{n}_{c}" for n in LANDMARK_NAMES for c in "xy"),
    "doubts", "rejected", "turns", "tool_calls", "seconds", "error",
)  # fmt: skip


def parse_face(which: str | int) -> str | int:
    """``all``, ``largest`` or a 0-based face index (largest face first)."""
    if isinstance(which, int) and not isinstance(which, bool):
        if which < 0:
            raise ConfigError(f"--face index must be >= 0; got {which}")
        return which
    text = str(which).strip().lower()
    if text in ("all", "largest"):
        return text
    if text.isdigit():
        return int(text)
    raise ConfigError(
        f"--face must be 'all', 'largest' or a face index (0 = largest); got {which!r}"
    )


def select_faces(count: int, which: str | int, name: str = "the image") -> list[int]:
    """The indices of the faces to analyse among ``count`` found (an index past them is an
    error that names how many there are)."""
    which = parse_face(which)
    if which == "all":
        return list(range(count))
    if which == "largest":
        return [0] if count else []
    if count and which >= count:
        raise ConfigError(
            f"--face {which}: {name} has {count} face(s), indices 0..{count - 1}; "
            "use --face all to analyse each"
        )
    return [which] if count else []


@dataclass
class Analysis:
    """The faces of one input and one episode per analysed face (one ``no_face`` episode when
    none was found)."""

    name: str
    image: np.ndarray
    detections: Any
    episodes: list[Episode]
    is_clip: bool = False
    labels: dict[str, Any] = field(default_factory=dict)

    @property
    def faces_found(self) -> int:
        return len(self.detections.kept)

    @property
    def status(self) -> str:
        """``no_face``, ``failed`` (every analysed face failed) or ``ok``."""
        statuses = [e.status for e in self.episodes]
        if not statuses or all(s == "no_face" for s in statuses):
            return "no_face"
        return "failed" if all(s == "failed" for s in statuses) else "ok"

    def rows(self) -> list[dict[str, Any]]:
        """One row per analysed face (:data:`ROW_COLUMNS`)."""
        return [episode_row(self.name, e, self.detections) for e in self.episodes]


def _landmark_columns(landmarks: Any) -> dict[str, Any]:
    pts = landmarks if landmarks is not None else [[None, None]] * len(LANDMARK_NAMES)
    return {f"{n}_{c}": p[k] for n, p in zip(LANDMARK_NAMES, pts) for k, c in enumerate("xy")}


def episode_row(name: str, episode: Episode, detections: Any) -> dict[str, Any]:
    """The table row of one episode."""
    s = episode.summary()
    box = s.get("box") or [None] * 4
    probs = s.get("probabilities") or {}
    row = {
        "input": name,
        "face": s.get("face"),
        "faces_found": len(detections.kept) if detections is not None else s.get("faces_found"),
        "status": s["status"],
        "reason": s["reason"],
        "emotion": s["emotion"],
        **{f"p_{e}": probs.get(e) for e in EMOTIONS},
        "aus": None if s["aus"] is None else "+".join(str(a) for a in s["aus"]),
        "au_basis": s["au_basis"],
        **dict(zip(("x1", "y1", "x2", "y2"), box)),
        "score": s.get("score"),
        **_landmark_columns(episode.face.get("landmarks")),
        "doubts": "; ".join(s.get("doubts") or []) or None,
        "rejected": len(detections.rejected) if detections is not None else None,
        "turns": s["turns"],
        "tool_calls": s["tool_calls"],
        "seconds": s["seconds"],
        "error": s["error"],
    }
    return {k: row.get(k) for k in ROW_COLUMNS}


def failed_row(name: str, error: str) -> dict[str, Any]:
    """The row of an input that could not be analysed at all (unreadable file, …)."""
    row = dict.fromkeys(ROW_COLUMNS)
    row.update(input=name, status="failed", reason=error, error=error)
    return row


def _detect(agent: Agent, image: np.ndarray) -> Any:
    from facscope.face.detect import detector_options
    from facscope.face.plausibility import find_faces

    tools = agent.config.tools
    return find_faces(
        image,
        detector=tools.detector,
        check=tools.check_faces,
        **detector_options(tools.detector, tools.detector_model),
    )


def analyze(
    agent: Agent,
    image: Any = None,
    *,
    clip: Any = None,
    onset: int | None = None,
    apex: int | None = None,
    name: str = "",
    face: str | int = "all",
    labels: dict[str, Any] | None = None,
) -> Analysis:
    """Analyse every chosen face of one image (or of a clip's apex frame).

    Args:
        agent: the agent (its tools' detector finds the faces).
        image: an RGB array, PIL image or path; or give ``clip`` (with ``onset``/``apex``).
        name: the input's name in rows and reports.
        face: ``all`` (one episode per face), ``largest`` or a face index.
        labels: kept in each episode's trace.
    """
    if clip is not None:
        _, shown = clip_frames(clip, onset, apex)
    elif image is not None:
        shown = image = as_rgb(image)
    else:
        raise ConfigError("analyze needs an image or a clip")
    detections = _detect(agent, shown)
    chosen = select_faces(len(detections.kept), face, name or "the image")
    base = {"image": image, "clip": clip, "onset": onset, "apex": apex, "name": name}
    items = [
        AgentInput(**base, labels=dict(labels or {}), detections=detections, focus=i)
        for i in chosen
    ] or [AgentInput(**base, labels=dict(labels or {}), detections=detections)]
    episodes = agent.run_batch(items)
    return Analysis(name, shown, detections, episodes, clip is not None, dict(labels or {}))
