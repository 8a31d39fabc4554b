"""One rule for every resumable output folder: its settings are stored with its results and
compared when a run resumes into it.

A command that appends results to a folder (``eval agent``, ``mellm predict``, ``analyze`` over
many inputs, ``preprocess``, ``mer grid``) calls :func:`claim_folder` first. A new folder gets
``config.json`` with the resolved settings; a folder holding results of the same settings is
resumed; one holding results of other settings is refused with an error that names every key
that differs, unless ``overwrite=True``, which removes the old results first. Mixing the
results of two settings in one table is never possible.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.io import read_json, write_json

__all__ = ["CONFIG_FILE", "claim", "claim_folder", "differences"]

CONFIG_FILE = "config.json"


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The dotted keys where two JSON values differ, each with both values."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(f"{where}: {old.get(key)!r} → {new.get(key)!r}")
            else:
                out.extend(differences(old[key], new[key], where))
        return out
    return [] if old == new else [f"{prefix or 'settings'}: {old!r} → {new!r}"]


def claim_folder(
    folder: str | os.PathLike[str],
    settings: Mapping[str, Any],
    *,
    results: Iterable[str] = (),
    overwrite: bool = False,
    command: str = "the command",
) -> bool:
    """Make ``folder`` hold results of ``settings``; True when it resumes earlier results.

    Args:
        folder: the output folder (created if missing); the settings go to its ``config.json``.
        settings: the resolved settings that decide the results (JSON data; leave out what may
            change on resume, such as a sample limit or the number of workers).
        results: names (files or folders) inside ``folder`` that hold results; removed with
            ``overwrite`` and looked at to tell a fresh folder from one being resumed.
        overwrite: start over: remove ``results`` and store the new settings.
        command: how the error names the command (``"facscope eval agent"``).

    Raises:
        ConfigError: ``folder`` holds results made with other settings (and not ``overwrite``).
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return claim(
        out / CONFIG_FILE,
        settings,
        results=[out / n for n in results],
        overwrite=overwrite,
        command=command,
    )


def claim(
    settings_file: str | os.PathLike[str],
    settings: Mapping[str, Any],
    *,
    results: Iterable[str | os.PathLike[str]],
    overwrite: bool = False,
    command: str = "the command",
) -> bool:
    """:func:`claim_folder` for results that are not a folder of their own (a predictions file):
    the settings live in ``settings_file``, the results are the paths ``results``."""
    stored_path = Path(settings_file)
    paths = [Path(r) for r in results]
    wanted = json.loads(json.dumps(settings))
    has_results = any(p.exists() for p in paths)
    if overwrite:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        has_results = False
    elif has_results and stored_path.is_file():
        stored = read_json(stored_path, what=f"the settings {command} stored with its results")
        changed = differences(stored, wanted)
        if changed:
            raise ConfigError(
                f"{stored_path.parent} holds results of {command} made with other settings ("
                + "; ".join(changed)
                + "); resume with the same settings, choose a new output, or pass --overwrite "
                "to remove those results and start over"
            )
    write_json(stored_path, wanted)
    return has_results
