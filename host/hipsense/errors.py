"""One base error for everything hipsense reports to a user (the CLI catches it at the top)."""


class HipsenseError(Exception):
    """Base class: a problem the user can act on; the message says what to check."""
