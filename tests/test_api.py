"""The public API (docs/api.md): one door for every test, options that cannot be ignored, one
result shape, the import path for other tools' data, and the CLI on top of it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import hipsense as hs
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hipsense.cli import cli
from hipsense.conventions.axes import AxesError, axes_matrix, parse_axes
from hipsense.detectors.walk.contacts import ContactDetector
from hipsense.sim.scenarios import simulate
from hypothesis import given
from hypothesis import strategies as st

RAW = ["acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_dps", "gyr_y_dps", "gyr_z_dps"]
MOBGAP_MAP = ",".join(
    f"{c}={c.split('_')[0]}_{c.split('_')[1]}" for c in RAW
)  # acc_x_mps2=acc_x, ...


@pytest.fixture(scope="module")
def stance() -> hs.Recording:
    return simulate("stance-eyes-open", seed=0).to_recording()


@pytest.fixture(scope="module")
def walk() -> hs.Recording:
    return simulate("walk-right-trendelenburg", seed=0).to_recording()


def _mobgap_frame(pelvis: pd.DataFrame) -> pd.DataFrame:
    """Raw columns of a pelvis-aligned sensor as mobgap's frame (x up, y right, z forward)."""
    out = {}
    for kind in ("acc", "gyr"):
        unit = "mps2" if kind == "acc" else "dps"
        x, y, z = (pelvis[f"{kind}_{a}_{unit}"].to_numpy() for a in "xyz")
        out.update({f"{kind}_x_{unit}": z, f"{kind}_y_{unit}": -y, f"{kind}_z_{unit}": x})
    return pd.DataFrame(out)


@pytest.mark.parametrize(
    ("test", "option"),
    [("walk", {"age": 65}), ("walk", {"min_step": 20}), ("walk", {"sides": ["left"]}),
     ("balance", {"min_step": 20}), ("balance", {"sets": ["left"]}), ("bridge", {"age_years": 60})],
)  # fmt: skip
def test_an_unknown_option_raises_a_type_error_naming_it(stance, test, option) -> None:
    with pytest.raises(TypeError, match=repr(next(iter(option)))):
        hs.analyse(stance, test, **option)


def test_no_analyser_swallows_options() -> None:
    import inspect

    for name, func in hs.ANALYSERS.items():
        kinds = {p.kind for p in inspect.signature(func).parameters.values()}
        assert inspect.Parameter.VAR_KEYWORD not in kinds, name
        assert set(hs.options_of(name)) >= {"axes"}


def test_from_frame_fills_seq_marker_and_time_and_balance_runs(stance) -> None:
    bare = stance.data[RAW]  # no t_s, seq or marker
    rec = hs.Recording.from_frame(bare, rate_hz=100.0, test="balance")
    assert rec.data["seq"].tolist() == list(range(len(bare)))
    assert (rec.data["marker"] == 0).all()
    np.testing.assert_allclose(np.diff(rec.data["t_s"]), 0.01)
    ours = hs.analyse(rec, "balance")
    assert (
        ours.trials_["stance_side"].tolist()
        == hs.analyse_balance(stance).trials_["stance_side"].tolist()
    )


def test_axes_are_honoured_by_balance_at_import_and_as_an_option(stance) -> None:
    pelvis = hs.analyse_balance(hs.Recording.from_frame(stance.data[RAW], rate_hz=100.0))
    foreign = _mobgap_frame(stance.data)
    at_import = hs.analyse_balance(hs.Recording.from_frame(foreign, rate_hz=100.0, axes="z,-y,x"))
    assert at_import.to_json()["trials"] == pelvis.to_json()["trials"]
    as_option = hs.analyse_balance(hs.Recording.from_frame(foreign, rate_hz=100.0), axes="z,-y,x")
    assert as_option.trials_["stance_side"].tolist() == pelvis.trials_["stance_side"].tolist()
    np.testing.assert_allclose(
        as_option.trials_["hold_s"], pelvis.trials_["hold_s"], atol=0.05
    )  # same events; the filter runs in other sensor axes
    # without the axes the sensor's x (up) is taken as anterior: refused, never a quiet result
    with pytest.raises(hs.HipsenseError):
        hs.analyse(hs.Recording.from_frame(foreign, rate_hz=100.0, test="balance"))


def test_the_three_results_share_one_shape(stance, walk) -> None:
    bridge = simulate("bridge-single-weak-right", seed=0).to_recording()
    for rec, tables in ((walk, ("contacts_", "steps_")), (stance, ("trials_",)),
                        (bridge, ("reps_", "sets_"))):  # fmt: skip
        result = hs.analyse(rec)
        assert isinstance(result, hs.Result)
        v = result.verdict_
        assert list(v.index) == ["test", "status", "weaker_side", "text"]
        assert v["test"] == result.test == rec.meta.test
        assert v["status"] in ("asymmetric", "symmetric", "not_enough_data")
        assert v["weaker_side"] in ("left", "right", None)
        assert {"left", "right"} <= set(result.per_side_.index)
        for name in tables:
            assert isinstance(getattr(result, name), pd.DataFrame) and len(getattr(result, name))
        json.dumps(result.to_json(), allow_nan=False)
        assert not hasattr(result, "doc") and not hasattr(result, "write_report")
    walk_result = hs.analyse(walk, "walk")
    assert walk_result.verdict_["weaker_side"] == "right"
    assert len(walk_result.contacts_) == len(walk_result.events)


