"""CSV encoding of a recording: metadata in a leading comment line, then the header row.

    # hipsense-recording: {"format_version": 1, ...}
    t_s,seq,acc_x_mps2,...

Other leading ``#`` lines and blank lines before the header are ignored. Floats are written
with Python's shortest round-trip repr and parsed exactly, so a CSV
round trip is exact.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

from hipsense.recording.exceptions import RecordingError
from hipsense.recording.limits import check_header_width, check_meta_size
from hipsense.recording.schema import RowLabel

if TYPE_CHECKING:
    import pandas as pd

META_PREFIX = "# hipsense-recording:"


def exact_floats() -> dict[str, str]:
    """``pd.read_csv`` options that parse floats exactly (pandas loaded at first use)."""
    import pandas as pd

    # pandas < 3 parses floats exactly only with float_precision="round_trip"; pandas 3 always
    # does and deprecates the option (the round-trip tests check it).

    return {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def to_csv_text(data: pd.DataFrame, meta_json: str) -> str:
    """The whole CSV file as text."""
    body = data.to_csv(index=False, lineterminator="\n", na_rep="")
    return f"{META_PREFIX} {meta_json}\n{body}"


def read_csv_text(text: str, source: str) -> tuple[pd.DataFrame, str | None, RowLabel]:
    """The frame, the metadata JSON (None when absent) and a row -> "line N" labeller."""
    # not splitlines(): the metadata text may hold U+2028 and the like; CRLF files are fine.
    # Only the lines up to the header are split off: the body goes to pandas as it is.
    meta_json: str | None = None
    header_index = None
    start = index = end = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        stripped = text[start:end].removesuffix("\r").strip()
        if stripped.startswith(META_PREFIX):
            if meta_json is not None:
                raise RecordingError(
                    f"{source}: line {index + 1}: a second '{META_PREFIX}' metadata line"
                )
            meta_json = stripped[len(META_PREFIX) :].strip()
        elif stripped and not stripped.startswith("#"):
            header_index = index
            break
        start, index = end + 1, index + 1
    if header_index is None:
        what = "metadata but no header row (truncated?)" if meta_json else "no header row"
        raise RecordingError(f"{source}: empty recording: the file has {what}")
    header_line = text[start:end].removesuffix("\r")
    # pandas renames a repeated name ("x" -> "x.1"); keep the file's names so that the
    # column check (after the format version check) can name the duplicate
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))]
    except csv.Error as exc:
        raise RecordingError(
            f"{source}: line {header_index + 1}: unreadable header: {exc}"
        ) from None
    check_header_width(header, source)
    if meta_json is not None:
        check_meta_size(meta_json, source)
    first_data_line = header_index + 2  # 1-based line number of data row 0

    def where(i: int) -> str:
        return f"line {first_data_line + i}"

    import pandas as pd

    try:
        data = pd.read_csv(
            io.StringIO(text[start:]),  # from the header: the comment lines may hold quotes
            **exact_floats(),  # type: ignore[arg-type]
            skip_blank_lines=False,
            skipinitialspace=True,
        )
    except (ValueError, pd.errors.ParserError) as exc:
        message = re.sub(r"line (\d+)", lambda m: f"line {int(m[1]) + header_index}", str(exc))
        raise RecordingError(f"{source}: not a readable CSV recording: {message}") from None
    if len(header) == len(data.columns):
        data.columns = header
    else:
        data.columns = [str(c).strip() for c in data.columns]
    return data, meta_json, where
