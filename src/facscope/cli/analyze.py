"""``facscope analyze [INPUT ...]``: run the agent on every face of one input (an image, a
video, a folder of frames) or on a batch (several images, a folder of photos, a glob).

One input writes ``report.html`` and ``trace.json`` (``face<i>/trace.json`` per face when
several are analysed) into ``--out``; a batch writes one report per input, ``results.csv``,
``results.jsonl`` (resumable), ``results.parquet`` (with pandas and pyarrow) and ``index.html``.

Exit status of one input: 0 answered, 3 no face found (nothing analysed), 4 the analysis failed
(backend unreachable, no readable answer); 1 for a bad option or file. A batch exits 0 and
records each input's status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facscope.cli.backend import BACKEND_FLAGS, backend_flag, backend_flags, build_backend
from facscope.cli.common import (
    DETECTOR_MODEL_OPT,
    INPUTS_ARG,
    apply_options,
    echo_json,
    expand_inputs,
    frame_folder_rule,
)
from facscope.errors import ConfigError
from facscope.io import is_video

#: Exit status of one input with no face / a failed analysis.
EXIT_NO_FACE, EXIT_FAILED = 3, 4


def backend_options(f: Any) -> Any:
    """The options that choose and configure an agent backend (shared with ``eval agent``)."""
    model, base_url, api_key, download, device_map, dtype, temperature, timeout = backend_flags(
        *BACKEND_FLAGS
    )
    options = [
        backend_flag("expert", "expert (offline), openai (HTTP endpoint) or transformers (local VLM)."),
        model, base_url, api_key, download, device_map, dtype,
        click.option("--tool-mode", default="text", show_default=True, type=click.Choice(["text", "native"]),
                     help="openai: tools in the prompt (text) or as the API's tools parameter."),
        click.option("--coordinates", default=None,
                     type=click.Choice(["pixels", "relative-1000"]),
                     help="How the model writes boxes (default: from the backend/model)."),
        temperature, timeout,
        click.option("--mode", default="active", show_default=True, type=click.Choice(["active", "passive"]),
                     help="passive: no tools, one look at the aligned face (ablation)."),
        click.option("--max-turns", default=6, show_default=True, type=int),
        click.option("--max-zooms", default=3, show_default=True, type=int),
        click.option("--detector", default="mtcnn", show_default=True,
                     help="Face detector of the tools: mtcnn, haar, yunet (needs --detector-model)."),
        DETECTOR_MODEL_OPT,
        click.option("--measure-aus", "measure_tool", is_flag=True,
                     help="Offer the model the measure_aus tool (AUs measured from dense landmarks, "
                     "as numbers; needs the landmarks extra). The expert measures AUs anyway."),
    ]  # fmt: skip
    return apply_options(f, options)


def build_agent(opts: dict[str, Any], backend: Any, **overrides: Any) -> Any:
    """The agent of the options; the detector is built once here, so a bad detector option is
    one error line before any input is read."""
    from facscope.agent import Agent, AgentConfig, ToolsConfig
    from facscope.face.detect import create_detector, detector_options

    model = opts.get("detector_model")
    model = None if model is None else str(model)
    create_detector(opts["detector"], **detector_options(opts["detector"], model))
    config = AgentConfig(
        mode=opts["mode"],
        max_turns=opts["max_turns"],
        max_zooms=opts["max_zooms"],
        tools=ToolsConfig(
            detector=opts["detector"],
            detector_model=model,
            measure_tool=bool(opts.get("measure_tool")),
        ),
        **overrides,
    )
    return Agent(backend, config)


def _load_input(
    path: Path | None, onset: int | None, apex: int | None, fps: float | None
) -> tuple[dict[str, Any], str]:
    """The agent input of one image or clip: the one place a clip (video or frame folder) is
    opened."""
    if path is None:
        from facscope.embedded import DEFAULT_IMAGE_NAME, default_image

        return {"image": default_image()}, DEFAULT_IMAGE_NAME
    if path.is_dir() or is_video(path):
        from facscope.motion.clip import open_clip

        return {"clip": open_clip(path, fps=fps), "onset": onset, "apex": apex}, str(path)
    from facscope.io import load_image

    return {"image": load_image(path)}, str(path)


def plan_inputs(
    inputs: tuple[Path, ...], clip: bool | None
) -> tuple[Path | None, list[Path], str | None]:
    """``(single, [], note)`` for one image, video or clip folder (None: the embedded default),
    or ``(None, files, None)`` for a batch. A folder is one clip with ``--clip``, or when
    :func:`facscope.cli.common.frame_folder_rule` holds and ``--images`` is not given; the
    note says why it was read as a clip."""

    if not inputs:
        return None, [], None
    if len(inputs) == 1 and inputs[0].is_dir():
        folder = inputs[0]
        rule = None if clip is False else frame_folder_rule(folder)
        if clip or rule:
            why = "--clip" if clip else rule
            return folder, [], f"read as one clip ({why}); --images analyses each image"
    elif clip:
        raise ConfigError("--clip needs one folder of frames (or give a video file)")
    if len(inputs) == 1 and inputs[0].is_file():
        return inputs[0], [], None
    files = expand_inputs(inputs)
    if not files:
        raise ConfigError(f"{', '.join(map(str, inputs))}: no image or video file to analyse")
    return None, files, None


@click.command()
@INPUTS_ARG
@backend_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder [default: <input>_agent; a batch: facscope_analyze]. Outputs of an "
    "earlier run there are replaced; a batch resumes.",
)
@click.option("--face", "which", default="all", show_default=True,
              help="Faces to analyse: all, largest, or an index (0 = largest).")  # fmt: skip
@click.option("--clip/--images", "clip", default=None,
              help="Read a folder as one clip, or as separate images [default: a clip only when "
              "its names are numbered frames of one size without gaps].")  # fmt: skip
@click.option("--onset", type=int, help="Clip: onset frame number (default: first frame).")
@click.option(
    "--apex", type=int, help="Clip: apex frame number (default: spotted as `facscope motion` does)."
)
@click.option(
    "--fps",
    type=float,
    help="Clip: frame rate, if the input does not say. "
    "With --timeline: samples per second of video (default: every frame).",
)
@click.option(
    "--timeline",
    is_flag=True,
    help="Video or frame folder: emotion and AUs of every "
    "face per sampled frame → timeline.csv, timeline.png, report.html.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answers and counts as JSON.")
@click.option("--no-progress", is_flag=True, help="Batch: hide the progress bar.")
@click.option(
    "--overwrite", is_flag=True, help="Batch: remove results in --out made with other settings."
)
def analyze(inputs: tuple[Path, ...], out_dir: Path | None, which: str, clip: bool | None,
            onset: int | None, apex: int | None, fps: float | None, timeline: bool,
            as_json: bool, no_progress: bool, overwrite: bool, **opts: Any) -> None:  # fmt: skip
    """Analyse the faces of an image, an onset→apex clip (frame folder or video), or a batch.

    With no input, the embedded default portrait is analysed offline by the expert backend.
    Every face is analysed by default (--face); an input with no face gets the status no_face
    and no emotion.
    """
    from facscope.agent.analysis import parse_face

    if timeline:
        from facscope.cli.timeline import analyze_timeline

        if len(inputs) > 1:
            raise ConfigError("--timeline takes one video or frame folder")
        return analyze_timeline(inputs[0] if inputs else None, out_dir, fps, opts, as_json)

    face = parse_face(which)
    single, files, note = plan_inputs(inputs, clip)
    backend = build_backend(opts, concurrency=1 if not files else 4)
    try:
        agent = build_agent(opts, backend)
        if files:
            out = out_dir or Path("facscope_analyze")
            _batch(agent, files, out, face, as_json, no_progress, overwrite)
            return
        code = _single(agent, single, out_dir, face, (onset, apex, fps), as_json, note)
    finally:
        backend.close()
    if code:
        click.get_current_context().exit(code)


def _single(agent: Any, path: Path | None, out_dir: Path | None, face: str | int,
            clip_args: tuple[Any, ...], as_json: bool, note: str | None) -> int:  # fmt: skip
    from facscope.agent.analysis import analyze as run_analysis
    from facscope.agent.batch import write_analysis

    item, name = _load_input(path, *clip_args)
    analysis = run_analysis(agent, **item, name=name, face=face)
    stem = "astronaut" if path is None else path.stem or path.name
    written = write_analysis(
        analysis, out_dir or Path(f"{stem}_agent"), title=f"facscope analyze: {name}"
    )
    if as_json:
        _echo_single_json(analysis, written, note)
    else:
        if note:
            click.echo(f"{name}: {note}")
        _echo_single(analysis, written)
    return {"no_face": EXIT_NO_FACE, "failed": EXIT_FAILED}.get(analysis.status, 0)


def _echo_single_json(analysis: Any, written: dict[str, Any], note: str | None) -> None:
    faces = [e.summary() for e in analysis.episodes]
    echo_json({
        "input": analysis.name, **faces[0], "status": analysis.status, "read_as": note,
        "faces_found": analysis.faces_found, "rejected": analysis.detections.to_dict()["rejected"],
        "faces": faces, "clip": analysis.episodes[0].clip if analysis.episodes else None,
        "report": str(written["report"]),
        "trace": str(written["traces"][0]), "traces": [str(t) for t in written["traces"]],
    })  # fmt: skip


def _echo_single(analysis: Any, written: dict[str, Any]) -> None:
    from facscope.agent.image_report import faces_sentence
    from facscope.facs import AU_CATALOGUE

    click.echo(f"{analysis.name}: {faces_sentence(analysis)}")
    for e in analysis.episodes if analysis.status != "no_face" else []:
        s, a = e.summary(), e.answer
        box = ", ".join(f"{v:.0f}" for v in s["box"] or [])
        doubt = f" — doubtful: {', '.join(s['doubts'])}" if s.get("doubts") else ""
        click.echo(f"  face {s['face']} box ({box}) score {s['score'] or 0:.2f}{doubt}")
        probs = sorted((s.get("probabilities") or {}).items(), key=lambda kv: -kv[1])[:3]
        top = f" ({', '.join(f'{k} {v:.2f}' for k, v in probs)})" if probs else ""
        click.echo(f"  emotion: {s['emotion']}{top}")
        aus = ", ".join(f"AU{n} {AU_CATALOGUE[n].name}" for n in s["aus"] or ()) or "none"
        basis = f" ({s['au_basis']})" if s["au_basis"] else ""
        click.echo(f"  AUs{basis}: {aus}")
        reason = f" — {a.reason}" if a and a.reason else ""
        click.echo(f"  parse: {s['status']}{reason}")
        click.echo(
            f"  {s['turns']} turn(s), {s['tool_calls']} tool call(s), {s['zooms']} zoom(s), "
            f"{s['seconds']:.2f} s"
        )
    if analysis.status == "no_face":
        click.echo("  status: no_face")
    clip = analysis.episodes[0].clip if analysis.episodes else None
    if clip:
        from facscope.agent.report import clip_text

        click.echo(f"  {clip_text(clip)}")
    traces = ", ".join(str(t) for t in written["traces"])
    click.echo(f"  trace: {traces}\n  report: {written['report']}")


def _batch(agent: Any, files: list[Path], out: Path, face: str | int, as_json: bool,
           no_progress: bool, overwrite: bool) -> None:  # fmt: skip
    from facscope.agent.batch import analyze_batch

    result = analyze_batch(
        files, agent, out_dir=out, face=face, progress=not no_progress, overwrite=overwrite
    )
    if as_json:
        echo_json({"out": str(out), **result})
        return
    click.echo(
        f"{result['inputs']} input(s): {result['with_faces']} with faces ({result['faces']} "
        f"face(s) found), {result['no_face']} with no face, {result['failed']} failed"
        + (f"; {result['done_before']} done before (resumed)" if result["done_before"] else "")
    )
    click.echo(f"  table: {result['csv']}\n  summary: {result['summary']}")
