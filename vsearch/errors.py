"""One small exception hierarchy; the CLI maps these to exit codes in one place.

Messages name the file or argument at fault and say what to do about it.
"""

from __future__ import annotations


class VsearchError(Exception):
    """Base class. `exit_code` is what the CLI returns when this escapes a command."""

    exit_code = 1


class UsageError(VsearchError):
    """Bad argument or option value (bad time, polygon, camera...)."""

    exit_code = 2


class ConfigError(VsearchError):
    exit_code = 2


class DecodeError(VsearchError):
    """A source could not be opened or decoded at all."""


class SourceError(VsearchError):
    """A source is not usable as given (no start time, unreadable path...)."""


class StoreError(VsearchError):
    pass


class QueryError(UsageError):
    pass


class ModelError(VsearchError):
    """A model file is missing, corrupt, or does not match the index it is used with."""


class AuthorisationError(VsearchError):
    exit_code = 3


class VerificationError(VsearchError):
    exit_code = 4
