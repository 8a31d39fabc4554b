"""Precomputed model inputs (sample kind ``flow``) and the fold-per-folder flow layout.

Most micro-expression work starts from apex-flow images computed elsewhere: the MEGC 2019
composite circulates as one 28 × 28 PNG per sample whose three channels are the horizontal
flow, the vertical flow and the optical strain, each min–max normalised to 0..255. A ``flow``
sample names such a file (PNG/JPEG, or a ``.npy`` / ``.npz`` array ``(H, W, C)``); how to read
it travels in the sample's meta:

* ``flow_channels``: names of the channels in the order the model receives them (default
  ``u,v,strain``); a model picks its channels by these names.
* ``flow_order``: ``rgb`` (an image's channels as stored: R, G, B) or ``bgr`` (reversed, as
  ``cv2.imread`` hands them; the STSTNet authors fed that order to their network, so their
  checkpoints expect it).
* ``flow_scale``: ``stored`` (values as in the file, 0..255 for 8-bit images: the STSTNet
  authors' convention), ``unit`` (divided by the dtype's maximum: 0..1, the scale of
  facscope's own flow stacks) or ``denorm`` (back to the flow's own range from the per-sample
  meta ``{name}_min`` / ``{name}_max`` that the normalisation used).

The ``flowfolds`` adapter reads the fold-per-folder layout ``ROOT/{subject}/u_test/{class}/*``
(``u_train`` holds the other subjects' samples again and is only counted).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.data.dataset import DATASETS, Dataset, infer_classes
from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.errors import ConfigError, DatasetError, FacscopeDataWarning, InputFileError
from facscope.facs import normalize_emotion

__all__ = [
    "ARRAY_SUFFIXES",
    "FLOW_ORDERS",
    "FLOW_SCALES",
    "flow_meta",
    "flowfolds",
    "read_flow",
]

#: Array files read as ``flow`` samples whatever the adapter's ``kind``.
ARRAY_SUFFIXES = (".npy", ".npz")
FLOW_ORDERS = ("rgb", "bgr")
FLOW_SCALES = ("stored", "unit", "denorm")
DEFAULT_CHANNELS = ("u", "v", "strain")

#: Subject-name rules of the MEGC 2019 composite as its public flow sets spell them (STSTNet's
#: release: ``sub01`` CASME II, ``006`` SAMM, ``s01`` SMIC); first match wins.
COMPOSITE_SOURCES = (("casme2", r"^sub\d+$"), ("samm", r"^\d{3}$"), ("smic", r"^s\d+$"))


def flow_meta(
    channels: Sequence[str] | str | None = None,
    order: str = "rgb",
    scale: str = "stored",
) -> dict[str, str]:
    """The checked ``flow_*`` meta an adapter gives its flow samples."""
    if isinstance(channels, str):
        channels = [c.strip() for c in channels.split(",") if c.strip()]
    names = tuple(channels) if channels else DEFAULT_CHANNELS
    if len(set(names)) != len(names):
        raise ConfigError(f"flow_channels must be distinct names; got {list(names)}")
    if order not in FLOW_ORDERS:
        raise ConfigError(f"flow_order must be one of {list(FLOW_ORDERS)}; got {order!r}")
    if scale not in FLOW_SCALES:
        raise ConfigError(f"flow_scale must be one of {list(FLOW_SCALES)}; got {scale!r}")
    return {"flow_channels": ",".join(names), "flow_order": order, "flow_scale": scale}


def _load_array(path: Path) -> np.ndarray:
    try:
        obj = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: cannot be read as a numpy array ({exc})") from None
    if isinstance(obj, np.lib.npyio.NpzFile):
        with obj:
            keys = list(obj.keys())
            key = "flow" if "flow" in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise InputFileError(
                    f"{path}: holds arrays {keys}; name the flow array 'flow' or keep one"
                )
            return np.asarray(obj[key])
    return np.asarray(obj)


def _load_image(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputFileError(f"{path}: cannot be read as an image; is it a PNG/JPEG?")
    if img.ndim == 3:
        img = img[..., ::-1]  # cv2's BGR(A) → the file's own order, R, G, B(, A)
    return np.ascontiguousarray(img)


def read_flow(path: str | os.PathLike[str], meta: Mapping[str, Any] | None = None) -> np.ndarray:
    """The flow input of one file as ``float32`` ``(H, W, C)``, in the channel order and value
    scale its ``flow_*`` meta give (see the module docstring).

    Raises:
        InputFileError: the file is missing or unreadable, or its channel count does not match
            ``flow_channels`` (e.g. a 4-channel PNG: an alpha channel is no flow).
        ConfigError: ``denorm`` without the ``{name}_min`` / ``{name}_max`` meta.
    """
    p = Path(path)
    m = dict(meta or {})
    fmt = flow_meta(
        m.get("flow_channels"), m.get("flow_order", "rgb"), m.get("flow_scale", "stored")
    )
    names = fmt["flow_channels"].split(",")
    if not p.is_file():
        raise InputFileError(f"{p}: no such flow file")
    raw = _load_array(p) if p.suffix.lower() in ARRAY_SUFFIXES else _load_image(p)
    arr = raw[..., None] if raw.ndim == 2 else raw
    if arr.ndim != 3 or arr.shape[-1] != len(names):
        raise InputFileError(
            f"{p}: has shape {tuple(raw.shape)}, i.e. {arr.shape[-1] if arr.ndim == 3 else '?'} "
            f"channels, but flow_channels names {len(names)} ({fmt['flow_channels']}); "
            + ("a 4-channel PNG carries alpha: save it as RGB, or " if arr.shape[-1] == 4 else "")
            + "set flow_channels to the file's channels"
        )
    if fmt["flow_order"] == "bgr":
        arr = arr[..., ::-1]
    out = arr.astype(np.float32)
    if fmt["flow_scale"] == "unit" and np.issubdtype(raw.dtype, np.integer):
        out /= float(np.iinfo(raw.dtype).max)
    elif fmt["flow_scale"] == "denorm":
        top = float(np.iinfo(raw.dtype).max) if np.issubdtype(raw.dtype, np.integer) else 1.0
        for c, name in enumerate(names):
            lo, hi = m.get(f"{name}_min"), m.get(f"{name}_max")
            if lo is None or hi is None:
                raise ConfigError(
                    f"{p}: flow_scale 'denorm' needs meta columns {name}_min and {name}_max "
                    "(the range the normalisation mapped to 0..max)"
                )
            out[..., c] = out[..., c] / top * (float(hi) - float(lo)) + float(lo)
    return np.ascontiguousarray(out)


def constant_channels(arr: np.ndarray, names: Sequence[str]) -> list[str]:
    """Names of the channels of ``arr`` ``(H, W, C)`` that hold one value everywhere."""
    flat = arr.reshape(-1, arr.shape[-1])
    return [n for c, n in enumerate(names) if flat[:, c].min() == flat[:, c].max()]


def _source(subject: str, rules: Sequence[tuple[str, str]]) -> str | None:
    for name, pattern in rules:
        if re.search(pattern, subject):
            return name
    return None


@DATASETS.register("flowfolds")
def flowfolds(
    root: str | os.PathLike[str],
    *,
    class_names: Mapping[str, str] | Sequence[str] | None = None,
    sources: Mapping[str, str] | None = None,
    flow_channels: Sequence[str] | str | None = None,
    flow_order: str = "rgb",
    flow_scale: str = "stored",
    strict: bool = False,
) -> Dataset:
    """The fold-per-folder flow layout: ``ROOT/{subject}/u_test/{class}/*.png`` (and ``u_train``).

    Each subject's own samples are the files of its ``u_test`` folder; ``u_train`` (the other
    subjects' samples again) is only counted, and a count that differs from the other
    subjects' ``u_test`` files is a warning. The label is the class folder's name, or
    ``class_names[name]`` (a mapping, or a list indexed by a numeric folder name: STSTNet's
    release numbers them 0 negative, 1 positive, 2 surprise). The sample's dataset (what the
    per-source breakdown reads) comes from ``sources`` (name → regex on the subject), by
    default the composite's spelling (``sub01`` CASME II, ``006`` SAMM, ``s01`` SMIC), else
    ``flowfolds``. Channel options as in the module docstring.
    """
    from facscope.io import IMAGE_SUFFIXES

    base = Path(root)
    if not base.is_dir():
        raise DatasetError(f"{base}: no such folder; pass the flow set's root (--root)")
    meta = flow_meta(flow_channels, flow_order, flow_scale)
    rules = tuple(sources.items()) if sources else COMPOSITE_SOURCES
    subjects = sorted(p for p in base.iterdir() if (p / "u_test").is_dir())
    if not subjects:
        raise DatasetError(
            f"{base}: no {{subject}}/u_test/ folders; this adapter reads "
            "ROOT/{subject}/u_train|u_test/{class}/*.png"
        )
    suffixes = IMAGE_SUFFIXES + ARRAY_SUFFIXES
    samples: list[Sample] = []
    train_counts: dict[str, int] = {}
    for sdir in subjects:
        subject = sdir.name
        dataset = _source(subject, rules) or "flowfolds"
        for cdir in sorted(p for p in (sdir / "u_test").iterdir() if p.is_dir()):
            label = _class_name(cdir.name, class_names)
            for f in sorted(cdir.iterdir()):
                if f.suffix.lower() in suffixes and not f.name.startswith("."):
                    samples.append(
                        Sample(
                            dataset=dataset,
                            subject=subject,
                            sample_id=f"{subject}/{f.stem}",
                            flow=f,
                            emotion=cdir.name,
                            label=label,
                            meta=dict(meta),
                        )
                    )
        train = sdir / "u_train"
        if train.is_dir():
            train_counts[subject] = sum(1 for f in train.rglob("*") if f.suffix.lower() in suffixes)
    _check_train_counts(samples, train_counts, base, strict)
    log = ProblemLog("flowfolds", strict=strict)
    classes = infer_classes(s.label for s in samples)
    log.warn()
    options = {"class_names": class_names, "sources": dict(rules), **meta}
    return Dataset(
        "flowfolds", base, samples, problems=log.problems, classes=classes, options=options
    )


def class_label(name: str) -> str:
    """A class name as a label: the canonical emotion when it is one, else the name lower-cased."""
    return normalize_emotion(name) or name.strip().lower()


def _class_name(folder: str, names: Mapping[str, str] | Sequence[str] | None) -> str:
    number = int(folder) if folder.isdigit() else None
    if isinstance(names, Mapping):
        key = folder if folder in names else number if number in names else None
        return class_label(str(names[key]) if key is not None else folder)
    if names is not None and number is not None and number < len(names):
        return class_label(str(names[number]))
    return class_label(folder)


def _check_train_counts(
    samples: Sequence[Sample], counts: Mapping[str, int], base: Path, strict: bool
) -> None:
    total = len(samples)
    own: dict[str, int] = {}
    for s in samples:
        own[s.subject] = own.get(s.subject, 0) + 1
    bad = [s for s, n in counts.items() if n != total - own.get(s, 0)]
    if bad:
        msg = (
            f"{base}: u_train of {len(bad)} subject(s) (first: {bad[0]}, {counts[bad[0]]} files) "
            "does not hold exactly the other subjects' u_test samples; facscope builds each "
            "fold from the u_test folders (leave-one-subject-out) and ignores u_train"
        )
        if strict:
            raise DatasetError(msg)
        warnings.warn(msg, FacscopeDataWarning, stacklevel=3)
