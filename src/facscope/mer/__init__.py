"""Micro-expression recognition (the DFME-style benchmark): key-frame sampling, video and
apex-flow baselines, class-imbalance losses, cached data loading, training and grids.

Metrics, protocols and reports are shared with the other consumers and live in
:mod:`facscope.eval`. Importing this package loads no torch; names load from their submodules
on first use (``from facscope.mer import create_model`` imports torch).
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["GridConfig", "TrainConfig", "load_config", "grid_config"], "config"),
    **dict.fromkeys(
        ["MODELS", "create_model", "list_models", "load_weights", "model_input"], "models"
    ),
    **dict.fromkeys(["OffApexNet", "STSTNet"], "flownets"),
    **dict.fromkeys(["SAMPLERS", "list_samplers", "sample_frames"], "sampling"),
    **dict.fromkeys(["IMBALANCE", "create_imbalance", "list_imbalance"], "imbalance"),
    **dict.fromkeys(["CacheSpec", "build_cache"], "cache"),
    **dict.fromkeys(["RunResult", "train"], "train"),
    **dict.fromkeys(["FoldCallback", "RunState"], "callbacks"),
    **dict.fromkeys(["GridSummary", "run_grid"], "grid"),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
