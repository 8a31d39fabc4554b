"""The expert backend: the same tools, a deterministic policy, classical perception."""

from __future__ import annotations

import pytest

from facscope.agent import Agent, create_backend, list_backends
from facscope.agent.motion import motion_aus
from facscope.facs import prototype_aus


def test_registry_lists_the_three_backends():
    assert set(list_backends()) >= {"expert", "openai", "transformers"}


@pytest.fixture
def no_landmarks(monkeypatch):
    """The landmarks extra is absent: the tools measure nothing."""
    monkeypatch.setattr("facscope.face.measure.landmarks_available", lambda: False)


def test_policy_detect_align_zoom_answer_with_stub(astronaut, stub_classifier, no_landmarks):
    clf = stub_classifier("sadness")
    ep = Agent(create_backend("expert", classifier=clf, max_zooms=2)).run(astronaut)
    names = [r.name for r in ep.records]
    assert names == ["detect_faces", "align_face", "zoom", "zoom"]
    assert all(r.ok for r in ep.records)
    # zooms go where the predicted emotion's prototype AUs show (sadness 1+4+15)
    regions = [r.arguments["region"] for r in ep.records if r.name == "zoom"]
    assert regions == ["glabella", "right_lip_corner"]
    a = ep.answer
    assert a.status == "ok" and a.emotion == "sadness"
    assert a.aus == tuple(sorted(prototype_aus("sadness"))) and a.au_basis == "inferred"
    assert "inferred from the predicted emotion, not measured" in a.reasoning
    assert "No AU could be measured" in a.reasoning
    assert clf.calls == 1  # cached between the planning and the answer


def test_measured_aus_disagree_with_a_scripted_classifier(astronaut, stub_classifier):
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("facscope.face.landmarks").mesh_model_file()
    # the classifier says sadness; the smiling astronaut's measured AUs say happiness
    ep = Agent(create_backend("expert", classifier=stub_classifier("sadness"))).run(astronaut)
    a = ep.answer
    assert a.au_basis == "measured" and {6, 12} <= set(a.aus) and not {4, 15} & set(a.aus)
    assert "EMFACS reading of the measured AUs: happiness; classifier: sadness" in a.reasoning
    assert "disagree" in a.reasoning
    align = next(r for r in ep.records if r.name == "align_face")
    assert len(align.data["au_measurements"]) == 19
    zoom = next(r for r in ep.records if r.name == "zoom")
    # each zoom observation carries the measured AUs of its region (text only with au_text)
    assert zoom.data["aus"] and "Measured AUs here" not in zoom.text
    assert all(
        {"value", "threshold", "intensity", "confidence"} <= set(m) for m in zoom.data["aus"]
    )
    from facscope.agent.tools import FaceTools

    tools = FaceTools(au_text=True)
    tools.reset(astronaut)
    tools.align_face(0)
    tools.zoom(region="left_lip_corner")
    text = tools.records[-1].text
    assert "Measured AUs here (against the neutral reference" in text and "AU12 present" in text


def test_neutral_answers_no_aus_and_no_face_is_no_answer(
    astronaut, noise_image, stub_classifier, no_landmarks
):
    ep = Agent(create_backend("expert", classifier=stub_classifier("neutral"))).run(astronaut)
    assert ep.answer.emotion == "neutral" and ep.answer.aus == ()
    clf = stub_classifier("fear")
    ep = Agent(create_backend("expert", classifier=clf)).run(noise_image)
    # no face: the model is never asked, nothing is guessed from the whole image
    assert ep.status == "no_face" and ep.answer.emotion is None and ep.answer.aus is None
    assert ep.turns == [] and clf.calls == 0 and ep.stop_reason == "no_face"
    assert ep.summary()["status"] == "no_face" and ep.summary()["faces_found"] == 0
    # the ablation without the face check judges the whole image, and says so
    ep = Agent(create_backend("expert", classifier=clf), require_face=False).run(noise_image)
    assert [r.name for r in ep.records] == ["detect_faces"]
    assert ep.answer.status == "ok" and ep.answer.emotion == "fear"
    assert "No face could be detected" in ep.answer.reasoning


def test_passive_and_answer_set(astronaut, stub_classifier):
    ep = Agent(
        create_backend("expert", classifier=stub_classifier("happiness")), mode="passive"
    ).run(astronaut)
    assert len(ep.turns) == 1 and ep.answer.emotion == "happiness"
    # an answer set without the predicted class: the expert stays inside it
    agent = Agent(
        create_backend("expert", classifier=stub_classifier("neutral")), emotions=("anger", "fear")
    )
    assert agent.run(astronaut).answer.emotion == "anger"


