"""The Python API that returns tables: ``facscope.analyze_images(...)`` → :class:`Results`.

Like py-feat's ``Detector().detect_image(...)``::

    >>> import facscope
    >>> res = facscope.analyze_images(["a.jpg", "b.jpg"])        # doctest: +SKIP
    >>> df = res.to_pandas()                                        # doctest: +SKIP
    >>> res.to_csv("results.csv"); res.to_parquet("results.parquet")  # doctest: +SKIP

One row per face per image (:data:`facscope.agent.analysis.ROW_COLUMNS`): the face box, five
landmarks and score, the emotion and its class probabilities, the AUs (``6+12``) with
``au_basis`` saying how they were obtained (``measured`` from motion, ``inferred`` from the
emotion's prototype), doubts about the detection and the status (``ok``, ``no_face``,
``failed``). An image with no face is one ``no_face`` row; one that cannot be read, a ``failed``
row. pandas is needed only for :meth:`Results.to_pandas` / ``to_parquet`` (the ``tables`` extra).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.agent.analysis import ROW_COLUMNS, Analysis, analyze, failed_row
from facscope.errors import ConfigError

__all__ = ["Results", "analyze_images"]


@dataclass
class Results:
    """The rows of :func:`analyze_images` and the analyses behind them (episodes, traces)."""

    rows: list[dict[str, Any]]
    analyses: list[Analysis | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (columns :data:`ROW_COLUMNS`)."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError(
                "tables as DataFrames need pandas; install it with: pip install 'facscope[tables]'"
            ) from None
        return pd.DataFrame(self.rows, columns=list(ROW_COLUMNS))

    def to_csv(self, path: str | Path) -> Path:
        """Write the rows as CSV (no pandas needed)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(ROW_COLUMNS))
            writer.writeheader()
            writer.writerows(self.rows)
        return p

    def to_parquet(self, path: str | Path) -> Path:
        """Write the rows as Parquet (needs pandas and pyarrow: the ``tables`` extra)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.to_pandas().to_parquet(p)
        except ImportError as exc:
            raise ConfigError(
                f"Parquet needs pyarrow ({exc}); install it with: pip install 'facscope[tables]'"
            ) from None
        return p


def _name(item: Any, index: int) -> str:
    if isinstance(item, (str, Path)):
        return str(item)
    return f"image{index}"


def analyze_images(
    images: Iterable[Any] | Any,
    *,
    face: str | int = "all",
    backend: Any = "expert",
    detector: str = "mtcnn",
    detector_model: str | None = None,
    names: Iterable[str] | None = None,
    measure_aus: bool = False,
    **agent_options: Any,
) -> Results:
    """Analyse images (paths, RGB arrays or PIL images) and return one row per face.

    Args:
        images: one image or an iterable of them.
        face: ``all`` (default), ``largest`` or a face index.
        backend: a backend name (``expert``: offline) or a built backend instance.
        detector / detector_model: the face detector and its model file (``yunet``).
        names: the ``input`` column of each image (default: the path, or ``image<i>``).
        measure_aus: offer a VLM backend the ``measure_aus`` tool (``--measure-aus``).
        **agent_options: :class:`facscope.agent.AgentConfig` fields (``max_turns``, ``mode``…).
    """
    import numpy as np

    from facscope.agent.backends import create_backend
    from facscope.agent.inputs import as_rgb
    from facscope.agent.loop import Agent, AgentConfig
    from facscope.agent.tools import ToolsConfig

    if isinstance(images, (str, Path, np.ndarray)) or hasattr(images, "convert"):
        images = [images]
    items = list(images)
    labels = list(names) if names is not None else [_name(x, i) for i, x in enumerate(items)]
    if len(labels) != len(items):
        raise ConfigError(f"names has {len(labels)} entries for {len(items)} image(s)")
    made = isinstance(backend, str)
    be = create_backend(backend) if made else backend
    tools = ToolsConfig(detector=detector, detector_model=detector_model, measure_tool=measure_aus)
    agent = Agent(be, AgentConfig(tools=tools, **agent_options))
    rows: list[dict[str, Any]] = []
    analyses: list[Analysis | None] = []
    try:
        for item, name in zip(items, labels):
            try:
                image = as_rgb(item)
            except Exception as exc:  # an unreadable file is a failed row, the rest goes on
                rows.append(failed_row(name, f"{type(exc).__name__}: {exc}"))
                analyses.append(None)
                continue
            result = analyze(agent, image, name=name, face=face)
            rows += result.rows()
            analyses.append(result)
    finally:
        if made:
            be.close()
    return Results(rows, analyses)
