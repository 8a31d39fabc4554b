"""``facscope analyze VIDEO --timeline``: a video or frame folder read frame by frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["analyze_timeline"]


def analyze_timeline(
    path: Path | None, out_dir: Path | None, fps: float | None, opts: dict[str, Any], as_json: bool
) -> None:
    """Write timeline.csv, timeline.png and report.html for ``path`` and print a summary.

    ``fps`` is the sampling rate (samples per second of video); a frame folder has no rate of
    its own, so there every frame is sampled and ``fps`` is taken as the folder's frame rate.
    """
    from facscope.agent.timeline import TimelineConfig, video_timeline
    from facscope.cli.common import echo_json
    from facscope.errors import ConfigError
    from facscope.io import is_video
    from facscope.motion.clip import open_clip

    if path is None or not (path.is_dir() or is_video(path)):
        raise ConfigError(
            f"--timeline needs a video file or a frame folder; got {path or 'no input'}"
        )
    folder = path.is_dir()
    clip = open_clip(path, fps=fps if folder else None)
    config = TimelineConfig(fps=None if folder else fps, detector=opts["detector"])
    timeline = video_timeline(clip, config)
    files = timeline.write(out_dir or Path(f"{path.stem or path.name}_timeline"))
    record = {
        "input": str(path),
        "frames": timeline.frames,
        "sampled": timeline.sampled,
        "no_face": timeline.no_face,
        **{k: str(v) for k, v in files.items()},
    }
    if as_json:
        echo_json(record)
        return
    click.echo(
        f"{path}: {timeline.sampled} of {timeline.frames} frame(s) read, {timeline.no_face} "
        f"without a face\n  csv: {files['csv']}\n  plot: {files['plot']}\n  report: {files['report']}"
    )
