"""Synthetic ground truth: real public-domain faces moved by known AU displacement fields, as
clips and whole datasets written in the official CASME II / SAMM / DFME release layouts.

* :mod:`~facscope.synth.base` — the base faces (the astronaut, scikit-image's LFW subset);
* :mod:`~facscope.synth.fields` — one displacement field per AU, in the aligned face;
* :mod:`~facscope.synth.render` — frames warped by a field;
* :mod:`~facscope.synth.truth` — what every synthetic clip carries (frames, timing, flow);
* :mod:`~facscope.synth.clips` — one onset → apex → offset clip (:func:`synth_clip`);
* :mod:`~facscope.synth.dataset` — a dataset on disk (:func:`write_dataset`), resumable;
* :mod:`~facscope.synth.layouts` — the annotation sheets each release layout writes;
* :mod:`~facscope.synth.demo` — the small embedded demo clip (:func:`demo_clip`).

Importing this package loads nothing heavy; names load from their submodules on first use.
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    "ClipTruth": "truth",
    "DemoClip": "demo",
    "demo_clip": "demo",
    "warp_by_flow": "demo",
    "SynthClip": "clips",
    "SynthConfig": "clips",
    "synth_clip": "clips",
    "DatasetConfig": "dataset",
    "DatasetResult": "dataset",
    "write_dataset": "dataset",
    "LAYOUTS": "layouts",
    "get_layout": "layouts",
    "au_field": "fields",
    "supported_aus": "fields",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
