"""Package namespaces whose public names load from their submodules on first use.

Packages that would otherwise import numpy-heavy or torch-heavy submodules at ``import`` time
declare their public names once, as a name → submodule table:

>>> __getattr__, __dir__, __all__ = lazy_exports(__name__, {"compute_flow": "flow"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_exports", "reexport"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``, whose name ``n`` lives in the
    submodule ``exports[n]`` (relative to ``package``) and is imported on first access."""
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *table})

    return __getattr__, __dir__, sorted(table)


def reexport(namespace: dict[str, Any], *modules: ModuleType) -> list[str]:
    """Copy every name in each module's ``__all__`` into ``namespace`` (a light package's
    ``globals()``, whose submodules are cheap to import) and return the combined ``__all__``:
    the names are declared once, in the module that defines them."""
    names: list[str] = []
    for module in modules:
        for name in module.__all__:
            namespace[name] = getattr(module, name)
            names.append(name)
    return sorted(names)
