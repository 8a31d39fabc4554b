"""facscope: facial expression and micro-expression understanding with multimodal LLMs.

Importing this package loads only numpy-free metadata; submodules load what they need.
``facscope.analyze_images`` (one table row per face, :mod:`facscope.agent.api`) loads the
agent on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

from facscope.errors import ConfigError, FacscopeDataWarning, FacscopeError
from facscope.lazy import lazy_exports

__getattr__, __dir__, _lazy = lazy_exports(
    __name__, {"analyze_images": "agent.api", "Results": "agent.api"}
)

__all__ = ["ConfigError", "FacscopeDataWarning", "FacscopeError", "__version__", *_lazy]
