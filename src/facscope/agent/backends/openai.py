"""Moved to :mod:`facscope.vlm.backends.openai`; this name is kept for old imports."""

from facscope.vlm.backends.openai import *  # noqa: F403
from facscope.vlm.backends.openai import __all__  # noqa: F401