def test_to_json_is_a_copy_not_the_result_itself(stance) -> None:
    result = hs.analyse(stance, "balance")
    result.to_json()["trials"].clear()
    assert len(result.to_json()["trials"]) == len(result.trials_) > 0


def test_detect_returns_self_and_equals_streaming_update(walk) -> None:
    det = ContactDetector(walk.meta.rate_hz)
    assert det.detect(walk.data, sampling_rate_hz=walk.meta.rate_hz) is det
    streamed = ContactDetector(walk.meta.rate_hz)
    t = walk.data["t_s"].to_numpy()
    acc = walk.data[RAW[:3]].to_numpy()
    gyr = walk.data[RAW[3:]].to_numpy()
    for i in range(0, len(t), 337):
        streamed.update(t[i : i + 337], acc[i : i + 337], gyr[i : i + 337])

    def key(cs: list) -> list:  # the side score differs in the last bits between chunkings
        return [(c.t_s, c.side, c.bout, c.t_detected_s, round(c.side_score, 9)) for c in cs]

    assert len(det.contacts_) > 20 and key(det.contacts_) == key(streamed.contacts_)
    again = det.detect(walk.data, sampling_rate_hz=walk.meta.rate_hz)  # afresh, not appended
    assert key(again.contacts_) == key(streamed.contacts_)
    assert det.get_params()["rate_hz"] == walk.meta.rate_hz


def test_the_facade_names_what_it_exports() -> None:
    assert set(hs.__all__) <= set(dir(hs))
    for name in hs.__all__:
        assert getattr(hs, name) is not None
    with pytest.raises(AttributeError):
        _ = hs.no_such_name  # type: ignore[attr-defined]


SIGNED = [s + a for s in ("", "-") for a in "xyz"]


@given(st.sampled_from(list(itertools.product(SIGNED, repeat=3))))
def test_axes_text_is_a_rotation_or_refused(axes: tuple[str, str, str]) -> None:
    text = ",".join(axes)
    m = np.array([[0.0] * 3] * 3)
    for row, part in enumerate(axes):
        m[row, "xyz".index(part[-1])] = -1.0 if part.startswith("-") else 1.0
    if abs(np.linalg.det(m) - 1.0) < 1e-9:
        assert np.array_equal(np.array(axes_matrix(text)), m)
        assert [i for i, _ in parse_axes(text)] == ["xyz".index(p[-1]) for p in axes]
    else:
        with pytest.raises(AxesError):
            parse_axes(text)


# --- the command line -------------------------------------------------------------------------


def _foreign_csv(rec: hs.Recording, path: Path, *, with_time: bool) -> Path:
    frame = _mobgap_frame(rec.data).rename(columns=lambda c: "_".join(c.split("_")[:2]))
    if with_time:
        frame.insert(0, "time_s", rec.data["t_s"].to_numpy())
    frame.to_csv(path, index=False)
    return path


def test_import_writes_a_recording_of_any_test(stance, tmp_path) -> None:
    src = _foreign_csv(stance, tmp_path / "stance.csv", with_time=False)
    out = tmp_path / "stance.parquet"
    args = ["import", str(src), "--column-map", MOBGAP_MAP, "--rate-hz", "100", "--axes",
            "z,-y,x", "--test", "balance", "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rec = hs.read_recording(out)
    assert rec.meta.test == "balance" and rec.meta.extra["axes"] == "z,-y,x"
    assert rec.meta.mounting == [1.0, 0.0, 0.0, 0.0]
    res = CliRunner().invoke(cli, ["analyze", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [t["stance_side"] for t in doc["trials"]] == hs.analyse_balance(stance).trials_[
        "stance_side"
    ].tolist()
    again = CliRunner().invoke(cli, args)  # no silent overwrite, said as by every recorder
    assert again.exit_code == 1, again.output
    assert f"hipsense: {out} exists: choose another --out, or add --overwrite" in again.output


def test_analyze_reads_a_raw_balance_csv_with_column_map_and_axes(stance, tmp_path) -> None:
    src = _foreign_csv(stance, tmp_path / "s.csv", with_time=True)
    cmap = "t_s=time_s," + MOBGAP_MAP
    res = CliRunner().invoke(cli, ["analyze", str(src), "--test", "balance", "--json",
                                   "--column-map", cmap, "--axes", "z,-y,x"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["trials"]) == len(hs.analyse_balance(stance).trials_)
    res = CliRunner().invoke(cli, ["analyze", str(src), "--column-map", cmap])
    assert res.exit_code == 1 and "hipsense: " in res.output and "--test" in res.output


def test_options_that_do_not_apply_are_refused(walk, tmp_path) -> None:
    path = hs.write_recording(walk, tmp_path / "w.parquet")
    refused = [
        (["--rate-hz", "100"], "--rate-hz applies only"),
        (["--sides", "left"], "--sides does not apply to the walk test"),
        (["--sets", "left"], "--sets does not apply to the walk test"),
    ]
    for extra, words in refused:
        res = CliRunner().invoke(cli, ["analyze", str(path), *extra])
        assert res.exit_code != 0 and words in res.output, res.output


def test_out_into_a_missing_folder_is_a_message_not_a_traceback(walk, tmp_path) -> None:
    path = hs.write_recording(walk, tmp_path / "w.parquet")
    res = CliRunner().invoke(cli, ["analyze", str(path), "--out", str(tmp_path / "no" / "x.txt")])
    assert res.exit_code == 1
    assert res.output.startswith("hipsense: ") and "No such file or directory" in res.output
    assert not isinstance(res.exception, OSError)
