"""Errors of the clinical tests (stance and bridge): bad input gets a message, never a result."""

from __future__ import annotations

from hipsense.errors import HipsenseError


class ClinicalInputError(HipsenseError):
    """The recording cannot be analysed as the requested test."""


class WrongTestError(ClinicalInputError):
    """The recording's metadata names another test."""


class NotWornError(ClinicalInputError):
    """The sensor did not move like a worn sensor (no motion at all, or no data)."""


class PostureError(ClinicalInputError):
    """The test did not start or stay in its posture (standing upright, lying supine)."""


class NoEventError(ClinicalInputError):
    """No trial or rep was found in the recording."""
