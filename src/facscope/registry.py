"""One small registry, used wherever a user names an implementation in a string.

Registered names follow one style (timm's): lower-case words joined by ``_``, and a ``.tag``
for a variant of another entry (``tvl1.fine``: TV-L1 with tuned parameters; ``tvl1.skimage``:
scikit-image's TV-L1; ``smic.hs``: one camera of SMIC). A name that changed stays accepted as an
alias that warns (:class:`FacscopeDeprecationWarning`), since configs in the wild use it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from facscope.errors import ConfigError, FacscopeDeprecationWarning

T = TypeVar("T")

__all__ = ["NAME_STYLE", "Registry"]

#: The registered-name style: snake_case words, optionally ``.tag`` variants of them.
NAME_STYLE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*(\.[a-z0-9]+(_[a-z0-9]+)*)*")


class Registry(Generic[T]):
    """Maps names to factories (classes or functions) of one kind of thing.

    >>> detectors: Registry[object] = Registry("detector")
    >>> @detectors.register("dummy")
    ... class Dummy: ...
    >>> detectors.names()
    ['dummy']
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._help: dict[str, str] = {}
        self._aliases: dict[str, str] = {}

    def register(
        self, name: str, *, help: str | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers ``factory`` under ``name`` (lower-case, unique, in
        :data:`NAME_STYLE`)."""
        key = name.lower()
        if not NAME_STYLE.fullmatch(key):
            raise ConfigError(
                f"{self.kind} name {name!r} is not in the registry style (snake_case words, "
                "'.tag' for a variant)"
            )

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if key in self._entries and self._entries[key] is not factory:
                raise ConfigError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = factory
            doc = help or (factory.__doc__ or "").strip().splitlines()
            self._help[key] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return factory

        return deco

    def alias(self, old: str, new: str) -> None:
        """Accept the former name ``old`` for the entry ``new``, with a deprecation warning."""
        if new.lower() not in self._entries:
            raise ConfigError(f"{self.kind} alias {old!r} points to unregistered {new!r}")
        self._aliases[old.lower()] = new.lower()

    def canonical(self, name: str) -> str:
        """The registered name for ``name`` (lower-cased; a former name warns and is mapped)."""
        key = str(name).lower()
        new = self._aliases.get(key)
        if new is not None:
            warnings.warn(
                f"{self.kind} {name!r} was renamed {new!r}; the old name will be removed",
                FacscopeDeprecationWarning,
                stacklevel=3,
            )
            return new
        return key

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory registered as ``name``; a clear :class:`ConfigError` otherwise."""
        key = self.canonical(name)
        if key not in self._entries:
            raise ConfigError(f"{self.kind} must be one of {self.names()}; got {name!r}")
        return self._entries[key]

    def create(self, name: str, /, **kwargs: object) -> T:
        """Build the implementation registered as ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """Name → first line of the implementation's docstring."""
        return {k: self._help[k] for k in self.names()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            name.lower() in self._entries or name.lower() in self._aliases
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
