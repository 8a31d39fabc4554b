"""Evaluation shared by every consumer (``mer``, ``agent``, ``mellm``): metrics, subject-
independent protocols, per-sample predictions and pooled reports. NumPy only (no torch), so its names are imported eagerly.

* :mod:`~facscope.eval.metrics` — ACC / UF1 / UAR, confusion matrices, AU F1, bootstrap CIs;
* :mod:`~facscope.eval.protocols` — LOSO, group k-fold, composite LOSO, cross-dataset, official
  splits (a registry: :data:`PROTOCOLS`);
* :mod:`~facscope.eval.predictions` — the per-sample predictions CSV of every test fold;
* :mod:`~facscope.eval.report` — pooled results tables and confusion images;
* :mod:`~facscope.eval.aus` — per-AU occurrence F1 and intensity ICC(3,1) / MAE over a stated
  label set, AU tables and bar plots; :mod:`~facscope.eval.au_measure` measures a dataset's
  samples for it (``facscope eval aus``; the face mesh is imported only when measuring).
"""

from __future__ import annotations

from facscope.eval import aus, metrics, predictions, protocols, report
from facscope.lazy import reexport

__all__ = reexport(globals(), metrics, protocols, predictions, report, aus)
