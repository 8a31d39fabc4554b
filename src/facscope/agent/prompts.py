"""What the model is told: the system prompt (FACS guidance, regions, answer format), the task
message, and the tool section for chat templates that cannot render tools themselves."""

from __future__ import annotations

from collections.abc import Sequence

from facscope.facs import AU_CATALOGUE, EMOTIONS, REGION_AUS, REGION_GROUPS
from facscope.vlm.toolcalls import render_tool_section

__all__ = [
    "ANSWER_FORMAT",
    "FINAL_TURN_NOTICE",
    "au_guide",
    "render_tool_section",
    "system_prompt",
    "task_prompt",
]

ANSWER_FORMAT = (
    "Finish with your reasoning, then the answer on its own line, exactly in this format:\n"
    '<answer>{"aus": [<AU numbers>], "emotion": "<emotion>"}</answer>\n'
    'For example: <answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'
)
FINAL_TURN_NOTICE = (
    "This is your last turn: do not call any more tools. Give your reasoning and the final "
    "answer now."
)


def au_guide(groups: Sequence[str] = REGION_GROUPS) -> str:
    """The AU catalogue grouped by face region, one line per AU, as the prompt shows it."""
    lines = []
    for group in groups:
        lines.append(f"{group.capitalize()}:")
        for n in REGION_AUS[group]:
            au = AU_CATALOGUE[n]
            lines.append(f"  AU{n} {au.name}: {au.motion}.")
    return "\n".join(lines)


def system_prompt(
    *,
    tools: bool = True,
    clip: bool = False,
    emotions: Sequence[str] = EMOTIONS,
    coordinates: str | None = None,
    max_zooms: int | None = None,
    measure: bool = False,
) -> str:
    """The system prompt of an episode.

    Args:
        tools: the model may call tools (active mode); False for the passive mode.
        clip: the input is an onset→apex clip (mentions motion maps).
        emotions: the closed set of answers.
        coordinates: one sentence on how boxes are written (``BoxFrame.describe()``).
        max_zooms: the zoom budget to announce.
        measure: the ``measure_aus`` tool is offered (numbers from dense landmarks).
    """
    from facscope.face.regions import REGION_NAMES

    parts = [
        "You are an expert in the Facial Action Coding System (FACS). You recognise facial "
        "expressions by finding the Action Units (AUs) that are active and reasoning from them "
        "to an emotion.",
    ]
    if tools:
        steps = ["detect_faces, then align_face to get an upright view of the face."]
        if clip:
            steps.append(
                "This is a micro-expression clip: motion_map shows how each region moved from "
                "onset to apex; subtle AUs show as motion, not as a static shape."
            )
        steps += [
            "Zoom into the regions where the deciding AUs show (brows and glabella for AU1/2/4, "
            "eyes and cheeks for AU5/6/7, nose for AU9, lip corners for AU12/14/15/20, mouth and "
            "chin for AU10/17/23/24/25/26). Zoom only where it helps: a clear expression needs "
            "few zooms."
            + (f" You may zoom at most {max_zooms} times." if max_zooms is not None else ""),
            "Reason region by region: which AUs are present, with the visual evidence for each.",
        ]
        if measure:
            steps.insert(
                -1,
                "measure_aus(region) returns the AUs measured there from dense landmarks (value, "
                "threshold, present, intensity, confidence): use it to check what you see, and "
                "say which of your AUs were measured.",
            )
        parts.append(
            "Work step by step, calling one tool at a time:\n"
            + "\n".join(f"{k}. {step}" for k, step in enumerate(steps, 1))
        )
        parts.append(
            "Facial regions you can zoom into (left/right are the person's own sides; the "
            "person's left appears on the viewer's right): " + ", ".join(REGION_NAMES) + "."
        )
        if coordinates:
            parts.append(coordinates)
    else:
        parts.append(
            "Look at the face and reason region by region (brows, eyes, cheeks, nose, mouth, "
            "jaw): which AUs are present, with the visual evidence for each."
        )
    parts.append("Action Units by region:\n" + au_guide())
    parts.append(
        "Answer with the emotion that best fits the AUs you found, one of: "
        + ", ".join(emotions)
        + ". List only AUs you saw evidence for, by number."
    )
    parts.append(ANSWER_FORMAT)
    return "\n\n".join(parts)


def task_prompt(*, clip: bool = False, passive: bool = False) -> str:
    """The user's request that follows the image."""
    what = (
        "This is the apex frame of a facial micro-expression clip."
        if clip
        else "Here is a face image."
    )
    if passive:
        return f"{what} Which Action Units are active, and which emotion does the face show?"
    return (
        f"{what} Which Action Units are active, and which emotion does the face show? "
        "Use the tools to inspect the face before answering."
    )
