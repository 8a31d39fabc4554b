"""Embedded defaults that need no download: real public-domain faces shipped by scikit-image."""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_IMAGE_NAME", "default_image", "lfw_faces"]

DEFAULT_IMAGE_NAME = "astronaut (embedded default: scikit-image, public domain)"


def default_image() -> np.ndarray:
    """Eileen Collins' NASA portrait (512×512 RGB uint8), shipped inside scikit-image."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def lfw_faces() -> np.ndarray:
    """scikit-image's LFW subset: 200 grayscale 25×25 crops as uint8 (first 100 faces, then
    100 non-faces)."""
    from skimage import data

    return (data.lfw_subset() * 255 + 0.5).astype(np.uint8)
