"""``facscope data check``: verify every sample's files and frame indices on disk."""

from __future__ import annotations

from collections.abc import Callable

from facscope.data.dataset import Dataset
from facscope.data.problems import Problem
from facscope.data.sample import Sample
from facscope.errors import ConfigError, ImageDecodeError, InputFileError
from facscope.io import frame_gaps, frame_number, list_frames

__all__ = ["check_dataset", "check_sample"]


def check_sample(sample: Sample, *, decode: bool = False) -> list[Problem]:
    """Problems with one sample's files: a missing folder or file, onset/apex/offset not among
    the frames on disk, gaps inside [onset, offset]; with ``decode``, key frames (or the image)
    that do not decode."""
    out: list[Problem] = []

    def add(kind: str, message: str) -> None:
        out.append(Problem(sample.dataset, kind, "kept", message, sample.sample_id))

    if sample.frames_dir is None:
        path = sample.path
        if not path.is_file():
            add("missing-file", f"no {sample.kind} {path}")
        elif decode and sample.image is not None:
            _decode(path, add)
        return out
    try:
        files = list_frames(sample.frames_dir)
    except (InputFileError, ConfigError) as exc:
        add("missing-frames", str(exc))
        return out
    by_number = {frame_number(p): p for p in files}
    numbers = sorted(by_number)
    onset = numbers[0] if sample.onset is None else sample.onset
    offset = numbers[-1] if sample.offset is None else sample.offset
    keys = {"onset": onset, "apex": sample.apex, "offset": offset}
    absent = {k: v for k, v in keys.items() if v is not None and v not in by_number}
    if absent:
        add(
            "index-outside-frames",
            f"{absent} not among the frames on disk "
            f"[{numbers[0]}, {numbers[-1]}] ({len(numbers)} frames)",
        )
    inside = [n for n in numbers if onset <= n <= offset]
    gaps = frame_gaps([onset - 1, *inside, offset + 1])
    if gaps:
        add("frame-gap", f"missing frames {gaps} within [{onset}, {offset}]")
    if decode:
        for n in dict.fromkeys(v for v in keys.values() if v in by_number):
            _decode(by_number[n], add)  # type: ignore[index]
    return out


def _decode(path: object, add: Callable[[str, str], None]) -> None:
    from facscope.io import load_image

    try:
        load_image(path)  # type: ignore[arg-type]
    except (ImageDecodeError, InputFileError) as exc:
        add("missing-file", f"unreadable: {exc}")


def check_dataset(
    dataset: Dataset, *, decode: bool = False, progress: bool = False
) -> list[Problem]:
    """Every problem of ``dataset``: those found while loading, then those found on disk now
    (one entry per kind and sample)."""
    from tqdm import tqdm

    found = list(dataset.problems)
    seen = {(p.kind, p.sample_id) for p in found}
    for sample in tqdm(dataset, desc=f"check {dataset.name}", unit="sample", disable=not progress):
        for p in check_sample(sample, decode=decode):
            if (p.kind, p.sample_id) not in seen:
                seen.add((p.kind, p.sample_id))
                found.append(p)
    return found
