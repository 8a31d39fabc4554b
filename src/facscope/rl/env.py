"""The RL environment: the agent's face tools, one instance per rollout, for TRL.

TRL's ``environment_factory`` builds one environment per rollout, calls ``reset(**row)`` with the
dataset row, and turns **every public method** of the class into a tool. :class:`FaceEnv` is
therefore :class:`facscope.agent.tools.FaceTools` itself (the same tools the agent runs at
inference, not a copy), with three changes:

* ``motion_map`` is hidden for still images (it is a tool only for clips: :class:`ClipFaceEnv`),
  and ``measure_aus`` always (ActFER's tools only look);
* ``reset`` accepts a known face (``face_box`` and ``face_landmarks`` columns, as the synthetic
  task writes them), so rollouts on generated faces skip detection;
* read-only properties report what the rollout did (:attr:`zoomed`, :attr:`tools_used`) —
  properties, not methods, so they never become tools.

Build a factory with :func:`env_factory` to pass tool options (TRL calls the factory with no
arguments).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from facscope.agent.tools import FaceTools, ToolsConfig
from facscope.errors import ConfigError

__all__ = ["ClipFaceEnv", "FaceEnv", "env_factory", "env_tool_names", "tool_list"]


def _known_face(box: Any, landmarks: Any) -> Any:
    from facscope.types import BBox, Face

    try:
        b = BBox(*(float(v) for v in box))
        lm = None if landmarks is None else np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"face_box must be [x1, y1, x2, y2] and face_landmarks 5 (x, y) points; got "
            f"{box!r}, {landmarks!r} ({exc})"
        ) from None
    return Face(b, 1.0, lm)


class FaceEnv(FaceTools):
    """Still-image environment: the tools ``detect_faces``, ``align_face`` and ``zoom``.

    Args:
        config: tool options (:class:`facscope.agent.tools.ToolsConfig`).
        **overrides: options applied on top of ``config``.
    """

    motion_map = None  # not a tool for still images (None is not a function, so TRL skips it)
    measure_aus = None  # ActFER's tools only look: no numbers in RL rollouts

    def __init__(self, config: ToolsConfig | None = None, **overrides: Any) -> None:
        self._given_faces: list[Any] | None = None
        super().__init__(config, **overrides)

    def reset(
        self,
        image: Any = None,
        *,
        face_box: Sequence[float] | None = None,
        face_landmarks: Sequence[Sequence[float]] | None = None,
        **row: Any,
    ) -> str | None:
        """Start a rollout on a dataset row.

        Args:
            image: the row's image (PIL, array or path); ``images`` (a list) is accepted too.
            face_box: the face's box, when known (skips detection).
            face_landmarks: its five landmarks (image-left eye, image-right eye, nose,
                image-left mouth corner, image-right mouth corner), when known.
            **row: every other column (``prompt``, ``aus``, ``emotion``, …), kept as labels.

        Returns:
            None: nothing is appended to the prompt.
        """
        self._given_faces = None if face_box is None else [_known_face(face_box, face_landmarks)]
        return super().reset(image, **row)

    def _ensure_faces(self) -> list[Any]:
        if self.faces is None and self._given_faces is not None:
            self.faces = list(self._given_faces)
        return super()._ensure_faces()

    @property
    def tools_used(self) -> tuple[str, ...]:
        """Names of the tools called so far in this rollout, in order (failed calls included)."""
        return tuple(r.name for r in self.records)

    @property
    def zoomed(self) -> bool:
        """True once a zoom succeeded (its image reached the model) in this rollout."""
        return self.zoom_count > 0


class ClipFaceEnv(FaceEnv):
    """Clip environment: :class:`FaceEnv` plus ``motion_map`` (rows carry a ``clip`` column)."""

    motion_map = FaceTools.motion_map


def env_tool_names(env_class: type) -> list[str]:
    """The tools TRL will expose for ``env_class``: its public functions except ``reset``."""
    import inspect

    return sorted(
        name
        for name, _ in inspect.getmembers(env_class, predicate=inspect.isfunction)
        if not name.startswith("_") and name not in ("reset", "get_reward")
    )


def env_factory(
    config: ToolsConfig | None = None, *, clips: bool = False, **overrides: Any
) -> Callable[[], FaceEnv]:
    """A no-argument factory for TRL's ``environment_factory`` with these tool options."""
    cls = ClipFaceEnv if clips else FaceEnv
    base = config or ToolsConfig()
    if overrides:
        from dataclasses import replace

        base = replace(base, **overrides)
    return functools.partial(cls, base)


def tool_list(
    config: ToolsConfig | None = None, *, clips: bool = False
) -> list[Callable[..., Any]]:
    """The bound tool methods of a fresh environment, in TRL's order (for rendering prompts)."""
    env = env_factory(config, clips=clips)()
    return [getattr(env, name) for name in env_tool_names(type(env))]
