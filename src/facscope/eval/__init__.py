"""Evaluation shared by every consumer (``mer``, ``agent``, ``mellm``): metrics, subject-
independent protocols, per-sample predictions and pooled reports. NumPy only; no torch.

* :mod:`~facscope.eval.metrics` — ACC / UF1 / UAR, confusion matrices, AU F1, bootstrap CIs;
* :mod:`~facscope.eval.protocols` — LOSO, group k-fold, composite LOSO, cross-dataset, official
  splits (a registry: :data:`PROTOCOLS`);
* :mod:`~facscope.eval.predictions` — the per-sample predictions CSV of every test fold;
* :mod:`~facscope.eval.report` — pooled results tables and confusion images.
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
            "ME_AUS",
            "BP4D_AUS",
            "DISFA_AUS",
            "POOLINGS",
            "AUScores",
            "ClassScores",
            "Interval",
            "Scores",
            "accuracy_score",
            "au_f1_scores",
            "bootstrap_ci",
            "classification_scores",
            "confusion_matrix",
            "per_class_scores",
            "scores_from_confusion",
            "uar_score",
            "uf1_score",
        ],
        "metrics",
    ),
    **dict.fromkeys(
        [
            "PROTOCOLS",
            "Fold",
            "composite_loso",
            "cross_dataset",
            "group_kfold",
            "leave_one_dataset_out",
            "loso",
            "official_split",
            "split_dataset",
        ],
        "protocols",
    ),
    **dict.fromkeys(["Predictions", "read_predictions", "write_predictions"], "predictions"),
    **dict.fromkeys(["Results", "confusion_image", "results_table"], "report"),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
