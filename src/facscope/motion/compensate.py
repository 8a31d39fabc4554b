"""Head-motion compensation: remove the part of a flow field that the whole head shares.

Two rules, usable together (global model first, then the nose window on what is left):

- **nose window** (MELLM): subtract from the whole field the mean flow vector inside a square
  window centred on the nose tip, clipped to the image. The nose barely moves in facial
  expressions, so its motion is taken as the head's translation. MELLM's first version uses an
  11 × 11 window, its second 5 × 5.
- **global model** (optional): one similarity (rotation, uniform scale, translation) or affine
  motion fitted over the face by iteratively reweighted least squares (Tukey biweight, so the
  local expression motion is treated as outliers). This also removes in-plane head rotation
  and scale changes, which a translation cannot.

A hand-held camera moves the face by several pixels between onset and apex, more than TV-L1's
coarsest pyramid level can follow (it then reports a wrong field everywhere, and subtracting a
model fitted to a wrong field leaves it wrong). So the pipeline first **registers** the apex to
the onset (:func:`register_global`: DIS flow, which searches patches and follows large motion,
a robust fit, the apex re-rendered through the fitted motion, repeated), then measures the fine
flow on the registered pair, fits the model again to that small field (:func:`compensate`) and
only then applies the nose window to the residual, so nothing the model removed is added back.
The recorded ``global_matrix`` is the whole removed motion (registration ∘ residual fit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facscope.errors import ConfigError

__all__ = [
    "GLOBAL_MODELS",
    "Compensation",
    "CompensationConfig",
    "compensate",
    "face_mask",
    "fit_global_motion",
    "global_field",
    "nose_window_mean",
    "register_global",
    "warp_by_matrix",
]

GLOBAL_MODELS = ("similarity", "affine")


@dataclass(frozen=True, kw_only=True)
class CompensationConfig:
    """How head motion is removed from a flow field.

    Attributes:
        nose_window: side in pixels of the square nose-tip window (odd); 0 turns it off.
        global_model: ``None``, ``"similarity"`` or ``"affine"``: a global motion fitted over
            the face and removed before the nose window.
        iterations: reweighting iterations of the global fit.
    """

    nose_window: int = 11
    global_model: str | None = None
    iterations: int = 6

    def __post_init__(self) -> None:
        if self.nose_window < 0 or (self.nose_window and self.nose_window % 2 == 0):
            raise ConfigError(
                f"nose_window must be 0 (off) or an odd number of pixels; got {self.nose_window}"
            )
        if self.global_model is not None and self.global_model not in GLOBAL_MODELS:
            raise ConfigError(
                f"global_model must be None or one of {GLOBAL_MODELS}; got {self.global_model!r}"
            )
        if self.iterations < 1:
            raise ConfigError(f"iterations must be >= 1; got {self.iterations}")


@dataclass(frozen=True)
class Compensation:
    """A compensated field and what was removed from it.

    ``global_matrix`` maps onset-crop points to where the global model puts them in the apex
    (``M · (p, 1)``); ``registered`` says the apex was re-rendered through the registration part
    of it before the flow was measured (:func:`register_global`).
    """

    flow: np.ndarray
    head_vector: tuple[float, float] | None = None
    global_matrix: np.ndarray | None = None
    config: CompensationConfig = field(default_factory=CompensationConfig)
    nose: tuple[float, float] | None = None
    registered: bool = False

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "nose_window": c.nose_window,
            "nose_tip": None if self.nose is None else [round(v, 2) for v in self.nose],
            "head_vector": None
            if self.head_vector is None
            else [round(v, 4) for v in self.head_vector],
            "global_model": c.global_model,
            "registered": self.registered,
            "global_matrix": None
            if self.global_matrix is None
            else np.round(self.global_matrix, 6).tolist(),
        }


def _check_flow(flow: np.ndarray) -> np.ndarray:
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ConfigError(f"a flow field must have shape (H, W, 2); got {f.shape}")
    return f


def nose_window_mean(
    flow: np.ndarray, nose: tuple[float, float], window: int = 11
) -> tuple[float, float]:
    """Mean flow vector in a ``window`` × ``window`` square centred on ``nose`` (x, y).

    ``nose`` is in continuous pixel coordinates (pixel ``(i, j)`` has its centre at
    ``(i + 0.5, j + 0.5)``); the window is centred on the pixel containing it and clipped to
    the image.
    """
    f = _check_flow(flow)
    h, w = f.shape[:2]
    cx, cy = int(np.floor(nose[0])), int(np.floor(nose[1]))
    r = int(window) // 2
    x1, x2 = max(0, cx - r), min(w, cx + r + 1)
    y1, y2 = max(0, cy - r), min(h, cy + r + 1)
    if x2 <= x1 or y2 <= y1:
        raise ConfigError(f"the nose point {nose} lies outside the {w}×{h} flow field")
    m = f[y1:y2, x1:x2].reshape(-1, 2).mean(0)
    return float(m[0]), float(m[1])


def face_mask(size: int) -> np.ndarray:
    """Union of the canonical face regions in a ``size``-pixel aligned crop (bool): the pixels
    the global model is fitted on (no background, no hair)."""
    from facscope.face import REGIONS

    m = np.zeros((size, size), dtype=bool)
    for box in REGIONS.values():
        x1, y1 = round(box.x1 * size), round(box.y1 * size)
        x2, y2 = max(x1 + 1, round(box.x2 * size)), max(y1 + 1, round(box.y2 * size))
        m[y1:y2, x1:x2] = True
    return m


def _design(x: np.ndarray, y: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the linear systems u = Au·p, v = Av·p for the chosen motion model."""
    one, zero = np.ones_like(x), np.zeros_like(x)
    if model == "similarity":
        # u = a·x − b·y + tx, v = b·x + a·y + ty  with p = (a, b, tx, ty)
        au = np.stack([x, -y, one, zero], 1)
        av = np.stack([y, x, zero, one], 1)
    else:
        # u = a11·x + a12·y + tx, v = a21·x + a22·y + ty  with p = (a11, a12, tx, a21, a22, ty)
        au = np.stack([x, y, one, zero, zero, zero], 1)
        av = np.stack([zero, zero, zero, x, y, one], 1)
    return au, av


