"""The clinic's session store (SQLite): patients, sessions, test runs and their key figures,
history with minimal detectable changes, and export. A sink for analysis results: nothing in
the analysis or detector layers imports it."""

from hipsense.store.db import (
    Patient,
    Run,
    Store,
    StoreError,
    StoreMissing,
    default_path,
    open_store,
)
from hipsense.store.figures import Figure, key_figures

__all__ = [
    "Figure",
    "Patient",
    "Run",
    "Store",
    "StoreError",
    "StoreMissing",
    "default_path",
    "key_figures",
    "open_store",
]
