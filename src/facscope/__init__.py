"""facscope: facial expression and micro-expression understanding with multimodal LLMs.

Importing this package loads only numpy-free metadata; submodules load what they need.
"""

from __future__ import annotations

__version__ = "0.1.0"

from facscope.errors import ConfigError, FacscopeDataWarning, FacscopeError

__all__ = ["ConfigError", "FacscopeDataWarning", "FacscopeError", "__version__"]
