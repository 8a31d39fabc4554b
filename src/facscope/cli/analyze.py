"""``facscope analyze [IMAGE | CLIP]``: run the agent on one input, print the answer, and write
``trace.json`` and a self-contained ``report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facscope.cli.backend import BACKEND_FLAGS, backend_flag, backend_flags, build_backend
from facscope.cli.common import IMAGE_ARG, apply_options, echo_json
from facscope.io import is_video


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
        click.option("--detector", default="mtcnn", show_default=True, help="Face detector of the tools."),
    ]  # fmt: skip
    return apply_options(f, options)


def build_agent(opts: dict[str, Any], backend: Any, **overrides: Any) -> Any:
    from facscope.agent import Agent, AgentConfig, ToolsConfig

    config = AgentConfig(
        mode=opts["mode"],
        max_turns=opts["max_turns"],
        max_zooms=opts["max_zooms"],
        tools=ToolsConfig(detector=opts["detector"]),
        **overrides,
    )
    return Agent(backend, config)


def _load_input(
    path: Path | None, onset: int | None, apex: int | None, fps: float | None
) -> tuple[dict[str, Any], str]:
    if path is None:
        from facscope.embedded import DEFAULT_IMAGE_NAME, default_image

        return {"image": default_image()}, DEFAULT_IMAGE_NAME
    if path.is_dir() or is_video(path):
        from facscope.motion.clip import open_clip

        return {"clip": open_clip(path, fps=fps), "onset": onset, "apex": apex}, str(path)
    from facscope.io import load_image

    return {"image": load_image(path)}, str(path)


@click.command()
@IMAGE_ARG
@backend_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder for trace.json and report.html [default: <input>_agent].",
)
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
@click.option("--json", "as_json", is_flag=True, help="Print the answer and counts as JSON.")
def analyze(image: Path | None, out_dir: Path | None, onset: int | None, apex: int | None,
            fps: float | None, timeline: bool, as_json: bool, **opts: Any) -> None:  # fmt: skip
    """Analyse a face image or an onset→apex clip (frame folder or video) with the agent.

    With no input, the embedded default portrait is analysed offline by the expert backend.
    Writes trace.json (every step; the answer under "answer") and report.html (self-contained).
    """
    if timeline:
        from facscope.cli.timeline import analyze_timeline

        return analyze_timeline(image, out_dir, fps, opts, as_json)
    from facscope.agent.report import write_report
    from facscope.agent.trace import write_trace
    from facscope.facs import AU_CATALOGUE

    item, name = _load_input(image, onset, apex, fps)
    backend = build_backend(opts, concurrency=1)
    try:
        episode = build_agent(opts, backend).run(name=name, **item)
    finally:
        backend.close()
    stem = "astronaut" if image is None else image.stem or image.name
    out = out_dir or Path(f"{stem}_agent")
    trace = write_trace(episode, out)
    report = write_report(episode, out / "report.html", title=f"facscope analyze: {name}")
    a = episode.answer
    if as_json:
        echo_json({"input": name, **episode.summary(), "clip": episode.clip,
                   "trace": str(trace), "report": str(report)})  # fmt: skip
        return
    basis = f" ({a.au_basis})" if a and a.au_basis else ""
    aus = (
        ", ".join(f"AU{n} {AU_CATALOGUE[n].name}" for n in (a.aus or ())) if a and a.aus else "none"
    )
    click.echo(f"{name}")
    click.echo(f"  emotion: {a.emotion if a else None}")
    click.echo(f"  AUs{basis}: {aus}")
    status = a.status if a else "failed"
    reason = f" — {a.reason}" if a and a.reason else ""
    click.echo(f"  parse: {status}{reason}")
    if episode.clip:
        from facscope.agent.report import clip_text

        click.echo(f"  {clip_text(episode.clip)}")
    click.echo(
        f"  {len(episode.turns)} turn(s), {episode.tool_calls} tool call(s), {episode.zooms} zoom(s), "
        f"{episode.seconds:.2f} s"
    )
    click.echo(f"  trace: {trace}\n  report: {report}")
