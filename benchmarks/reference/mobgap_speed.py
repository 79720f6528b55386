"""The anchor of ``benchmarks/analyze_speed.py``: mobgap 1.2.0's IcdShinImproved (initial
contacts) and LrcUllrich (left/right) on a whole hipsense CSV recording, as one process.

Runs in the mobgap venv; the sensor axes of the file are passed to mobgap as its own
(x, y, z -> to_body_frame), which does not change the work done.

    /tmp/mobgap-venv/bin/python benchmarks/reference/mobgap_speed.py FILE.csv
"""

from __future__ import annotations

import sys
import warnings

import pandas as pd

RATE_HZ = 100.0


def main() -> None:
    warnings.filterwarnings("ignore")  # sklearn's version notice on mobgap's pickled models
    from mobgap.initial_contacts import IcdShinImproved
    from mobgap.laterality import LrcUllrich
    from mobgap.utils.conversions import to_body_frame

    data = pd.read_csv(sys.argv[1], comment="#")
    names = {
        f"{s}_{a}_{u}": f"{s}_{a}" for s, u in (("acc", "mps2"), ("gyr", "dps")) for a in "xyz"
    }
    imu = to_body_frame(data.rename(columns=names)[list(names.values())])
    ics = IcdShinImproved().detect(imu, sampling_rate_hz=RATE_HZ).ic_list_
    labels = LrcUllrich().predict(imu, ics, sampling_rate_hz=RATE_HZ).ic_lr_list_
    print(len(ics), "contacts,", int((labels["lr_label"] == "left").sum()), "left")


if __name__ == "__main__":
    main()
