"""The MELLM instruction prompt for each input mode.

* ``colormap`` (MELLM's first version): one image, the motion-enhanced colour map. The prompt
  states the colour legend exactly as :func:`facscope.motion.colormap.legend_text` gives it
  (the text MELLM's prompt uses), then the three-step task: inspect regions (ignoring global
  head motion and dim regions) and infer AUs from colour (direction) and brightness
  (magnitude); reason from the AU combination to the expression; conclude with the AU list and
  the micro-expression.
* ``frames``: two images, the aligned onset and apex frames, and the same three steps.
* ``stats`` (MELLM's second version, text-only LLMs): the per-region motion statistics as text
  (:func:`facscope.motion.stats.stats_text`) and the same three steps.

Every prompt ends by asking for the structured answer line of :mod:`facscope.mellm.answer`.
"""

from __future__ import annotations

from collections.abc import Sequence

from facscope.errors import ConfigError
from facscope.facs import MEGC3

__all__ = ["IMAGES_PER_MODE", "answer_instruction", "build_prompt", "instruction_prompt"]

#: Number of images each input mode attaches to the prompt.
IMAGES_PER_MODE = {"colormap": 1, "frames": 2, "stats": 0}

_STEPS = (
    "Answer in three steps.\n"
    "Step 1: inspect the facial regions (brows, eyes, nose, cheeks, mouth, chin), {ignore}, and "
    "infer the Action Units (AUs) {evidence}.\n"
    "Step 2: reason from the combination of Action Units to the expression.\n"
    "Step 3: conclude with the Action Units and the micro-expression."
)


def answer_instruction(emotions: Sequence[str] | None = None) -> str:
    """The closing instruction that asks for the structured answer line."""
    fine = f"one of {', '.join(emotions)}" if emotions else "the fine-grained emotion"
    return (
        "End with one line in exactly this form:\n"
        "ANSWER: AUs=<FACS codes joined by '+', with L/R for one side and A-E for intensity, "
        f"e.g. 1+2+L12B, or none>; emotion=<{fine}>; class=<{'|'.join(MEGC3)}|none>"
    )


def instruction_prompt(
    mode: str, *, stats_text: str | None = None, emotions: Sequence[str] | None = None
) -> str:
    """The MELLM instruction (user) prompt for ``mode`` (``colormap``, ``frames`` or ``stats``);
    not the agent's system prompt or the RL prompt.

    Args:
        mode: the input mode.
        stats_text: the region statistics as text; required for ``stats``.
        emotions: the fine-grained labels the answer may use (the dataset's label set).
    """
    if mode == "colormap":
        from facscope.motion.colormap import legend_text

        head = (
            "The image is a motion-enhanced colour map of a face: the grayscale onset frame of a "
            "micro-expression with the optical flow from onset to apex laid over it. The hue "
            f"shows the direction of motion ({legend_text()}) and the brightness its magnitude; "
            "grey areas did not move. Left and right in region names are the subject's own; "
            "directions are as seen in the image."
        )
        steps = _STEPS.format(
            ignore="ignoring global head motion and dim regions",
            evidence="from each region's colour (direction) and brightness (magnitude)",
        )
    elif mode == "frames":
        head = (
            "The first image is the onset frame of a micro-expression and the second its apex "
            "frame (the same aligned face crop). Left and right in region names are the "
            "subject's own; directions are as seen in the image."
        )
        steps = _STEPS.format(
            ignore="ignoring global head motion",
            evidence="from how each region moves between the two frames",
        )
    elif mode == "stats":
        if not stats_text:
            raise ConfigError("the 'stats' prompt needs the region statistics text (stats_text)")
        head = (
            "These are the motion statistics of a facial micro-expression: optical flow from "
            "onset to apex with head motion removed, summarised per facial region.\n"
            f"{stats_text.strip()}"
        )
        steps = _STEPS.format(
            ignore="concentrating on regions with clear movement",
            evidence="that each region's direction and magnitude indicate",
        )
    else:
        raise ConfigError(f"mode must be one of {tuple(IMAGES_PER_MODE)}; got {mode!r}")
    return f"{head}\n{steps}\n{answer_instruction(emotions)}"


#: The former name of :func:`instruction_prompt` (``facscope.mellm.build_prompt``).
build_prompt = instruction_prompt
