"""Errors a user can act on.

Every failure caused by input (a file, an argument, a model directory) raises a subclass of
:class:`AslrecError` whose message names the thing and the problem in one line. The CLI turns
these into ``error: <message>`` and a non-zero exit code, never a traceback.
"""

from __future__ import annotations


class AslrecError(Exception):
    """Base class: an error the user caused and can fix; its message is shown as is."""

    exit_code = 1


class DataError(AslrecError):
    """A data file or array is missing, unreadable, or has the wrong shape or values."""


class ConfigError(AslrecError):
    """A configuration value, preset, model name or option is invalid."""


class ModelError(AslrecError):
    """A model or run directory is missing files or cannot be loaded."""


class NoHandsError(AslrecError):
    """No hand was detected anywhere in the input, so no sign can be recognised."""

    exit_code = 2
