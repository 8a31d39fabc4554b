"""Micro-expression recognition: metrics, protocols and reports (numpy only; no torch here).

Torch models and training live in their own submodules and are imported only where used.
"""

from __future__ import annotations

__all__: list[str] = []
