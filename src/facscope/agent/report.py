"""A self-contained HTML report of one episode: the image with every box the agent looked at,
each crop it saw, its reasoning turn by turn, and the parsed answer.

Images are embedded as base64 data URLs, so the file opens anywhere with nothing beside it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from facscope.agent.trace import Episode
from facscope.facs import AU_CATALOGUE
from facscope.vlm.backends.openai import encode_image

__all__ = ["annotate_input", "clip_text", "data_url", "render_report", "write_report"]

_COLOURS = {
    "face": (255, 200, 0),
    "aligned": (0, 200, 255),
    "zoom": (255, 60, 60),
    "motion": (180, 0, 255),
}


def data_url(image: Any, *, max_side: int | None = None, fmt: str = "png") -> str:
    """A PIL image or RGB array as a ``data:image/png;base64,…`` (or ``jpeg``) URL."""
    from PIL import Image

    im = image if hasattr(image, "save") else Image.fromarray(np.asarray(image))
    return encode_image(im, fmt=fmt, max_side=max_side, optimize=True)


def annotate_input(episode: Episode) -> np.ndarray:
    """The input image with detected faces, the aligned face's quad and every zoom drawn."""
    import cv2

    out = np.ascontiguousarray(episode.image.copy())
    t = max(1, round(max(out.shape[:2]) / 300))
    font = cv2.FONT_HERSHEY_SIMPLEX

    def label(text: str, x: float, y: float, colour: tuple[int, int, int]) -> None:
        org = (round(x) + 2, max(10, round(y) - 3))
        for c, w in (((0, 0, 0), max(1, t // 2) + 2), (colour, max(1, t // 2))):  # outlined text
            cv2.putText(out, text, org, font, 0.35 * t, c, w, cv2.LINE_AA)

    for r in episode.records:
        if not r.ok:
            continue
        if r.name == "detect_faces":
            for i, f in enumerate(r.data.get("faces", [])):
                x1, y1, x2, y2 = f["box"]
                cv2.rectangle(
                    out, (round(x1), round(y1)), (round(x2), round(y2)), _COLOURS["face"], t
                )
                label(f"face {i}", x1, y1, _COLOURS["face"])
        quad = r.data.get("quad")
        if quad and r.name in ("align_face", "zoom"):
            kind = "aligned" if r.name == "align_face" else "zoom"
            pts = np.round(np.asarray(quad)).astype(np.int32)
            cv2.polylines(out, [pts], True, _COLOURS[kind], t, cv2.LINE_AA)
            if kind == "zoom":  # labels below the box, so nested zooms stay readable
                x, y = pts[:, 0].min(), pts[:, 1].max() + 12 * t
                label(str(r.data.get("target", "zoom")), x, y, _COLOURS[kind])
    return out


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.answer{background:#f4f8ff;border:1px solid #b8cff5;padding:.8em 1em;border-radius:6px}
.failed{background:#fff4f4;border-color:#f0b8b8}
.face{border-top:2px solid #888;margin-top:2em}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.6em;border-radius:4px;font-size:.9em}
.turn{border-left:3px solid #ccc;padding-left:1em;margin:1em 0}
.tool{margin:.5em 0 .5em 1em} .err{color:#b00}
figure{display:inline-block;margin:.4em;vertical-align:top;text-align:center}
figcaption{font-size:.8em;color:#555;max-width:260px}
img.main{max-width:100%;border:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
"""


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _au_list(aus: list[int] | None) -> str:
    if not aus:
        return "none"
    return ", ".join(
        f"AU{a} {AU_CATALOGUE[a].name}" if a in AU_CATALOGUE else f"AU{a}" for a in aus
    )


def _thumbs() -> Any:
    """A data-URL maker for the 260-px pictures of one report: JPEG (a PNG with ``optimize``
    costs ~75 ms a picture), each picture encoded once however often it is shown."""
    cache: dict[int, tuple[Any, str]] = {}

    def url(image: Any) -> str:
        hit = cache.get(id(image))
        if hit is None or hit[0] is not image:
            hit = cache[id(image)] = (image, data_url(image, max_side=260, fmt="jpeg"))
        return hit[1]

    return url


def _measured_note(episode: Episode) -> str:
    """Which answered AUs the model's ``measure_aus`` calls measured present (none called: "")."""
    measured = episode.aus_measured
    if measured is None:
        return ""
    rest = [a for a in (episode.answer.aus or ()) if a not in measured]
    return (
        f"<br><b>Measured by measure_aus:</b> {_esc(_au_list(measured) if measured else 'none')}"
        + (f"; <b>not measured:</b> {_esc(_au_list(rest))}" if rest else "")
    )


def _answer_box(episode: Episode, a: dict[str, Any]) -> str:
    if episode.no_face:
        return (
            "<div class='answer failed noface'><b>No face found.</b> Nothing was analysed, so no "
            f"emotion or AUs are given ({_esc(a.get('reason'))}).</div>"
        )
    cls = "answer failed" if a["status"] == "failed" else "answer"
    basis = f" ({_esc(a['au_basis'])})" if a.get("au_basis") else ""
    doubts = episode.face.get("doubts")
    return (
        f"<div class='{cls}'><b>Emotion:</b> {_esc(a['emotion'])}<br><b>AUs{basis}:</b> "
        f"{_esc(_au_list(a['aus']))}<br><b>Parse status:</b> {_esc(a['status'])}"
        + (f" — {_esc(a['reason'])}" if a.get("reason") else "")
        + (f" (repairs: {_esc(', '.join(a['repairs']))})" if a.get("repairs") else "")
        + (f"<br><b>Doubtful detection:</b> {_esc(', '.join(doubts))}" if doubts else "")
        + _measured_note(episode)
        + "</div>"
    )


def _episode_parts(episode: Episode, trace: dict[str, Any], heading: str = "h2") -> list[str]:
    """The answer, the images the agent saw, its reasoning turn by turn and the timings."""
    a = trace["answer"]
    parts = [_answer_box(episode, a)]
    if episode.clip:
        parts.append(f"<p class='clip'>{_esc(clip_text(episode.clip))}</p>")
    labels = {k: v for k, v in episode.labels.items() if isinstance(v, (str, int, float, list))}
    if labels:
        parts.append(f"<p>Labels: {_esc(labels)}</p>")
    images = episode.images()
    parts.append(f"<{heading}>What the agent looked at</{heading}>")
    parts.append(
        f"<img class='main' alt='input with boxes' src='{data_url(annotate_input(episode), max_side=900, fmt='jpeg')}'>"
    )
    parts.append("<div>")
    thumb = _thumbs()
    for i, t in enumerate(images):
        box = "" if t.box is None else " box [" + ", ".join(f"{v:.0f}" for v in t.box) + "]"
        parts.append(
            f"<figure><img alt='{_esc(t.role)}' src='{thumb(t.image)}'>"
            f"<figcaption>#{i} {_esc(t.role)}: {_esc(t.label)}{_esc(box)}</figcaption></figure>"
        )
    parts.append(f"</div><{heading}>Reasoning, turn by turn</{heading}>")
    parts += _turn_parts(episode, images, thumb)
    parts += _timing_parts(episode, heading)
    return parts


def _turn_parts(episode: Episode, images: list[Any], thumb: Any) -> list[str]:
    parts = []
    by_record = {r: i for i, t in enumerate(images) if (r := t.record) is not None}
    if not episode.turns:
        parts.append("<p>No model turn: the episode ended before the model was asked.</p>")
    for turn in episode.turns:
        parts.append(
            f"<div class='turn'><b>Turn {turn.index + 1}</b> ({turn.kind}, {turn.seconds:.2f} s)"
        )
        if turn.error:
            parts.append(f"<p class='err'>{_esc(turn.error)}</p>")
        parts.append(f"<pre>{_esc(turn.text)}</pre>")
        for k in turn.records:
            r = episode.records[k]
            args = ", ".join(f"{key}={val!r}" for key, val in r.arguments.items())
            status = "" if r.ok else " class='err'"
            parts.append(
                f"<div class='tool'><b>{_esc(r.name)}({_esc(args)})</b> · {r.seconds * 1000:.0f} ms"
            )
            parts.append(f"<pre{status}>{_esc(r.text)}</pre>")
            if k in by_record:
                parts.append(f"<img alt='{_esc(r.name)} result' src='{thumb(r.images[0])}'>")
            parts.append("</div>")
        parts.append("</div>")
    return parts


def _timing_parts(episode: Episode, heading: str) -> list[str]:
    parts = [f"<{heading}>Timings</{heading}><table><tr><th>step</th><th>seconds</th></tr>"]
    for turn in episode.turns:
        parts.append(
            f"<tr><td>turn {turn.index + 1} generation</td><td>{turn.seconds:.3f}</td></tr>"
        )
        for k in turn.records:
            r = episode.records[k]
            parts.append(f"<tr><td>&nbsp;&nbsp;{_esc(r.name)}</td><td>{r.seconds:.3f}</td></tr>")
    parts.append(f"<tr><th>total</th><th>{episode.seconds:.3f}</th></tr></table>")
    return parts


def _head(title: str) -> list[str]:
    return [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
    ]


def _backend_line(episode: Episode, trace: dict[str, Any]) -> str:
    s = trace["summary"]
    return (
        f"<p>Backend: <b>{_esc(trace['backend'].get('name'))}</b>"
        + (f" ({_esc(trace['backend'].get('model'))})" if trace["backend"].get("model") else "")
        + f" · mode {_esc(episode.mode)} · {s['turns']} turn(s), {s['tool_calls']} tool call(s), "
        f"{s['zooms']} zoom(s), {s['tool_errors']} failed call(s) · {s['seconds']:.2f} s</p>"
    )


def render_report(episode: Episode, *, title: str | None = None) -> str:
    """The report of one episode as one HTML string."""
    trace = episode.to_dict()
    parts = _head(title or episode.name or "facscope agent")
    parts.append(_backend_line(episode, trace))
    parts += _episode_parts(episode, trace)
    parts.append("</body></html>")
    return "\n".join(parts)


def clip_text(clip: dict[str, Any]) -> str:
    """One line on the frames a clip answer used (``ClipFrames.to_dict()``)."""
    rule = "given" if clip["apex_rule"] == "given" else f"spotted by the {clip['apex_rule']} rule"
    skipped = clip.get("frames_without_face") or []
    tail = f"; frames without the face, skipped: {skipped}" if skipped else ""
    return (
        f"Clip: onset frame {clip['onset']}, apex frame {clip['apex']} ({rule}) of "
        f"{clip['frames']}; motion aligned on the onset{tail}"
    )


def write_report(episode: Episode, path: str | Path, *, title: str | None = None) -> Path:
    """Write the HTML report atomically."""
    from facscope.io import write_text

    return write_text(path, render_report(episode, title=title))
