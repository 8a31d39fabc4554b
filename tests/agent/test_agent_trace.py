"""Traces as JSON and the self-contained HTML report."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import numpy as np
from PIL import Image

from facscope.agent import Agent
from facscope.agent.report import render_report, write_report
from facscope.agent.trace import write_trace
from facscope.testing.scripted import tool_call

ANSWER = 'Mouth corners up.\n<answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _episode(astronaut):
    from facscope.testing.scripted import ScriptedBackend

    replies = [
        tool_call("detect_faces"),
        tool_call("align_face", face_index=0),
        tool_call("zoom", region="mouth", scale=1.3),
        tool_call("zoom", box=[300, 300, 700, 700]),  # partly outside: clipped
        tool_call("zoom", box=[9000, 9000, 9100, 9100]),  # outside: error
        ANSWER,
    ]
    return Agent(ScriptedBackend(replies), max_zooms=4).run(
        astronaut, name="astro", labels={"emotion": "happiness"}
    )


def test_trace_json_has_the_answer_steps_and_boxes(astronaut, tmp_path):
    ep = _episode(astronaut)
    path = write_trace(ep, tmp_path)
    trace = json.loads(path.read_text())
    a = trace["answer"]
    assert (a["emotion"], a["aus"], a["status"]) == ("happiness", [6, 12], "ok")
    assert a["reasoning"] == "Mouth corners up."
    assert [t["kind"] for t in trace["turns"]] == ["tool"] * 5 + ["answer"]
    assert [r["name"] for r in trace["tool_records"]] == [
        "detect_faces",
        "align_face",
        "zoom",
        "zoom",
        "zoom",
    ]
    assert (
        trace["tool_records"][-1]["ok"] is False and "outside" in trace["tool_records"][-1]["error"]
    )
    assert trace["summary"]["zooms"] == 2 and trace["summary"]["tool_errors"] == 1
    assert trace["labels"] == {"emotion": "happiness"}
    imgs = trace["images"]
    assert [i["role"] for i in imgs] == ["input", "aligned", "zoom", "zoom"]
    assert imgs[0]["box"] == [0.0, 0.0, 512.0, 512.0]
    assert imgs[3]["box"] == [300.0, 300.0, 512.0, 512.0]  # original pixels, clipped
    for i in imgs:  # every image file exists and has the recorded size
        with Image.open(tmp_path / i["file"]) as im:
            assert list(im.size) == i["size"]
    # messages reference images by index; no pixels inside the JSON
    refs = [b["ref"] for m in trace["messages"] if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "image"]  # fmt: skip
    assert refs == [0, 1, 2, 3]
    assert all(t["seconds"] >= 0 for t in trace["turns"]) and trace["summary"]["seconds"] > 0


def test_report_is_self_contained_html_with_every_image(astronaut, tmp_path):
    ep = _episode(astronaut)
    path = write_report(ep, tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    assert parser.open == []  # every tag closed
    # the annotated input, the 4 images the model saw, and the 3 successful image results inline
    assert len(parser.images) == 1 + 4 + 3
    assert all(src.startswith("data:image/") for src in parser.images)
    assert "http" not in page  # nothing to fetch
    first = parser.images[0].split(",", 1)[1]
    annotated = np.asarray(Image.open(io.BytesIO(base64.b64decode(first))))
    assert annotated.shape[:2] == (512, 512)
    assert not np.array_equal(annotated, astronaut)  # boxes are drawn on it
    text = " ".join(parser.text)
    assert "happiness" in text and "AU12 Lip Corner Puller" in text and "Mouth corners up." in text
    assert "outside" in text  # the failed call is shown


def test_report_of_a_failed_episode(small_image):
    from facscope.testing.scripted import ScriptedBackend

    ep = Agent(ScriptedBackend(["<b>no answer</b>"]), require_face=False).run(small_image)
    page = render_report(ep)
    assert "failed" in page and "&lt;b&gt;no answer&lt;/b&gt;" in page  # model text is escaped
