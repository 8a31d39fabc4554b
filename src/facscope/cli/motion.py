"""``facscope motion`` (one clip or image pair) and ``facscope preprocess`` (a batch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facscope.cli.common import DETECTOR_OPT, choice_option, echo_json, folder_option
from facscope.motion.apex import APEX_SIGNALS, SPOT_RULES
from facscope.motion.clip import FACE_MODES
from facscope.motion.compensate import GLOBAL_MODELS
from facscope.motion.stats import REGION_SETS

OUT_OPT = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Colour map PNG to write (default: <input>_motion.png).",
)


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    from facscope.cli.common import parse_key_values

    return parse_key_values(pairs, "--flow-param")


def pipeline_options(fn: Any) -> Any:
    """Options shared by ``motion`` and ``preprocess`` that build a MotionConfig."""
    opts = [
        click.option(
            "--flow",
            "flow",
            default="tvl1",
            show_default=True,
            help="Flow method: tvl1, tvl1.fine, dis, farneback, tvl1.skimage, ilk.skimage.",
        ),
        click.option(
            "--flow-param", "flow_param", multiple=True, help="A flow parameter NAME=VALUE."
        ),
        click.option(
            "--nose-window",
            default=11,
            show_default=True,
            help="Nose-tip compensation window in pixels (odd; 0 = off).",
        ),
        choice_option(
            "--global-model",
            choices=("auto", "none", *GLOBAL_MODELS),
            default="auto",
            help="Register away the global head/camera motion (fitted robustly over the face) "
            "before the flow and the nose window; none = MELLM's nose window alone; auto = "
            "similarity for a video file, none otherwise.",
        ),
        click.option("--size", default=256, show_default=True, help="Aligned face crop side."),
        choice_option(
            "--face",
            choices=FACE_MODES,
            default="detect",
            help="Detect and align on the onset, or use whole frames (already face crops).",
        ),
        choice_option(
            "--regions",
            "region_set",
            choices=REGION_SETS,
            default="canonical",
            help="Region set of the statistics (mellm29 is approximated from 5 landmarks).",
        ),
        choice_option(
            "--apex-rule",
            choices=SPOT_RULES,
            default="max-motion",
            help="How a clip without an apex gets one.",
        ),
        choice_option(
            "--apex-signal",
            choices=APEX_SIGNALS,
            default="diff",
            help="Motion signal of the max-motion rule.",
        ),
        DETECTOR_OPT,
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A YAML/JSON MotionConfig (e.g. a run's config.json); flags given override it.",
        ),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


#: CLI option → MotionConfig field
_FIELDS = {
    "flow": "flow",
    "nose_window": "nose_window",
    "global_model": "global_model",
    "size": "size",
    "face": "face",
    "region_set": "region_set",
    "apex_rule": "apex_rule",
    "apex_signal": "apex_signal",
    "detector": "detector",
}


def _config(**kw: Any) -> Any:
    """The MotionConfig of the flags, on top of ``--config`` when given (explicit flags win)."""

    from facscope.motion.pipeline import MotionConfig

    ctx = click.get_current_context()
    given = {
        k
        for k in [*_FIELDS, "flow_param"]
        if ctx.get_parameter_source(k) is click.core.ParameterSource.COMMANDLINE
    }
    values: dict[str, Any] = {}
    if kw.get("config_file") is not None:
        from facscope.config import read_yaml

        values.update(read_yaml(kw["config_file"]))
    for opt, name in _FIELDS.items():
        if opt in given or kw.get("config_file") is None:
            values[name] = kw[opt]
    if values.get("global_model") == "auto":
        from facscope.motion.pipeline import default_global_model

        values["global_model"] = default_global_model(kw.get("source"))
    if values.get("global_model") == "none":
        values["global_model"] = None
    if "flow_param" in given or kw.get("config_file") is None:
        values["flow_params"] = {**values.get("flow_params", {}), **_parse_params(kw["flow_param"])}
    return MotionConfig.from_dict(values)


def _embedded_clip() -> tuple[Any, str, dict[str, Any]]:
    """A synthetic clip with known motion (the synth generator when present, else the demo)."""
    from facscope.motion.clip import Clip

    try:
        from facscope.synth.clips import synth_clip
    except ImportError:  # pragma: no cover - synth ships with facscope
        synth_clip = None
    if synth_clip is not None:
        sc = synth_clip(
            emotion="happiness", amplitude=1.5, fps=200, rise=0.06, fall=0.08, noise=1.0, seed=0
        )
        aus = "+".join(str(a.number) for a in sc.aus)
        name = f"synthetic clip (embedded astronaut, {sc.emotion}: AU{aus}, 1.5 px at 256 px)"
    else:
        from facscope.synth.demo import demo_clip

        sc = demo_clip(amplitude=1.5, noise=1.0)
        name = "synthetic clip (embedded astronaut, brows up + lip corners up, 1.5 px at 256 px)"
    truth = {"apex": sc.apex, "onset": sc.onset, "offset": sc.offset}
    return Clip.from_frames(sc.frames, fps=sc.fps), name, truth


@click.command("motion")
@click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
@OUT_OPT
@click.option("--onset", type=int, help="Onset frame number (a clip; default: first frame).")
@click.option("--apex", type=int, help="Apex frame number (a clip; default: spotted).")
@click.option("--offset", type=int, help="Offset frame number (a clip; default: last frame).")
@click.option("--fps", type=float, help="Frame rate of a frame folder (videos carry theirs).")
@pipeline_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--text", "as_text", is_flag=True, help="Print the region statistics as prompt text.")
@click.option(
    "--legend",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the colour legend image here.",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write every output (crops, flow, strain, stack, stats, meta) into this folder.",
)
def motion(
    inputs: tuple[Path, ...],
    output: Path | None,
    onset: int | None,
    apex: int | None,
    offset: int | None,
    fps: float | None,
    as_json: bool,
    as_text: bool,
    legend: Path | None,
    save_dir: Path | None,
    **options: Any,
) -> None:
    """MELLM motion colour map and region statistics, onset → apex.

    INPUTS is ONSET_IMAGE APEX_IMAGE, or one CLIP (a frame folder or a video file), or nothing
    (an embedded synthetic clip with known motion). Frame numbers are the numbers in the frame
    file names (0-based positions for a video).
    """
    from facscope.errors import ConfigError, FaceNotFoundError
    from facscope.io import save_image
    from facscope.motion.pipeline import analyse_clip, analyse_pair

    cfg = _config(**options, source=inputs[0] if len(inputs) == 1 else None)
    truth = None
    if len(inputs) > 2:
        raise ConfigError(
            f"give ONSET_IMAGE APEX_IMAGE, one CLIP, or nothing; got {len(inputs)} inputs"
        )
    if len(inputs) == 2:
        from facscope.io import load_image

        if any(v is not None for v in (onset, apex, offset)):
            raise ConfigError("--onset/--apex/--offset apply to a clip, not to two images")
        name = f"{inputs[0]} → {inputs[1]}"
        try:
            result = analyse_pair(load_image(inputs[0]), load_image(inputs[1]), config=cfg)
        except FaceNotFoundError as exc:  # name the onset image the face was looked for on
            raise FaceNotFoundError(f"{inputs[0]}: {exc}") from None
        numbers = None
        stem = inputs[0].stem
    else:
        if inputs:
            from facscope.motion.clip import open_clip

            clip = open_clip(inputs[0], fps=fps)
            name, stem = str(inputs[0]), inputs[0].stem or "clip"
        else:
            clip, name, truth = _embedded_clip()
            stem = "synthetic"
        pos = {
            k: None if v is None else clip.index_of(v)
            for k, v in (("onset", onset), ("apex", apex), ("offset", offset))
        }
        result = analyse_clip(
            clip,
            onset=0 if pos["onset"] is None else pos["onset"],
            apex=pos["apex"],
            offset=pos["offset"],
            config=cfg,
        )
        numbers = clip.numbers
    out = save_image(output or Path(f"{stem}_motion.png"), result.colormap)
    if legend is not None:
        from facscope.motion.colormap import legend_image

        save_image(legend, legend_image())
    if save_dir is not None:
        result.save(save_dir, extra={"input": name})
    record = {"input": name, "output": str(out), **result.to_dict()}
    if numbers is not None:
        record["frames"] = {
            "onset": numbers[result.onset],
            "apex": numbers[result.apex],
            "offset": numbers[result.offset],  # type: ignore[index]
        }
    if truth is not None:
        record["truth"] = truth
    if as_json:
        echo_json(record)
        return
    if as_text:
        click.echo(result.regions_text())
        return
    where = (
        "" if numbers is None else f", apex frame {record['frames']['apex']} ({result.apex_rule})"
    )
    click.echo(f"{name}: colour map written to {out}{where}")


@click.command("preprocess")
@click.argument("csv_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@folder_option(help="Output folder (one sub-folder per sample, a manifest.jsonl, config.json).")
@click.option("--data", "dataset", help="A dataset name (facscope.data) instead of a CSV.")
@click.option(
    "--root", type=click.Path(path_type=Path), help="The dataset's root folder (with --data)."
)
@click.option("--workers", "-j", default=1, show_default=True, help="Worker processes.")
@click.option("--overwrite", is_flag=True, help="Redo samples that are already done.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@pipeline_options
def preprocess(
    csv_file: Path | None,
    out_dir: Path,
    dataset: str | None,
    root: Path | None,
    workers: int,
    overwrite: bool,
    no_progress: bool,
    **options: Any,
) -> None:
    """Preprocess many clips: aligned crops, flow, strain, colour map and region statistics.

    CSV_FILE has columns id, path (frame folder or video), onset, apex (may be empty), offset,
    fps (may be empty). Or use --data NAME --root ROOT to read a dataset. A killed run resumes
    where it stopped when run again with the same arguments.
    """
    from facscope.errors import ConfigError
    from facscope.motion.preprocess import items_from_dataset, read_clip_csv, run_preprocess

    if (csv_file is None) == (dataset is None):
        raise ConfigError("give exactly one of CSV_FILE or --data NAME --root ROOT")
    if dataset is not None:
        if root is None:
            raise ConfigError("--data needs --root ROOT (the dataset's folder)")
        items = items_from_dataset(dataset, root)
    else:
        assert csv_file is not None
        items = read_clip_csv(csv_file)
    report = run_preprocess(
        items,
        out_dir,
        config=_config(**options),
        workers=workers,
        overwrite=overwrite,
        progress=not no_progress,
    )
    click.echo(
        f"{report.total} sample(s): {report.ok} done, {report.skipped} already done, "
        f"{report.errors} failed; manifest: {report.manifest}"
    )
    if report.failed:
        shown = ", ".join(report.failed[:5]) + (" …" if len(report.failed) > 5 else "")
        click.echo(f"failed: {shown} (errors in the manifest)", err=True)