def fit_global_motion(
    flow: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    model: str = "similarity",
    iterations: int = 6,
    step: int = 2,
) -> np.ndarray:
    """Robust fit of one global motion to ``flow``; returns the 2×3 matrix M with
    ``p + flow(p) ≈ M · (p, 1)``.

    Iteratively reweighted least squares with Tukey's biweight (scale from the median absolute
    residual), over the pixels of ``mask`` (all pixels when None), sampled every ``step`` pixels.
    """
    if model not in GLOBAL_MODELS:
        raise ConfigError(f"global motion model must be one of {GLOBAL_MODELS}; got {model!r}")
    f = _check_flow(flow)
    h, w = f.shape[:2]
    ys, xs = np.mgrid[0:h:step, 0:w:step]
    keep = np.ones_like(xs, dtype=bool) if mask is None else np.asarray(mask, bool)[ys, xs]
    if keep.sum() < 8:
        raise ConfigError("the global-motion mask selects too few pixels (need at least 8)")
    cx, cy = w / 2, h / 2  # centred, so the translation is well conditioned
    x = (xs[keep] + 0.5 - cx).astype(np.float64)
    y = (ys[keep] + 0.5 - cy).astype(np.float64)
    u = f[ys[keep], xs[keep], 0].astype(np.float64)
    v = f[ys[keep], xs[keep], 1].astype(np.float64)
    au, av = _design(x, y, model)
    a = np.concatenate([au, av])
    b = np.concatenate([u, v])
    wts = np.ones(len(x))
    p = np.zeros(a.shape[1])
    for _ in range(iterations):
        ww = np.concatenate([wts, wts])
        sw = np.sqrt(ww)[:, None]
        p, *_ = np.linalg.lstsq(a * sw, b * sw[:, 0], rcond=None)
        res = np.hypot(au @ p - u, av @ p - v)
        scale = 1.4826 * np.median(res) + 1e-6
        c = 4.685 * scale
        wts = np.where(res < c, (1 - (res / c) ** 2) ** 2, 0.0)
        if wts.sum() < 8:
            break
    if model == "similarity":
        lin = np.array([[p[0], -p[1]], [p[1], p[0]]])
        t = p[2:4]
    else:
        lin = np.array([[p[0], p[1]], [p[3], p[4]]])
        t = np.array([p[2], p[5]])
    m = np.zeros((2, 3))
    m[:, :2] = np.eye(2) + lin
    # back from centred coordinates: M·(p,1) with p = q + c, flow = lin·q + t
    m[:, 2] = t - lin @ np.array([cx, cy])
    return m


