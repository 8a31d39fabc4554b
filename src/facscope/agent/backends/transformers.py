"""Moved to :mod:`facscope.vlm.backends.transformers`; this name is kept for old imports."""

from facscope.vlm.backends.transformers import *  # noqa: F403
from facscope.vlm.backends.transformers import __all__  # noqa: F401
