"""Similarity alignment of a face to the canonical five-point template."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facscope.errors import ConfigError
from facscope.face.regions import TEMPLATE
from facscope.types import Face, View, apply_transform, invert, scale_translate

__all__ = ["AlignedFace", "align_face", "estimate_similarity", "warp"]


@dataclass(frozen=True, eq=False)
class AlignedFace:
    """An aligned face: the view (image + map back to the source) and its transforms.

    ``forward`` maps source pixels to aligned pixels, ``inverse`` the reverse
    (``inverse == view.to_source``). ``approximate`` is true when the face had no landmarks and
    the alignment was derived from its box alone.
    """

    view: View
    forward: np.ndarray
    inverse: np.ndarray
    face: Face
    approximate: bool = False

    @property
    def image(self) -> np.ndarray:
        return self.view.image

    @property
    def size(self) -> int:
        return self.view.size[0]

    def landmarks(self) -> np.ndarray | None:
        """The face's five landmarks in aligned pixels."""
        return (
            None
            if self.face.landmarks is None
            else apply_transform(self.forward, self.face.landmarks)
        )


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) src → dst.

    Umeyama's closed form; returns a 3×3 matrix. Reflections are excluded.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if len(src) < 2 or src.shape != dst.shape:
        raise ConfigError(
            f"need at least two matching point pairs; got {src.shape} and {dst.shape}"
        )
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    var_s = (s_c**2).sum() / len(src)
    if var_s < 1e-12:
        raise ConfigError("landmarks are degenerate (all at one point); cannot align")
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s
    m = np.eye(3)
    m[:2, :2] = scale * rot
    m[:2, 2] = mu_d - scale * rot @ mu_s
    return m


def _box_landmarks(face: Face) -> np.ndarray:
    """Approximate landmarks for a box-only face: the template placed in a square box.

    Detector boxes cover roughly the template's [0.2, 0.8] × [0.25, 0.9] span, which this
    rule maps to the box.
    """
    b = face.box
    u = (TEMPLATE - [0.2, 0.25]) / [0.6, 0.65]
    return np.stack([b.x1 + u[:, 0] * b.width, b.y1 + u[:, 1] * b.height], axis=1)


def warp(
    source: np.ndarray, to_source: np.ndarray, size: tuple[int, int], *, border: str = "replicate"
) -> np.ndarray:
    """Render a view of ``size`` (w, h) whose pixel coordinates map to ``source`` by ``to_source``.

    Both use continuous pixel coordinates (pixel centres at +0.5); OpenCV samples at integer
    centres, which the half-pixel shifts here account for, so boxes mapped through ``to_source``
    match the rendered pixels exactly.
    """
    import cv2

    m = (
        scale_translate(1, 1, -0.5, -0.5)
        @ np.asarray(to_source, dtype=np.float64)
        @ scale_translate(1, 1, 0.5, 0.5)
    )
    modes = {
        "replicate": cv2.BORDER_REPLICATE,
        "constant": cv2.BORDER_CONSTANT,
        "reflect": cv2.BORDER_REFLECT101,
    }
    if border not in modes:
        raise ConfigError(f"border must be one of {list(modes)}; got {border!r}")
    w, h = int(size[0]), int(size[1])
    shrink = max(abs(np.linalg.det(m[:2, :2])), 1e-12) ** 0.5  # source pixels per output pixel
    k = int(2 * round(shrink / 2) + 1) if shrink > 1.5 else 0
    # Work on the part of the source the view covers (plus a margin for the blur and the
    # interpolation) so large sources cost no more than small ones.
    pts = apply_transform(m, [[-1, -1], [w, -1], [w, h], [-1, h]])
    sh, sw = source.shape[:2]
    x0, y0 = (max(0, int(np.floor(v)) - k - 2) for v in pts.min(0))
    x1, y1 = (int(np.ceil(v)) + k + 3 for v in pts.max(0))
    x1, y1 = min(sw, x1), min(sh, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:  # the view lies outside the source: use it all
        x0, y0, x1, y1 = 0, 0, sw, sh
    crop = source[y0:y1, x0:x1]
    if k:
        # warpAffine has no area interpolation: blur first so shrinking does not alias.
        crop = cv2.GaussianBlur(crop, (k, k), 0.5 * shrink)
    m = scale_translate(1, 1, -x0, -y0) @ m
    return cv2.warpAffine(
        crop, m[:2], (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=modes[border]
    )


def align_face(
    image: np.ndarray, face: Face, size: int = 256, *, border: str = "replicate"
) -> AlignedFace:
    """Warp ``face`` to the canonical template at ``size`` × ``size`` pixels.

    The similarity transform is fitted by least squares from the five landmarks to
    :data:`~facscope.face.regions.TEMPLATE` × ``size``. A face without landmarks (``haar``
    detector) is aligned from its box by a documented rule and marked ``approximate``.
    """
    if not 16 <= int(size) <= 4096:
        raise ConfigError(f"aligned size must be between 16 and 4096 pixels; got {size}")
    approximate = face.landmarks is None
    src = _box_landmarks(face) if approximate else face.landmarks
    forward = estimate_similarity(src, TEMPLATE * size)
    inverse = invert(forward)
    out = warp(image, inverse, (size, size), border=border)
    view = View(
        image=out,
        to_source=inverse,
        source=image,
        canonical=scale_translate(size, size),
        name="aligned",
    )
    return AlignedFace(
        view=view, forward=forward, inverse=inverse, face=face, approximate=approximate
    )
