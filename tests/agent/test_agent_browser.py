"""The summary page and a per-image report as a real browser renders them (headless Chromium,
Debian's ``chromium``; CI installs it in ``.ci/run``): every face appears, every image loads,
no console error. Skipped where no Chromium is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.agent.conftest import StubClassifier
from tests.conftest import LFW_FACES, upscale_gray

from facscope.io import save_image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

# placed first in <head>: counts script errors and console.error calls of the page, and once
# every image has loaded or failed writes what it found into the DOM
PROBE = """<script>
const errors = [];
window.addEventListener('error', e => errors.push(String(e.message || e.type)), true);
const consoleError = console.error;
console.error = (...a) => { errors.push(a.join(' ')); consoleError(...a); };
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const p = document.createElement('div');
  p.id = 'probe';
  p.dataset.total = imgs.length;
  p.dataset.broken = broken.length;
  p.dataset.faces = document.querySelectorAll('section.face, div.facerow').length;
  p.dataset.errors = errors.length;
  p.textContent = 'BROKEN:' + broken.join('|') + ' ERRORS:' + errors.join('|');
  document.body.appendChild(p);
});
</script>"""


def _render(page: Path, tmp_path: Path) -> tuple[dict[str, str], str]:
    """The probe's findings on ``page`` and Chromium's log."""
    probe = page.with_name(f"_probe_{page.name}")  # beside it, so relative links resolve
    text = page.read_text()
    assert text.count("<head>") == 1
    probe.write_text(text.replace("<head>", "<head>" + PROBE))
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r"<div id=\"probe\" ([^>]*)>([^<]*)</div>", res.stdout)
    assert m, f"the probe did not run: {res.stdout[-500:]}"
    found = dict(re.findall(r'data-(\w+)="([^"]*)"', m.group(1)))
    found["text"] = m.group(2)
    return found, res.stderr


def _console_errors(found: dict[str, str], log: str) -> list[str]:
    """Script errors the probe caught, and every console line of Chromium's log (the pages
    write none: any is a warning or an error)."""
    caught = [found["text"]] if found["errors"] != "0" else []
    return caught + [
        line
        for line in log.splitlines()
        if ":CONSOLE" in line or "Not allowed to load local resource" in line
    ]


def test_summary_page_and_report_render_with_every_face(tmp_path, monkeypatch, lfw_composite):
    import facscope.agent.backends.expert as expert
    from facscope.agent import Agent, create_backend
    from facscope.agent.batch import analyze_batch
    from facscope.embedded import lfw_faces

    monkeypatch.setattr(expert, "_default_classifier", lambda: StubClassifier("happiness"))
    lfw = lfw_faces()
    inputs = [save_image(tmp_path / "in" / "group.png", lfw_composite)]
    inputs += [save_image(tmp_path / "in" / f"p{i}.png", upscale_gray(lfw[i])) for i in (0, 7)]
    inputs.append(save_image(tmp_path / "in" / "grey.png", lfw_composite[:20, :20]))  # no face
    out = tmp_path / "out"
    result = analyze_batch(inputs, Agent(create_backend("expert")), out_dir=out, progress=False)
    assert result["faces"] == len(LFW_FACES) + 2 and result["no_face"] == 1

    found, log = _render(out / "index.html", tmp_path)
    assert found["faces"] == str(len(LFW_FACES) + 2)  # one line per face of every image
    assert found["total"] == "4" and found["broken"] == "0", found["text"]  # thumbnails load
    assert not _console_errors(found, log), _console_errors(found, log)

    from facscope.io import JsonlLog

    group = JsonlLog(out / "results.jsonl", key="input").latest()[str(inputs[0])]
    found, log = _render(out / group["report"], tmp_path)
    assert found["faces"] == str(len(LFW_FACES))  # a section per face
    assert int(found["total"]) > 4 * 3 and found["broken"] == "0", found["text"]
    assert not _console_errors(found, log), _console_errors(found, log)
