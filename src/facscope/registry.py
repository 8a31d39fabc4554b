"""One small registry, used wherever a user names an implementation in a string."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from facscope.errors import ConfigError

T = TypeVar("T")

__all__ = ["Registry"]


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

    def register(
        self, name: str, *, help: str | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers ``factory`` under ``name`` (lower-case, unique)."""
        key = name.lower()

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if key in self._entries and self._entries[key] is not factory:
                raise ConfigError(f"{self.kind} {key!r} is already registered")
            self._entries[key] = factory
            doc = help or (factory.__doc__ or "").strip().splitlines()
            self._help[key] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return factory

        return deco

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory registered as ``name``; a clear :class:`ConfigError` otherwise."""
        key = str(name).lower()
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
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