def global_field(matrix: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The flow of a 2×3 motion ``matrix`` at every pixel centre of an (H, W) grid."""
    h, w = shape
    gx, gy = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    m = np.asarray(matrix, dtype=np.float64)
    u = m[0, 0] * gx + m[0, 1] * gy + m[0, 2] - gx
    v = m[1, 0] * gx + m[1, 1] * gy + m[1, 2] - gy
    return np.stack([u, v], -1).astype(np.float32)


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(matrix, dtype=np.float64)[:2], [0.0, 0.0, 1.0]])


def warp_by_matrix(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image`` re-rendered through a 2×3 motion: ``out(p) = image(M · (p, 1))`` (continuous
    pixel coordinates, bilinear, edges replicated), so content that ``M`` moved is put back."""
    import cv2

    half = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    m = (np.linalg.inv(half) @ _homogeneous(matrix) @ half)[:2]  # → OpenCV pixel centres
    h, w = image.shape[:2]
    return cv2.warpAffine(
        image,
        m,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def register_global(
    reference: np.ndarray,
    render: Callable[[np.ndarray], np.ndarray],
    *,
    mask: np.ndarray | None = None,
    model: str = "similarity",
    rounds: int = 3,
) -> np.ndarray:
    """The global motion (2×3, onset → apex) that registers a moving image to ``reference``.

    ``render(M)`` returns the moving image re-rendered through the 3×3 motion ``M`` (like
    :func:`warp_by_matrix`, or a crop of the source frame through the composed transform),
    grayscale ``uint8`` of ``reference``'s shape. Each round measures DIS flow from
    ``reference`` to the current rendering, fits ``model`` robustly over ``mask`` and composes
    it in; the first round takes out motions of many pixels, later ones the sub-pixel rest.
    """
    from facscope.motion.flow import create_flow

    dis = create_flow("dis")
    total = np.eye(3)
    for _ in range(max(1, int(rounds))):
        moving = render(total)
        step = fit_global_motion(dis(reference, moving), mask, model=model)
        total = total @ _homogeneous(step)
        if np.abs(global_field(step, reference.shape[:2])).max() < 0.01:  # pixels
            break
    return total[:2]


def compensate(
    flow: np.ndarray,
    *,
    nose: tuple[float, float] | None,
    config: CompensationConfig | None = None,
    mask: np.ndarray | None = None,
    registered: np.ndarray | None = None,
) -> Compensation:
    """Remove head motion from ``flow`` by the rules in ``config`` (see the module docstring).

    Args:
        flow: (H, W, 2) field in pixels.
        nose: the nose tip (x, y) in the field's pixels; needed when the nose window is on.
        config: the rules; the default is MELLM's 11 × 11 nose window alone.
        mask: pixels the global fit uses (the face); all pixels when None.
        registered: the 2×3 motion already removed by re-rendering the apex
            (:func:`register_global`); the recorded ``global_matrix`` composes it with the
            residual fit.
    """
    cfg = config or CompensationConfig()
    out = _check_flow(flow).copy()
    matrix = None
    if cfg.global_model is not None:
        matrix = fit_global_motion(out, mask, model=cfg.global_model, iterations=cfg.iterations)
        out -= global_field(matrix, out.shape[:2])
        if registered is not None:
            matrix = (_homogeneous(registered) @ _homogeneous(matrix))[:2]
    vec = None
    if cfg.nose_window:
        if nose is None:
            raise ConfigError("nose-window compensation needs the nose tip position")
        vec = nose_window_mean(out, nose, cfg.nose_window)
        out -= np.array(vec, dtype=np.float32)
    return Compensation(
        flow=out,
        head_vector=vec,
        global_matrix=matrix,
        config=cfg,
        nose=nose,
        registered=registered is not None,
    )
