"""Errors a user can act on.

Every failure caused by input (a file, an argument, a model directory) raises a subclass of
:class:`AslrecError` whose message names the thing and the problem in one line. The CLI turns
these into ``error: <message>`` and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the ``aslrec`` command's exit status means: one meaning per number, so scripts
    can tell "your input is broken" from "the video simply shows no hands"."""

    OK = 0
    ERROR = 1
    """An :class:`AslrecError`: the named file, argument or model is wrong."""
    USAGE = 2
    """The command line itself is malformed (Typer/Click's own status for usage errors)."""
    NO_HANDS = 3
    """Every input was readable, but no hand was found in any of them."""
    NOTHING_SAVED = 4
    """``aslrec collect`` ended without saving a single clip."""
    TARGET_NOT_REACHED = 5
    """``aslrec calibrate`` wrote its calibration, but no threshold reaches the target accuracy
    on the held-out clips: a script that asked for 99% must not take the result for 99%."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT, the shell convention)."""


class AslrecError(Exception):
    """Base class: an error the user caused and can fix; its message is shown as is."""

    exit_code: ExitCode = ExitCode.ERROR


class DataError(AslrecError):
    """A data file or array is missing, unreadable, or has the wrong shape or values."""


class ConfigError(AslrecError):
    """A configuration value, preset, model name or option is invalid."""


class ModelError(AslrecError):
    """A model or run directory is missing files or cannot be loaded."""


class InterruptedRun(AslrecError):
    """Ctrl-C stopped a long job that catches it itself (Lightning's ``trainer.fit``); the
    message says what was kept and how to continue, which a bare "interrupted" cannot."""

    exit_code = ExitCode.INTERRUPTED


class NoHandsError(AslrecError):
    """No hand was detected anywhere in the input, so no sign can be recognised."""

    exit_code = ExitCode.NO_HANDS
