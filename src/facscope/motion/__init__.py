"""Micro-expression motion: clips, optical flow, compensation, strain, colour maps, statistics.

Importing this package loads nothing heavy; the names below are loaded from their submodules on
first use (``from facscope.motion import compute_flow``).
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    # clips and their onset alignment
    "Clip": "clip",
    "ClipAlignment": "clip",
    "align_frame": "clip",
    "open_clip": "clip",
    # optical flow
    "FLOWS": "flow",
    "compute_flow": "flow",
    "create_flow": "flow",
    "endpoint_error": "flow",
    "list_flows": "flow",
    # head-motion compensation, strain
    "CompensationConfig": "compensate",
    "compensate": "compensate",
    "fit_global_motion": "compensate",
    "nose_window_mean": "compensate",
    "optical_strain": "strain",
    "ststnet_stack": "strain",
    # MELLM colour map and region statistics
    "LEGEND": "colormap",
    "legend_image": "colormap",
    "legend_text": "colormap",
    "motion_colormap": "colormap",
    "MELLM_REGIONS": "stats",
    "RegionMotion": "stats",
    "region_stats": "stats",
    "stats_json": "stats",
    "stats_text": "stats",
    # apex spotting, the pipeline, batch preprocessing
    "ApexResult": "apex",
    "max_motion_apex": "apex",
    "spot_apex": "apex",
    "MotionConfig": "pipeline",
    "MotionResult": "pipeline",
    "align_onset": "pipeline",
    "analyse_clip": "pipeline",
    "analyse_pair": "pipeline",
    "default_global_model": "pipeline",
    "spot_clip_apex": "pipeline",
    "ClipItem": "preprocess",
    "read_clip_csv": "preprocess",
    "run_preprocess": "preprocess",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
