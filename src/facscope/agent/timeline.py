"""A video (or frame folder) as a timeline: per sampled frame, per face, emotion and AUs.

:func:`video_timeline` samples a :class:`~facscope.motion.clip.Clip` (every frame, or ``fps``
samples per second of video), detects every face in each sampled frame, aligns it and reads the
offline FER2013 classifier's seven probabilities (:func:`facscope.face.classify_emotion`). The
AUs of a row are the EMFACS prototype of its top emotion — *inferred* from the emotion, not
measured (``au_basis = "inferred"``; measuring AUs per frame is another issue). A sampled frame
without a face is one row with ``status = "no_face"`` and no emotion, never a guess.

:meth:`Timeline.write` puts ``timeline.csv``, ``timeline.png`` (the probabilities of the largest
face over time, frames without a face shaded; drawn with OpenCV, no plotting library needed) and
a self-contained ``report.html`` into a folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.face.emotion import EMOTION_CLASSES as EMOTIONS  # the classifier's seven

__all__ = ["TIMELINE_COLUMNS", "Timeline", "TimelineConfig", "TimelineRow", "video_timeline"]

#: Columns of ``timeline.csv`` (one ``p_<emotion>`` per class of the classifier).
TIMELINE_COLUMNS = (
    "frame",
    "time_s",
    "face",
    "faces",
    "status",
    "x1",
    "y1",
    "x2",
    "y2",
    "score",
    "emotion",
    *(f"p_{e}" for e in EMOTIONS),
    "aus",
    "au_basis",
)

#: Line colours (RGB) of the plot, one per emotion.
_COLOURS = {
    "anger": (214, 39, 40),
    "disgust": (140, 86, 75),
    "fear": (148, 103, 189),
    "happiness": (255, 160, 0),
    "sadness": (31, 119, 180),
    "surprise": (44, 160, 44),
    "neutral": (127, 127, 127),
}


@dataclass(frozen=True, kw_only=True)
class TimelineConfig:
    """How a video is sampled and read.

    Attributes:
        fps: samples per second of video (None: every frame). Needs the clip's frame rate.
        detector: face detector name.
        detect_max_side: frames are downscaled to this longest side for detection only.
        aligned_size: side of the aligned face the classifier reads.
    """

    fps: float | None = None
    detector: str = "mtcnn"
    detect_max_side: int | None = 640
    aligned_size: int = 256

    def __post_init__(self) -> None:
        if self.fps is not None and not (np.isfinite(self.fps) and self.fps > 0):
            raise ConfigError(f"timeline fps must be a positive number; got {self.fps}")


@dataclass(frozen=True)
class TimelineRow:
    """One face in one sampled frame (or the frame's ``no_face`` row)."""

    frame: int
    time_s: float | None
    status: str  # "ok" or "no_face"
    face: int | None = None
    faces: int = 0
    box: tuple[float, float, float, float] | None = None
    score: float | None = None
    emotion: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    aus: tuple[int, ...] = ()
    au_basis: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CSV row (empty cells for what a ``no_face`` row does not have)."""
        box = self.box or (None,) * 4
        row: dict[str, Any] = {
            "frame": self.frame,
            "time_s": None if self.time_s is None else round(self.time_s, 4),
            "face": self.face,
            "faces": self.faces,
            "status": self.status,
            **{
                k: None if v is None else round(float(v), 2)
                for k, v in zip(["x1", "y1", "x2", "y2"], box)
            },
            "score": None if self.score is None else round(self.score, 4),
            "emotion": self.emotion,
        }
        for e in EMOTIONS:
            p = self.probabilities.get(e)
            row[f"p_{e}"] = None if p is None else round(p, 4)
        row["aus"] = "+".join(str(a) for a in self.aus)
        row["au_basis"] = self.au_basis
        return row


@dataclass
class Timeline:
    """The rows of a sampled video and where it came from."""

    source: str
    rows: list[TimelineRow]
    config: TimelineConfig
    video_fps: float | None = None
    frames: int = 0

    @property
    def sampled(self) -> int:
        return len({r.frame for r in self.rows})

    @property
    def no_face(self) -> int:
        return sum(r.status == "no_face" for r in self.rows)

    def write_csv(self, path: str | Path) -> Path:
        from facscope.io import atomic_path

        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(p) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(TIMELINE_COLUMNS))
            w.writeheader()
            for r in self.rows:
                w.writerow({k: "" if v is None else v for k, v in r.to_dict().items()})
        return p

    def plot(self, *, width: int = 960, height: int = 360) -> np.ndarray:
        """RGB picture: each emotion's probability (largest face) over time."""
        return _plot(self, width, height)

    def write(self, folder: str | Path) -> dict[str, Path]:
        """``timeline.csv``, ``timeline.png`` and ``report.html`` in ``folder``."""
        from facscope.io import save_image, write_text

        out = Path(folder)
        csv_path = self.write_csv(out / "timeline.csv")
        png = save_image(out / "timeline.png", self.plot())
        page = write_text(out / "report.html", _report(self, png))
        return {"csv": csv_path, "plot": png, "report": page}


def _sample_positions(n: int, video_fps: float | None, fps: float | None, source: str) -> range:
    if fps is None:
        return range(n)
    if video_fps is None:
        raise ConfigError(
            f"{source}: the frame rate is unknown, so frames cannot be sampled at {fps:g} per "
            "second; give a video, or sample every frame (no --fps)"
        )
    return range(0, n, max(1, round(video_fps / fps)))


def _face_rows(
    frame: np.ndarray, number: int, t: float | None, cfg: TimelineConfig, classify: Callable
) -> list[TimelineRow]:
    from facscope.face import align_face, detect_faces
    from facscope.facs import prototype_aus

    faces = detect_faces(frame, detector=cfg.detector, max_side=cfg.detect_max_side)
    if not faces:
        return [TimelineRow(frame=number, time_s=t, status="no_face")]
    rows = []
    for i, f in enumerate(faces):
        pred = classify(frame, aligned=align_face(frame, f, size=cfg.aligned_size))
        label = str(pred.label)
        rows.append(
            TimelineRow(
                frame=number,
                time_s=t,
                status="ok",
                face=i,
                faces=len(faces),
                box=tuple(float(v) for v in f.box.to_list()),
                score=float(f.score),
                emotion=label,
                probabilities={k: float(v) for k, v in pred.probabilities.items()},
                aus=tuple(sorted(prototype_aus(label))) if label != "neutral" else (),
                au_basis="inferred",
            )
        )
    return rows


def video_timeline(
    clip: Any,
    config: TimelineConfig | None = None,
    *,
    classifier: Callable[..., Any] | None = None,
    progress: bool = True,
) -> Timeline:
    """Sample ``clip`` and read every face of every sampled frame (see the module docstring).

    Args:
        clip: a :class:`~facscope.motion.clip.Clip`, or a path to a video or frame folder.
        config: sampling and detection options.
        classifier: ``classify(image, aligned=AlignedFace)`` returning ``.label`` and
            ``.probabilities`` (default :func:`facscope.face.classify_emotion`).
        progress: show a tqdm progress bar.
    """
    from tqdm.auto import tqdm

    from facscope.motion.clip import Clip, open_clip

    cfg = config or TimelineConfig()
    if not isinstance(clip, Clip):
        clip = open_clip(clip)
    if classifier is None:
        from facscope.face.emotion import classify_emotion as classifier
    positions = _sample_positions(len(clip), clip.fps, cfg.fps, clip.source)
    rows: list[TimelineRow] = []
    bar = tqdm(total=len(positions), desc="timeline", unit="frame", disable=not progress)
    for pos, frame in _frames(clip, positions):
        number = clip.numbers[pos]
        t = None if clip.fps is None else (number - clip.numbers[0]) / clip.fps
        rows.extend(_face_rows(np.asarray(frame), number, t, cfg, classifier))
        bar.update(1)
    bar.close()
    return Timeline(source=clip.source, rows=rows, config=cfg, video_fps=clip.fps, frames=len(clip))


def _frames(clip: Any, positions: range) -> Iterator[tuple[int, np.ndarray]]:
    """The frames at ``positions`` in one pass (a video decodes once)."""
    wanted = set(positions)
    stop = positions[-1] + 1 if len(positions) else 0
    for pos, frame in enumerate(clip.iter_range(0, stop)):
        if pos in wanted:
            yield pos, frame


def _plot(tl: Timeline, width: int, height: int) -> np.ndarray:
    import cv2

    left, right, top, bottom = 48, 130, 16, 36
    img = np.full((height, width, 3), 255, np.uint8)
    pw, ph = width - left - right, height - top - bottom
    frames = sorted({r.frame for r in tl.rows})
    if not frames:
        return img
    f0, f1 = frames[0], max(frames[-1], frames[0] + 1)

    def x(frame: int) -> int:
        return left + round((frame - f0) / (f1 - f0) * pw)

    def y(p: float) -> int:
        return top + round((1 - p) * ph)

    for r in tl.rows:
        if r.status == "no_face":
            cv2.rectangle(img, (x(r.frame) - 2, top), (x(r.frame) + 2, top + ph), (225,) * 3, -1)
    for p in (0.0, 0.5, 1.0):
        cv2.line(img, (left, y(p)), (left + pw, y(p)), (200,) * 3, 1)
        cv2.putText(img, f"{p:.1f}", (6, y(p) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0,) * 3, 1)
    runs: list[list[TimelineRow]] = [[]]  # the largest face, broken where no face was found
    for r in tl.rows:
        if r.status == "no_face" and runs[-1]:
            runs.append([])
        elif r.face == 0:
            runs[-1].append(r)
    for k, e in enumerate(EMOTIONS):
        for run in runs:
            pts = np.array([(x(r.frame), y(r.probabilities.get(e, 0.0))) for r in run], np.int32)
            if len(pts) > 1:
                cv2.polylines(img, [pts], False, _COLOURS[e], 2, cv2.LINE_AA)
        ly = top + 14 + 18 * k
        cv2.line(img, (width - right + 10, ly - 4), (width - right + 30, ly - 4), _COLOURS[e], 3)
        cv2.putText(img, e, (width - right + 36, ly), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0,) * 3, 1)
    unit = "s" if tl.video_fps else "frame"
    span = (f1 - f0) / tl.video_fps if tl.video_fps else f1 - f0
    label = f"{unit}: 0 .. {span:.2f}" if tl.video_fps else f"frame {f0} .. {f1}"
    cv2.putText(
        img, label + " (grey: no face)", (left, height - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
        (0,) * 3, 1,
    )  # fmt: skip
    return img


def _report(tl: Timeline, png: Path) -> str:
    import html

    from facscope.agent.report import data_url
    from facscope.io import load_image

    rows = [r.to_dict() for r in tl.rows]
    head = "".join(f"<th>{c}</th>" for c in TIMELINE_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[c] or ''))}</td>" for c in TIMELINE_COLUMNS)
        + "</tr>"
        for r in rows
    )  # fmt: skip
    name = html.escape(tl.source)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>facscope timeline: {name}</title><style>body{{font-family:sans-serif}}"
        "td,th{padding:2px 6px;font-size:12px;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>Timeline: {name}</h1><p>{tl.sampled} of {tl.frames} frame(s) sampled"
        f"{'' if tl.config.fps is None else f' at {tl.config.fps:g}/s'}; "
        f"{tl.no_face} without a face; AUs are inferred from the emotion (EMFACS prototype), "
        "not measured.</p>"
        f"<img alt='emotion over time' src='{data_url(load_image(png))}'>"
        f"<table><tr>{head}</tr>{body}</table></body></html>\n"
    )
