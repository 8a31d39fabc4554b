"""The summary page of a batch (``index.html``): one line per input with its thumbnail, the
answer for each face with its top probabilities, and a link to the input's report.

Thumbnails and reports are linked by relative paths, so the folder can be moved as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facscope.agent.report import _CSS, _esc

__all__ = ["render_summary_page", "write_summary_page"]


def _face_cell(row: dict[str, Any]) -> str:
    if row.get("status") == "no_face":
        return "<span class='noface'>no face found: nothing analysed</span>"
    if row.get("status") == "failed" and row.get("face") is None:
        return f"<span class='err'>failed: {_esc(row.get('error') or row.get('reason'))}</span>"
    probs = {k[2:]: v for k, v in row.items() if k.startswith("p_") and v is not None}
    top = ", ".join(f"{e} {p:.2f}" for e, p in sorted(probs.items(), key=lambda kv: -kv[1])[:3])
    aus = f"AUs {row['aus']} ({row.get('au_basis') or '?'})" if row.get("aus") else "no AUs"
    doubts = f" <i>doubtful: {_esc(row['doubts'])}</i>" if row.get("doubts") else ""
    status = "" if row.get("status") in ("ok", "repaired") else f" [{_esc(row.get('status'))}]"
    return (
        f"<div class='facerow' data-face='{_esc(row.get('face'))}'><b>face {_esc(row.get('face'))}"
        f"</b>: {_esc(row.get('emotion') or '-')}{status} · {_esc(top or '-')} · {_esc(aus)}"
        f"{doubts}</div>"
    )


def render_summary_page(records: list[dict[str, Any]], *, title: str = "facscope analyze") -> str:
    """The page as one HTML string (``records`` as :func:`facscope.agent.batch.analyze_batch`
    logs them)."""
    status = [r.get("status") for r in records]
    faces = sum(int(r.get("faces_found") or 0) for r in records)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f"<p class='counts'>{len(records)} input(s): {status.count('ok')} with faces "
        f"({faces} face(s) found), {status.count('no_face')} with no face, "
        f"{status.count('failed')} failed. Tables: <a href='results.csv'>results.csv</a>.</p>",
        "<table class='inputs'><tr><th>image</th><th>input</th><th>status</th>"
        "<th>faces</th><th>answers</th></tr>",
    ]
    for r in records:
        thumb = (
            f"<img class='thumb' alt='{_esc(Path(r['input']).name)}' src='{_esc(r['thumbnail'])}'>"
            if r.get("thumbnail")
            else ""
        )
        name = _esc(r["input"])
        link = f"<a href='{_esc(r['report'])}'>{name}</a>" if r.get("report") else name
        cells = "".join(_face_cell(row) for row in r.get("rows") or [])
        parts.append(
            f"<tr class='input' data-status='{_esc(r.get('status'))}'><td>{thumb}</td>"
            f"<td>{link}</td><td>{_esc(r.get('status'))}</td>"
            f"<td>{_esc(r.get('faces_found', '-'))}</td><td>{cells}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_summary_page(records: list[dict[str, Any]], path: str | Path) -> Path:
    """Write :func:`render_summary_page` atomically."""
    from facscope.io import write_text

    return write_text(path, render_summary_page(records))
