"""How well built targets are grounded: do the regions they name as moving match the truth?

On a synthetic dataset (``facscope synth`` writes ``truth.json`` with every clip's true AUs),
:func:`grounding_recall` checks each record of a build against the truth: for every true AU,
are its main regions (:func:`facscope.mellm.regions.main_regions`) among the regions the
target names as moving? It also counts the named regions that no true AU touches at all
(spill-over from neighbouring motion, flow noise), which the targets describe as not attributed
to a coded AU.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["grounding_recall"]


def grounding_recall(
    build_dir: str | os.PathLike[str], truth: str | os.PathLike[str]
) -> dict[str, Any]:
    """Main-region recall of the targets in ``build_dir`` against ``truth`` (a ``truth.json``).

    Returns ``{"records", "regions": {"named", "total", "recall"}, "per_au": {au: {...}},
    "unrelated_named": n, "aus_exact": fraction of targets whose AUs equal the true ones}``.
    """
    from facscope.face import AU_REGIONS, regions_for_au
    from facscope.facs import parse_aus
    from facscope.mellm.parse import mentioned_aus
    from facscope.mellm.records import read_records
    from facscope.mellm.regions import main_regions

    data = json.loads(Path(truth).read_text(encoding="utf-8"))
    by_id = {s["sample_id"]: s for s in data["samples"]}
    named = total = unrelated = exact = n = 0
    per_au: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for rec in read_records(build_dir):
        if rec.sample_id not in by_id:
            continue
        n += 1
        aus = parse_aus(by_id[rec.sample_id]["aus"])
        moving = set(rec.moving)
        exact += mentioned_aus(rec.target) == {a.number for a in aus}
        touched: set[str] = set()
        for a in aus:
            need = set(main_regions(a.number, a.side))
            if a.number in AU_REGIONS:
                touched |= set(regions_for_au(a.number, a.side))
            per_au[a.number][0] += len(need & moving)
            per_au[a.number][1] += len(need)
            named += len(need & moving)
            total += len(need)
        unrelated += len(moving - touched)
    return {
        "records": n,
        "regions": {"named": named, "total": total, "recall": named / total if total else 1.0},
        "per_au": {
            str(k): {"named": v[0], "total": v[1], "recall": v[0] / v[1] if v[1] else 1.0}
            for k, v in sorted(per_au.items())
        },
        "unrelated_named": unrelated,
        "aus_exact": exact / n if n else 1.0,
    }
