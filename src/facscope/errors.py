"""The facscope exception tree.

Every error subclasses :class:`FacscopeError` *and* the builtin it behaves like, so callers may
catch either (``except ValueError`` keeps working for a bad option). Messages say what failed,
the offending value, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AUParseError",
    "AnnotationError",
    "ConfigError",
    "DatasetError",
    "FaceNotFoundError",
    "FacscopeConfigWarning",
    "FacscopeDataWarning",
    "FacscopeDeprecationWarning",
    "FacscopeError",
    "ImageDecodeError",
    "InputFileError",
    "ModelOutputError",
]


class FacscopeError(Exception):
    """Base class of every error raised by facscope."""


class ConfigError(FacscopeError, ValueError):
    """An option, argument or configuration value is invalid."""


class InputFileError(FacscopeError, OSError):
    """An input path is missing, is a directory, or cannot be read."""


class ImageDecodeError(FacscopeError, ValueError):
    """A file exists but is not a decodable image (empty, truncated, unknown format)."""


class FaceNotFoundError(FacscopeError, LookupError):
    """No face was found where one was required."""


class AUParseError(FacscopeError, ValueError):
    """An Action Unit annotation string could not be parsed."""


class AnnotationError(FacscopeError, ValueError):
    """A dataset annotation row is invalid and cannot be repaired by a documented rule."""


class DatasetError(FacscopeError, OSError):
    """A dataset root does not have the layout its adapter expects."""


class ModelOutputError(FacscopeError, ValueError):
    """A model's output could not be turned into the expected structure."""


class FacscopeDataWarning(UserWarning):
    """Doubtful-but-valid data was repaired or skipped by a documented rule.

    Pass ``strict=True`` to the function that warned to turn it into an error instead.
    """


class FacscopeConfigWarning(UserWarning):
    """A valid setting that is likely to defeat the run (e.g. a token budget too short for the
    episodes the model is taught to write)."""


class FacscopeDeprecationWarning(FutureWarning):
    """A former name (of a registered implementation, an option or a config key) was used; it
    still works and is mapped to its new name. A ``FutureWarning``, so users see it by default."""
