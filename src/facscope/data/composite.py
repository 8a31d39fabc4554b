"""The MEGC 2019 composite: SMIC-HS + CASME II + SAMM relabelled to 3 classes.

positive = happiness; negative = disgust, repression, anger, contempt, fear, sadness; surprise =
surprise; "others" dropped. On the full releases this gives 442 samples from 68 subjects
(CASME II 145, SAMM 133, SMIC 164). Samples keep their source dataset and subject, so the
protocol groups on ``dataset/subject`` (68 LOSO folds).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, clip_adapter
from facscope.data.dataset import DATASETS, Dataset, concat
from facscope.errors import DatasetError
from facscope.facs import MEGC3

__all__ = ["MEGC2019_PARTS", "megc2019"]

#: part → (adapter, folder names that identify it under a common root)
MEGC2019_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "smic": ("smic.hs", ("smic", "smic_all_cropped", "smic-hs", "smic_hs")),
    "casme2": ("casme2", ("casme2", "casme ii", "casme_ii", "casmeii", "casme2_raw_selected")),
    "samm": ("samm", ("samm", "samm_micro", "samm_v2")),
}


def _find_part(root: Path, names: tuple[str, ...]) -> Path | None:
    if not root.is_dir():
        return None
    for p in sorted(root.iterdir()):
        if p.is_dir() and p.name.lower() in names:
            return p
    return None


@DATASETS.register("megc2019")
@clip_adapter("scan", "apex", "apex_fn")
def megc2019(
    root: str | os.PathLike[str] | Mapping[str, Any] | None,
    options: ClipOptions | None = None,
    *,
    smic: str | os.PathLike[str] | None = None,
    casme2: str | os.PathLike[str] | None = None,
    samm: str | os.PathLike[str] | None = None,
) -> Dataset:
    """MEGC 2019 composite: SMIC-HS + CASME II + SAMM in 3 classes, "others" dropped.

    Give three roots (``smic=``, ``casme2=``, ``samm=``), or one folder holding SMIC/, CASME2/
    and SAMM/ (names matched case-insensitively, see :data:`MEGC2019_PARTS`).
    """
    given: dict[str, Any] = {"smic": smic, "casme2": casme2, "samm": samm}
    base: Path | None = None
    if isinstance(root, Mapping):
        given = {k: given[k] or root.get(k) for k in given}
    elif root is not None:
        base = Path(root)
    paths = {}
    for part, (_, names) in MEGC2019_PARTS.items():
        paths[part] = given[part] or (None if base is None else _find_part(base, names))
        if paths[part] is None:
            raise DatasetError(
                f"megc2019: no {part} root; put it in a folder named one of {list(names)} under "
                f"{base or 'the root'} or pass {part}=PATH"
            )
    opts = replace(options or ClipOptions(), target="label")
    parts = [DATASETS.get(adapter)(paths[p], opts) for p, (adapter, _) in MEGC2019_PARTS.items()]
    whole = concat("megc2019", parts, target="label")
    out = whole.with_target("megc3")
    out.root = base
    out.classes = MEGC3
    out.options = {p.name: p.options for p in parts} | {
        "dropped_no_3class_label": len(whole) - len(out),
        "roots": {p.name: str(p.root) for p in parts},
    }
    return out
