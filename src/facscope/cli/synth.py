"""``facscope synth``: synthetic micro-expression datasets and clips with known ground truth."""

from __future__ import annotations

from pathlib import Path

import click

from facscope.errors import ConfigError


def _frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise ConfigError(
            f"--frame-size must be WIDTHxHEIGHT, e.g. 640x480; got {text!r}"
        ) from None
    return w, h


@click.command("synth")
@click.argument("out_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--layout",
    type=click.Choice(["casme2", "samm", "dfme"]),
    default="casme2",
    show_default=True,
    help="Release layout of the dataset (docs/layouts.md).",
)
@click.option("--subjects", default=4, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--clips-per-subject", default=3, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--amplitude",
    default=1.0,
    show_default=True,
    help="Peak displacement in pixels at a 256-px aligned face (MEs: 0.2-3).",
)
@click.option("--fps", type=float, help="Frame rate [default: the dataset's; DFME by part].")
@click.option("--seed", default=0, show_default=True, help="Seeds every random choice.")
@click.option("--frame-size", default="640x480", show_default=True, help="WIDTHxHEIGHT.")
@click.option("--noise", default=1.0, show_default=True, help="Sensor noise sigma (grey levels).")
@click.option(
    "--head-motion", default=0.0, show_default=True, help="Peak head drift (256-px aligned px)."
)
@click.option(
    "--flicker", default=0.0, show_default=True, help="Illumination gain amplitude (0.02 = ±2%)."
)
@click.option("--emotions", help="Comma-separated labels to cycle through [default: all].")
@click.option("--quirks", is_flag=True, help="Write realistic annotation quirks ('/' apex, '(?)').")
@click.option("--save-flow", is_flag=True, help="Save each clip's true flow as .npy.")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset or clip folder.")
@click.option(
    "--clip",
    "clip_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one clip as a frame folder (with truth.json and flow.npy) instead of a dataset.",
)
@click.option("--aus", help="With --clip: the AUs, e.g. '1+2+L12' [default: the emotion's].")
@click.option("--emotion", help="With --clip: the emotion [default: happiness].")
@click.option(
    "--base",
    default="astronaut",
    show_default=True,
    help="With --clip: 'astronaut', 'lfw:N' (0-99) or a face image file.",
)
def synth(
    out_dir: Path | None,
    layout: str,
    subjects: int,
    clips_per_subject: int,
    amplitude: float,
    fps: float | None,
    seed: int,
    frame_size: str,
    noise: float,
    head_motion: float,
    flicker: float,
    emotions: str | None,
    quirks: bool,
    save_flow: bool,
    overwrite: bool,
    clip_dir: Path | None,
    aus: str | None,
    emotion: str | None,
    base: str,
) -> None:
    """Write a synthetic ME dataset (CASME II / SAMM / DFME layout) with known ground truth.

    Real faces (the embedded astronaut, scikit-image's LFW faces) are moved by AU displacement
    fields along an onset-apex-offset profile. Beside the annotation file, truth.json holds each
    sample's true AUs, emotion, apex and amplitude. A re-run with the same options resumes.
    """
    size = _frame_size(frame_size)
    if (out_dir is None) == (clip_dir is None):
        raise ConfigError("give exactly one of OUT_DIR (a dataset) or --clip FOLDER (one clip)")
    if clip_dir is not None:
        _one_clip(
            clip_dir,
            aus,
            emotion,
            base,
            amplitude,
            fps,
            seed,
            size,
            noise,
            head_motion,
            flicker,
            overwrite,
        )
        return
    if aus is not None or emotion is not None:
        raise ConfigError("--aus and --emotion apply to --clip; use --emotions for a dataset")
    from facscope.synth.dataset import write_dataset

    assert out_dir is not None
    result = write_dataset(
        out_dir, layout, subjects=subjects, clips_per_subject=clips_per_subject,
        amplitude=amplitude, fps=fps, seed=seed,
        emotions=None if emotions is None else [e for e in emotions.split(",") if e.strip()],
        frame_size=size, noise=noise, head_motion=head_motion, flicker=flicker, quirks=quirks,
        save_flow=save_flow, overwrite=overwrite,
    )  # fmt: skip
    click.echo(
        f"{layout}: {len(result.samples)} clips in {result.root} ({result.written} written, "
        f"{result.skipped} already there, {len(result.failed)} failed); annotation "
        f"{result.annotation.name}, ground truth {result.truth.name}"
    )
    for f in result.failed:
        click.echo(f"  failed {f['sample_id']}: {f['error']}", err=True)
    if result.failed:
        raise SystemExit(1)


def _one_clip(
    folder: Path,
    aus: str | None,
    emotion: str | None,
    base: str,
    amplitude: float,
    fps: float | None,
    seed: int,
    size: tuple[int, int],
    noise: float,
    head_motion: float,
    flicker: float,
    overwrite: bool,
) -> None:

    import cv2
    import numpy as np

    from facscope.facs import format_aus
    from facscope.io import load_image
    from facscope.synth.clips import synth_clip

    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise ConfigError(f"{folder} is not empty; choose a new folder or pass --overwrite")
    src = base if base == "astronaut" or base.lower().startswith("lfw:") else load_image(base)
    clip = synth_clip(
        src, aus=aus, emotion=emotion, amplitude=amplitude, fps=fps or 200, frame_size=size,
        noise=noise, head_motion=head_motion, flicker=flicker, seed=seed,
    )  # fmt: skip
    from facscope.io import atomic_dir, write_json

    with atomic_dir(folder) as tmp:
        for k, frame in enumerate(clip.frames, start=1):
            cv2.imwrite(
                str(tmp / f"img{k}.jpg"),
                cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 95],
            )
        np.save(tmp / "flow.npy", clip.flow)
        truth = {
            "fps": clip.fps, "onset": clip.onset + 1, "apex": clip.apex + 1,
            "offset": clip.offset + 1, "frame_names": "img{N}.jpg, N from 1",
            "aus": format_aus(clip.aus), "emotion": clip.emotion, "amplitude": clip.amplitude,
            "base": clip.base, "face": clip.face.to_dict(), "seed": seed,
            "flow": "flow.npy (onset→apex, frame pixels, OpenCV convention)",
        }  # fmt: skip
        write_json(tmp / "truth.json", truth)
    click.echo(
        f"{len(clip)} frames written to {folder} (apex frame {clip.apex + 1}, "
        f"AUs {format_aus(clip.aus)}, {clip.emotion}); truth.json and flow.npy beside them"
    )
