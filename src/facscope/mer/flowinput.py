"""Precomputed flow files (samples of kind ``flow``) as cache entries: read once, checked, and
passed to the flow models as they are — no face detection, no flow step.

A file is read with :func:`facscope.data.flowsets.read_flow` (channel names, order and scale
from the sample's ``flow_*`` meta), the model's channels are picked by name, and the stack is
resized to the model's input side when it differs. The entry holds ``flow.npy`` (``float32``
``(size, size, C)``) like a computed flow entry, so the loader treats both alike.

Wrong-looking data is reported once per run (:func:`check_flow_entries`): a channel that is
constant in a file and files whose sizes differ are :class:`FacscopeDataWarning` s naming the
first file; a channel count that does not match the names (a 4-channel PNG) is an error.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.data.flowsets import constant_channels, read_flow
from facscope.data.sample import Sample
from facscope.errors import ConfigError, FacscopeDataWarning
from facscope.io import atomic_path, write_json

__all__ = ["cache_flow_file", "check_flow_entries", "format_meta", "mirror_value"]


def format_meta(sample: Sample) -> dict[str, Any]:
    """The sample's meta that shapes how its flow file reads (``flow_*``, and the per-channel
    ``{name}_min`` / ``{name}_max`` of ``denorm``)."""
    m = sample.meta
    names = str(m.get("flow_channels", "u,v,strain")).split(",")
    keep = {k: v for k, v in m.items() if k.startswith("flow_")}
    if m.get("flow_scale") == "denorm":
        keep |= {k: m[k] for n in names for k in (f"{n}_min", f"{n}_max") if k in m}
    return keep


def mirror_value(sample: Sample) -> float:
    """What a horizontal flip maps u to: ``m - u`` (255 for 8-bit values as stored, 1 for 0..1,
    0 — a plain negation — for de-normalised flow)."""
    scale = sample.meta.get("flow_scale", "stored")
    return {"stored": 255.0, "unit": 1.0}.get(str(scale), 0.0)


def cache_flow_file(sample: Sample, spec: Any, entry: Path) -> Path:
    """Build the entry of one flow file (``spec`` a :class:`~facscope.mer.cache.CacheSpec`)."""
    import cv2

    arr = read_flow(sample.path, sample.meta)
    names = str(sample.meta.get("flow_channels", "u,v,strain")).split(",")
    missing = [c for c in spec.channels if c not in names]
    if missing:
        raise ConfigError(
            f"{sample.path}: the model reads channels {list(spec.channels)} but the file's are "
            f"named {names}; set flow_channels (data_options) to name them"
        )
    picked = arr[..., [names.index(c) for c in spec.channels]]
    size = int(spec.size)
    if picked.shape[:2] != (size, size):
        picked = cv2.resize(picked, (size, size), interpolation=cv2.INTER_LINEAR)
        picked = picked.reshape(size, size, len(spec.channels))
    with atomic_path(entry / "flow.npy") as tmp:
        np.save(tmp, np.ascontiguousarray(picked, dtype=np.float32))
    meta = {
        "sample_id": sample.sample_id,
        "subject": sample.subject,
        "dataset": sample.dataset,
        "source": str(sample.path),
        "shape": list(arr.shape),
        "constant": constant_channels(arr, names),
        "settings": spec.file_settings(sample),
    }
    write_json(entry / "meta.json", meta)
    return entry


def check_flow_entries(
    samples: Sequence[Sample], entries: Sequence[Path | None], size: int
) -> list[str]:
    """Warn about wrong-looking flow files among finished entries; returns the messages."""
    import json

    shapes: Counter[tuple[int, ...]] = Counter()
    first_of: dict[tuple[int, ...], str] = {}
    constant: list[tuple[str, list[str]]] = []
    for s, e in zip(samples, entries):
        if e is None or not s.is_flow:
            continue
        meta = json.loads((Path(e) / "meta.json").read_text())
        shape = tuple(meta["shape"][:2])
        shapes[shape] += 1
        first_of.setdefault(shape, meta["source"])
        if meta["constant"]:
            constant.append((meta["source"], meta["constant"]))
    messages = []
    if len(shapes) > 1:
        (common, n), *others = shapes.most_common()
        odd = others[0][0]
        messages.append(
            f"flow files differ in size: {n} are {common[0]}x{common[1]}, "
            f"{sum(c for _, c in others)} are not (first: {first_of[odd]}, {odd[0]}x{odd[1]}); "
            f"all are resized to the model's {size}x{size}: check that they come from one set"
        )
    elif shapes and next(iter(shapes)) != (size, size):
        shape = next(iter(shapes))
        messages.append(
            f"flow files are {shape[0]}x{shape[1]} (e.g. {first_of[shape]}); they are resized "
            f"to the model's {size}x{size} (set size / input_size to read them unchanged)"
        )
    if constant:
        path, names = constant[0]
        messages.append(
            f"{len(constant)} flow file(s) have a constant channel (first: {path}, channel "
            f"{', '.join(names)}): a channel with no motion often means a wrong channel order "
            "or an empty image"
        )
    for m in messages:
        warnings.warn(m, FacscopeDataWarning, stacklevel=3)
    return messages
