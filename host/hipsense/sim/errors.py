"""The simulator's error type."""

from hipsense.errors import HipsenseError


class SimError(HipsenseError):
    """A scenario, parameter, chip or mounting the simulator does not know or cannot use."""
