"""The report of one input with every face: an overview of the faces found (and rejected), a
table with one line per face, then each face's episode as :mod:`facscope.agent.report` shows it.

Self-contained like the episode report: every image is a data URL.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facscope.agent.analysis import Analysis
from facscope.agent.report import _au_list, _backend_line, _episode_parts, _esc, _head, data_url

__all__ = ["annotate_faces", "faces_sentence", "render_image_report", "write_image_report"]

_KEPT, _REJECTED = (255, 200, 0), (160, 160, 160)


def annotate_faces(analysis: Analysis) -> np.ndarray:
    """The analysed image with each kept face boxed and numbered (its answer beside the
    number) and each rejected detection boxed in grey."""
    import cv2

    out = np.ascontiguousarray(analysis.image.copy())
    t = max(1, round(max(out.shape[:2]) / 300))
    answers = {e.face.get("index"): e.summary().get("emotion") for e in analysis.episodes}
    boxes = [(c, f"face {i}: {answers.get(i) or '-'}", _KEPT)
             for i, c in enumerate(analysis.detections.kept)]  # fmt: skip
    boxes += [(c, "rejected", _REJECTED) for c in analysis.detections.rejected]
    for check, text, colour in boxes:
        b = check.face.box
        cv2.rectangle(out, (round(b.x1), round(b.y1)), (round(b.x2), round(b.y2)), colour, t)
        org = (round(b.x1) + 2, max(10, round(b.y1) - 3))
        for c, w in (((0, 0, 0), max(1, t // 2) + 2), (colour, max(1, t // 2))):
            cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.35 * t, c, w, cv2.LINE_AA)
    return out


def faces_sentence(analysis: Analysis) -> str:
    """How many faces were found, analysed and rejected, in words."""
    d = analysis.detections
    rejected = f"; {len(d.rejected)} detection(s) rejected as not a face" if d.rejected else ""
    if analysis.status == "no_face":
        return (
            f"No face was found (detector {d.detector}{rejected}). Nothing was analysed: no "
            "emotion or AUs are given."
        )
    analysed = [e.face.get("index") for e in analysis.episodes]
    return (
        f"{len(d.kept)} face(s) found by {d.detector}{rejected}; analysed: "
        + ", ".join(f"face {i}" for i in analysed)
        + "."
    )


def _top(probs: dict[str, float] | None, k: int = 3) -> str:
    if not probs:
        return "-"
    best = sorted(probs.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{e} {p:.2f}" for e, p in best)


def _face_table(analysis: Analysis) -> list[str]:
    parts = [
        "<table class='faces'><tr><th>face</th><th>box</th><th>score</th><th>doubts</th>"
        "<th>status</th><th>emotion</th><th>probabilities</th><th>AUs</th></tr>"
    ]
    for e in analysis.episodes:
        s = e.summary()
        i = s.get("face")
        box = "-" if not s.get("box") else ", ".join(f"{v:.0f}" for v in s["box"])
        basis = f" ({s['au_basis']})" if s.get("au_basis") else ""
        link = f"<a href='#face-{i}'>face {i}</a>" if i is not None else "-"
        score = "-" if s.get("score") is None else f"{s['score']:.2f}"
        parts.append(
            f"<tr data-face='{_esc(i)}'><td>{link}</td><td>{_esc(box)}</td><td>{score}</td>"
            f"<td>{_esc(', '.join(s.get('doubts') or []) or '-')}</td><td>{_esc(s['status'])}</td>"
            f"<td>{_esc(s['emotion'] or '-')}</td><td>{_esc(_top(s.get('probabilities')))}</td>"
            f"<td>{_esc(_au_list(s['aus']))}{_esc(basis)}</td></tr>"
        )
    parts.append("</table>")
    for c in analysis.detections.rejected:
        box = ", ".join(f"{v:.0f}" for v in c.face.box.to_list())
        parts.append(
            f"<p class='rejected'>Rejected [{_esc(box)}]: {_esc('; '.join(c.problems))}</p>"
        )
    return parts


def render_image_report(analysis: Analysis, *, title: str | None = None) -> str:
    """The report of one input, every analysed face included, as one HTML string."""
    parts = _head(title or analysis.name or "facscope analyze")
    cls = "summary noface" if analysis.status == "no_face" else "summary"
    parts.append(f"<p class='{cls}'>{_esc(faces_sentence(analysis))}</p>")
    overview = data_url(annotate_faces(analysis), max_side=900, fmt="jpeg")
    parts.append(f"<img class='main' alt='faces found' src='{overview}'>")
    parts += _face_table(analysis)
    for e in analysis.episodes:
        trace = e.to_dict()
        i = e.face.get("index")
        anchor = f" id='face-{i}' data-face='{i}'" if i is not None else ""
        heading = f"Face {i}" if i is not None else "The whole image"
        parts.append(f"<section class='face'{anchor}><h2>{heading}</h2>")
        parts.append(_backend_line(e, trace))
        parts += _episode_parts(e, trace, heading="h3")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_image_report(analysis: Analysis, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`render_image_report` atomically."""
    from facscope.io import write_text

    return write_text(path, render_image_report(analysis, title=title))
