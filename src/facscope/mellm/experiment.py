"""The synthetic MELLM experiment: can a VLM trained on synthetic ME samples name the AUs of
held-out synthetic subjects?

One command runs the whole chain, each step resumable (a rerun skips what is done):

1. ``facscope synth``: a synthetic dataset (many subjects, known AUs and emotion per clip);
2. ``facscope mellm build``: colour maps, FACS-grounded descriptions and ME-VQA questions;
3. ``facscope mellm train``: SFT of the model the ``train`` section names (e.g. a small Qwen-VL
   built at random, ``tiny:qwen3_vl``, trained from scratch) on the training subjects;
4. ``facscope mellm predict`` on the **test subjects** of the split (never trained on), with the
   ``transformers`` backend;
5. scoring, next to a **prior baseline** that ignores the image: for each question type it
   answers what was most frequent among the training answers (for the AU questions, the most
   frequent AU set). "Above chance" means above that baseline.

Config: a YAML file with the sections ``synth`` (:func:`facscope.synth.dataset.write_dataset`
options), ``build`` (``mode``, ``size``, ``flow``, ``seed``), ``train`` (an
:class:`~facscope.mellm.config.SFTRunConfig` without ``data``/``output_dir``) and ``predict``
(``batch_size``, ``max_new_tokens``, ``limit``), plus ``output_dir``.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError

__all__ = ["load_experiment", "prepare_data", "prior_baseline", "run_experiment"]

_SECTIONS = ("output_dir", "synth", "build", "train", "predict")
_BUILD_KEYS = ("mode", "size", "image_size", "flow", "seed", "face")
_PREDICT_KEYS = ("batch_size", "max_new_tokens", "limit")


def prior_baseline(
    train_rows: list[dict[str, Any]], test_rows: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Predictions that ignore the input: the most frequent training answer of each question
    type (for ``au_present``/``au_side``, per question). Returns ``{id: {"text": answer}}``."""
    by_type: dict[str, Counter[str]] = {}
    by_question: dict[str, Counter[str]] = {}
    for row in train_rows:
        by_type.setdefault(row["type"], Counter())[row["answer"]] += 1
        by_question.setdefault(row["question"], Counter())[row["answer"]] += 1
    out = {}
    for row in test_rows:
        counts = (
            by_question.get(row["question"]) if row["type"] in ("au_present", "au_side") else None
        )
        counts = counts or by_type.get(row["type"]) or Counter({"": 1})
        out[row["id"]] = {"id": row["id"], "text": counts.most_common(1)[0][0]}
    return out


def _section(
    values: dict[str, Any], name: str, allowed: tuple[str, ...] | None, where: str
) -> dict[str, Any]:
    sec = values.get(name) or {}
    if not isinstance(sec, dict):
        raise ConfigError(f"{where}: '{name}' must be a mapping")
    if allowed is not None:
        unknown = sorted(set(sec) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {unknown} in '{name}'; valid: {sorted(allowed)}"
            )
    return sec


def load_experiment(
    config: str | os.PathLike[str] | dict[str, Any],
) -> tuple[Path, dict[str, Any], dict[str, Any], dict[str, Any], Any]:
    """Read and check an experiment config: ``(output_dir, synth, build, predict, SFTRunConfig)``;
    unknown keys in any section are errors."""
    import inspect

    from facscope.config import read_yaml
    from facscope.mellm.config import sft_config_from_dict
    from facscope.synth.dataset import write_dataset

    where = str(config) if not isinstance(config, dict) else "experiment config"
    values = dict(config) if isinstance(config, dict) else read_yaml(config)
    unknown = sorted(set(values) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid: {list(_SECTIONS)}")
    if "output_dir" not in values:
        raise ConfigError(f"{where}: output_dir is required")
    out = Path(values["output_dir"])
    params = inspect.signature(write_dataset).parameters
    synth_keys = tuple(p for p in params if p not in ("out_dir", "progress"))
    synth = dict(_section(values, "synth", synth_keys, where))
    build = _section(values, "build", _BUILD_KEYS, where)
    pred = _section(values, "predict", _PREDICT_KEYS, where)
    train_vals = _section(values, "train", None, where)
    cfg = sft_config_from_dict(
        {"task": "mevqa", **train_vals, "data": str(out / "build"), "output_dir": str(out / "run")},
        where=f"{where} (train section)",
    )
    return out, synth, build, pred, cfg


def prepare_data(
    out: Path,
    synth: dict[str, Any],
    build: dict[str, Any],
    *,
    progress: bool = True,
    times: dict[str, float] | None = None,
) -> dict[str, int]:
    """Steps 1-2 (synthetic dataset, then the build and its ME-VQA questions) into ``out/data``
    and ``out/build``; returns the build's counts. A finished build of the same options with
    the dataset's ``truth.json`` beside it is used as it is: the frames are then not needed
    (a build can be made on one machine and trained on another)."""
    import warnings

    from facscope.data import load_dataset
    from facscope.errors import FacscopeDataWarning
    from facscope.mellm.build import BuildConfig, build_records
    from facscope.mellm.formats import write_format
    from facscope.motion.pipeline import MotionConfig
    from facscope.synth.dataset import TRUTH_FILE, write_dataset

    times = {} if times is None else times
    synth = dict(synth)
    if "frame_size" in synth:
        synth["frame_size"] = tuple(synth["frame_size"])
    layout = synth.pop("layout", "casme2")
    motion = MotionConfig(size=int(build.get("size", 256)), flow=build.get("flow", "tvl1"),
                           face=build.get("face", "detect"))  # fmt: skip
    bcfg = BuildConfig(mode=build.get("mode", "colormap"), seed=int(build.get("seed", 0)),
                       motion=motion, image_size=build.get("image_size"))  # fmt: skip
    done = out / "build" / "build.json"
    needed = (out / "data" / TRUTH_FILE, out / "build" / "mevqa.jsonl", done)
    if all(p.is_file() for p in needed):
        info = json.loads(done.read_text(encoding="utf-8"))
        if info.get("config") == json.loads(json.dumps(bcfg.to_dict())):
            return {"records": info["counts"]["records"], "failed": info["counts"]["failed"]}

    t = time.perf_counter()
    write_dataset(out / "data", layout, progress=progress, **synth)
    times["synth"] = time.perf_counter() - t

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FacscopeDataWarning)
        samples = list(load_dataset(layout, out / "data"))
    result = build_records(samples, out / "build", bcfg, progress=progress)
    write_format("mevqa", result.records, out / "build")
    times["build"] = time.perf_counter() - t
    return {"records": len(result.records), "failed": len(result.failures)}


