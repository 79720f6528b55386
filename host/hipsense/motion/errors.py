"""Errors of the analyses (walk, stance, bridge): bad input gets a message, never a result."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class InputError(HipsenseError):
    """The recording cannot be analysed as the requested test."""


class WrongTestError(InputError):
    """The recording's metadata names another test."""


class NotWornError(InputError):
    """The sensor did not move like a worn sensor (no motion at all, or no data)."""


class PostureError(InputError):
    """The test did not start or stay in its posture (standing upright, lying supine)."""


class NoEventError(InputError):
    """No trial or rep was found in the recording."""
