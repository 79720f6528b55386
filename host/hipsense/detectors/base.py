"""Algorithm objects in the style of gaitmap/mobgap: parameters in ``__init__`` (kept as
attributes of the same names), an action method ``detect(data, *, sampling_rate_hz)`` that
starts afresh and returns ``self``, results in attributes ending in ``_``. The streaming
``update()`` beside it feeds the same state chunk by chunk (live). Pure arrays: no pandas."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from hipsense.conventions import ACC_COLUMNS, GYR_COLUMNS, T_S

FloatArray = npt.NDArray[np.float64]


A = TypeVar("A", bound="Algorithm")


class Algorithm:
    """Base of the detectors: :meth:`get_params` and a fresh copy for :meth:`detect`."""

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters and their current values."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {n: getattr(self, n) for n in names}

    def _restart(self: A, **changes: Any) -> A:
        """Reset every result and state to a fresh object's, with ``changes`` to the params."""
        fresh = type(self)(**{**self.get_params(), **changes})
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self


def raw_columns(data: Mapping[str, Any]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``t_s`` (s), acc (n, 3, m/s²) and gyro (n, 3, deg/s) from anything indexed by hipsense
    column names (a dict of arrays, a pandas DataFrame, a recording's ``data``)."""
    try:
        t = np.asarray(data[T_S], dtype=np.float64)
        acc = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in ACC_COLUMNS])
        gyr = np.column_stack([np.asarray(data[c], dtype=np.float64) for c in GYR_COLUMNS])
    except KeyError as exc:
        raise ValueError(
            f"detect() needs the columns {T_S}, {', '.join(ACC_COLUMNS + GYR_COLUMNS)}; "
            f"missing {exc}"
        ) from None
    if t.ndim != 1 or acc.shape != (t.size, 3) or gyr.shape != (t.size, 3):
        raise ValueError("detect(): the columns must be 1-D and of equal length")
    return t, acc, gyr