def run_experiment(
    config: str | os.PathLike[str] | dict[str, Any], *, progress: bool = True
) -> dict[str, Any]:
    """Run the synthetic experiment (module docstring); returns and writes ``report.json``."""
    from facscope.io import write_json, write_text
    from facscope.mellm.evaluate import evaluate_mevqa, read_mevqa, render_markdown
    from facscope.mellm.predict import PredictOptions, predict, read_generated
    from facscope.mellm.train import load_trained, run_finetune
    from facscope.vlm.backends import create_backend

    out, synth, build, pred, cfg = load_experiment(config)
    task = cfg.task
    times: dict[str, float] = {}
    counts = prepare_data(out, synth, build, progress=progress, times=times)

    t = time.perf_counter()
    summary_path = out / "run" / "summary.json"
    if summary_path.is_file():
        train_summary = json.loads(summary_path.read_text(encoding="utf-8"))
    else:
        train_summary = run_finetune(cfg).to_dict()
    times["train"] = time.perf_counter() - t

    t = time.perf_counter()
    from facscope.mellm.splits import read_split

    split = read_split(out / "run")
    model, processor = load_trained(out / "run")
    backend = create_backend("transformers", model="trained", model_obj=model, processor=processor,
                             batch_size=int(pred.get("batch_size", 8)))  # fmt: skip
    popts = PredictOptions(task=task, batch_size=int(pred.get("batch_size", 8)),
                           max_new_tokens=int(pred.get("max_new_tokens", 64)), limit=pred.get("limit"))  # fmt: skip
    predict(
        out / "build",
        out / "predictions.jsonl",
        backend,
        options=popts,
        split=split,
        progress=progress,
    )
    backend.close()
    times["predict"] = time.perf_counter() - t

    rows = read_mevqa(out / "build")
    test_rows = [r for r in rows if r["group"] in set(split.test)]
    train_rows = [r for r in rows if r["group"] in set(split.train)]
    preds = read_generated(out / "predictions.jsonl")
    if task == "mevqa":
        model_scores = evaluate_mevqa(test_rows, preds)
    else:
        from facscope.mellm.evaluate import evaluate_describe
        from facscope.mellm.records import read_records

        test_recs = [r for r in read_records(out / "build") if r.group in set(split.test)]
        model_scores = evaluate_describe(test_recs, preds)
    baseline = evaluate_mevqa(test_rows, prior_baseline(train_rows, test_rows))
    from facscope.mellm.grounding import grounding_recall

    report = {
        "task": task,
        "grounding": grounding_recall(out / "build", out / "data" / "truth.json"),
        "split": split.to_dict(),
        "samples": {"built": counts["records"], "failed": counts["failed"]},
        "train": train_summary,
        "model": model_scores,
        "prior_baseline": baseline,
        "seconds": {k: round(v, 1) for k, v in times.items()},
    }
    write_json(out / "report.json", report)
    g = report["grounding"]
    text = (f"Targets: AUs exact {g['aus_exact']:.3f}; main AU regions named as moving "
            f"{g['regions']['named']}/{g['regions']['total']} ({g['regions']['recall']:.3f})\n\n"
            "## Model (test subjects)\n\n" + render_markdown(model_scores)
            + "\n## Prior baseline (most frequent training answer)\n\n" + render_markdown(baseline))  # fmt: skip
    write_text(out / "report.md", text)
    return report
