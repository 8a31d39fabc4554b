"""Moved to :mod:`facscope.vlm.backends.base`; this name is kept for old imports."""

from facscope.vlm.backends.base import *  # noqa: F403
from facscope.vlm.backends.base import __all__  # noqa: F401