def test_classifier_failure_is_a_failed_episode_not_a_crash(astronaut):
    def broken(image):
        raise OSError("weights missing")

    ep = Agent(create_backend("expert", classifier=broken)).run(astronaut)
    assert ep.answer.status == "failed" and "weights missing" in ep.answer.reason


def test_real_classifier_on_the_default_portrait(astronaut, require_fer, no_landmarks):
    ep = Agent(create_backend("expert")).run(astronaut)
    assert ep.answer.status == "ok" and ep.answer.emotion == "happiness"
    assert ep.answer.aus == (6, 12) and ep.answer.au_basis == "inferred"
    assert ep.zooms == 2 and ep.tool_errors == 0


def test_motion_rules():
    stats = [
        {"region": "left_lip_corner", "mean": 0.8, "direction": "up-right"},
        {"region": "right_lip_corner", "mean": 0.7, "direction": "up-left"},
        {"region": "glabella", "mean": 0.5, "direction": "down"},
        {"region": "chin", "mean": 0.05, "direction": "up"},  # below threshold
        {"region": "nose", "mean": 0.6, "direction": "no clear dominant direction"},
    ]
    aus, evidence = motion_aus(stats)
    assert aus == (4, 12) and len(evidence) == 3
    # the right corner moving right (toward the midline) is not AU12
    assert (
        motion_aus([{"region": "right_lip_corner", "mean": 1.0, "direction": "up-right"}])[0] == ()
    )
    assert motion_aus([]) == ((), [])


def test_clip_measures_aus_from_motion(stub_classifier):
    synth = pytest.importorskip("facscope.synth.clips")
    clip = synth.synth_clip(
        emotion="happiness", amplitude=2.0, frame_size=(240, 180), fps=30, rise=0.1, fall=0.1
    )
    backend = create_backend("expert", classifier=stub_classifier("neutral"))
    ep = Agent(backend).run(clip=clip.frames, onset=clip.onset, apex=clip.apex)
    names = [r.name for r in ep.records]
    assert names[:3] == ["detect_faces", "align_face", "motion_map"] and all(
        r.ok for r in ep.records
    )
    motion = ep.records[2]
    assert motion.images and "Motion map of the face" in motion.text
    assert {s["region"] for s in motion.data["stats"]} >= {"left_lip_corner", "right_lip_corner"}
    a = ep.answer
    assert a.au_basis == "measured" and 12 in a.aus
    assert a.emotion == "happiness"  # from the measured AUs, although the classifier said neutral
    assert [t.role for t in ep.images()][:3] == ["input", "aligned", "motion"]


def test_expert_answers_a_bare_conversation(astronaut, stub_classifier):
    """Outside the agent loop (no system prompt, no tools) the expert answers from the image."""
    from PIL import Image

    from facscope.agent.backends import GenerationRequest

    backend = create_backend("expert", classifier=stub_classifier("surprise"))
    msg = {
        "role": "user",
        "content": [
            {"type": "image", "image": Image.fromarray(astronaut)},
            {"type": "text", "text": "?"},
        ],
    }
    (gen,) = backend.generate([GenerationRequest(messages=[msg], tools=[], stop=())])
    assert gen.error is None and '"emotion": "surprise"' in gen.text
    (gen,) = backend.generate(
        [GenerationRequest(messages=[{"role": "user", "content": "no image"}])]
    )
    assert gen.error is not None and "needs an image" in gen.error


def test_clip_measurements_take_the_flows_support():
    """The tools' clip AUs are the mesh's with the optical flow's support, computed once and
    shared with ``motion_map`` (the expert and a VLM's ``measure_aus`` read the same numbers)."""
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("facscope.face.landmarks").mesh_model_file()
    from facscope.agent.tools import FaceTools
    from facscope.synth.clips import synth_clip

    clip = synth_clip(emotion="happiness", amplitude=2.5, frame_size=(320, 240), fps=30)
    tools = FaceTools(measure_tool=True)
    tools.reset(clip=clip.frames, onset=clip.onset, apex=clip.apex)
    tools.measure_aus()
    rec = tools.records[-1]
    assert rec.ok and rec.data["mode"] == "clip"
    from facscope.face.aus import measured_aus
    from facscope.face.measure import measure_face

    face = tools.faces[tools.aligned_index]
    mesh = measure_face(tools.image, face, onset=tools.onset)  # the landmarks alone
    lifted = [m for m in rec.data["aus"] if "flow in the" in m["evidence"]]
    assert lifted and all(m["present"] and m["value"] < m["threshold"] for m in lifted)
    assert set(measured_aus(mesh)) < set(rec.data["present"])
    first = tools.clip.motion()
    tools.motion_map()
    assert tools.records[-1].ok and tools.clip.motion() is first  # one flow for both
