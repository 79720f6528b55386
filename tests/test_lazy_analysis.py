"""``hipsense.analysis`` loads one test's analyser when that test is asked for, and
``modules_of(test)`` names everything analysing that test loads (what ``hipsense batch`` imports
once before it forks its workers). Each check runs in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hipsense.analysis import ANALYSERS, UnknownTest, modules_of
from hipsense.recording import ANGLE_COLUMNS, Recording, write_recording
from hipsense.sim.scenarios import simulate

HOST = Path(__file__).resolve().parents[1] / "host"
OTHERS = ("balance", "bridge", "exercise")


def _fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(HOST)},
    )  # fmt: skip
    return done.stdout.strip()


def test_asking_for_the_walk_loads_no_other_test_and_no_scipy() -> None:
    code = (
        "import sys, hipsense.analysis as a\n"
        "a.options_of('walk'); a.ANALYSERS['walk']; a.WalkAnalysis\n"
        "assert 'balance' in a.ANALYSERS and 'bridge' in a.ANALYSERS.keys()\n"
        f"others = [f'hipsense.{{layer}}.{{t}}' for t in {OTHERS!r}\n"
        "          for layer in ('analysis', 'detectors')]\n"
        "print(sorted(m for m in sys.modules if m in others or m.split('.')[0] == 'scipy'))\n"
        "a.ANALYSERS['balance']\n"
        "print('hipsense.analysis.balance' in sys.modules)\n"
    )
    loaded, balance_after = _fresh(code).splitlines()
    assert loaded == "[]"
    assert balance_after == "True"  # the lazy entry does load its module


def test_the_registry_keeps_its_keys_and_refuses_unknown_tests() -> None:
    assert list(ANALYSERS)[:3] == ["walk", "balance", "bridge"]
    assert all(name.startswith("exercise:") for name in list(ANALYSERS)[3:])
    assert ANALYSERS["exercise:clamshell"].keywords == {"exercise": "clamshell"}  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        ANALYSERS["run"]
    with pytest.raises(UnknownTest, match="choose one of"):
        modules_of("run")


@pytest.mark.parametrize(
    ("test", "scenario"),
    [("walk", "walk-normal"), ("balance", "stance-eyes-open"), ("bridge", "bridge-double"),
     ("exercise:clamshell", "exercise-clamshell")],
)  # fmt: skip
def test_modules_of_holds_everything_the_analysis_loads(
    test: str, scenario: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{test.replace(':', '-')}.parquet"
    duration_s = None if test.startswith("exercise:") else 40.0  # an exercise: its protocol
    write_recording(simulate(scenario, seed=3, duration_s=duration_s).to_recording(), path)
    code = (
        "import importlib, sys\n"
        "from hipsense.analysis import analyse_file, modules_of\n"
        f"for name in modules_of({test!r}): importlib.import_module(name)\n"
        "before = set(sys.modules)\n"
        f"result = analyse_file({str(path)!r})\n"
        "new = sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('hipsense', 'scipy', 'pandas', 'vqf'))\n"
        "print(result.test, new)\n"
    )
    assert _fresh(code) == f"{test} []"


def test_modules_of_any_test_covers_every_analyser() -> None:
    every = modules_of()
    for name in ANALYSERS:
        assert set(modules_of(name)) <= set(every)
    assert "scipy.signal" in every  # the detectors' filters, loaded at their first chunk


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_walk_json_path_loads_no_pandas_rich_or_matplotlib(tmp_path: Path, fmt: str) -> None:
    """``hipsense analyze FILE --test walk --json`` on a raw recording with its mounting, in a
    fresh interpreter: the result, and none of the modules it does not need (issue 19:
    pandas alone cost about 0.4 CPU s a run)."""
    rec = simulate("walk-normal", seed=5, duration_s=40.0).to_recording()
    rec = Recording(rec.meta, rec.data.drop(columns=list(ANGLE_COLUMNS)))
    path = write_recording(rec, tmp_path / f"walk.{fmt}")
    code = (
        "import sys, io, contextlib, json\n"
        "from hipsense.cli import main\n"
        f"sys.argv = ['hipsense', 'analyze', {str(path)!r}, '--test', 'walk', '--json']\n"
        "out = io.TextIOWrapper(io.BytesIO(), encoding='utf-8')\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "out.flush()\n"
        "doc = json.loads(out.buffer.getvalue())\n"
        "heavy = ('pandas', 'rich', 'matplotlib')\n"
        "print(len(doc['contacts']), sorted(m for m in sys.modules if m in heavy))\n"
    )
    n_contacts, loaded = _fresh(code).split(" ", 1)
    assert int(n_contacts) > 40
    assert loaded == "[]"


def _type_checking_only_uses(tree: ast.Module) -> list[tuple[int, str]]:
    """Names imported only under ``if TYPE_CHECKING:`` that a function uses at run time
    (outside annotations) without importing them itself: a NameError when it runs."""
    checking: set[str] = set()
    runtime: set[str] = set()
    for node in tree.body:
        guarded = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                names = {(a.asname or a.name).split(".")[0] for a in sub.names}
                (checking if guarded else runtime).update(names)
    only = checking - runtime
    annotations: set[int] = set()
    for node in ast.walk(tree):
        for field in ("annotation", "returns"):
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                annotations |= {id(x) for x in ast.walk(value)}
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        local = {
            (a.asname or a.name).split(".")[0]
            for sub in ast.walk(fn) if isinstance(sub, (ast.Import, ast.ImportFrom))
            for a in sub.names
        }  # fmt: skip
        found += [
            (sub.lineno, sub.id)
            for sub in ast.walk(fn)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)
            and sub.id in only - local and id(sub) not in annotations
        ]  # fmt: skip
    return found


def test_no_function_uses_a_module_imported_only_for_type_checking() -> None:
    """pandas (and pyarrow) are imported where they are used, the module-level import only
    under TYPE_CHECKING (issue 19); a function that uses ``pd`` without its own import fails
    with NameError only when it runs (``RecordingChunks.extent``: ``hipsense recover``)."""
    assert _type_checking_only_uses(ast.parse("if TYPE_CHECKING:\n    import pandas as pd\n"
                                              "def f(x: pd.Series):\n    return pd.concat(x)\n"
                                              )) == [(4, "pd")]  # fmt: skip
    problems = [
        f"{path.relative_to(HOST)}:{line}: {name}"
        for path in sorted((HOST / "hipsense").rglob("*.py"))
        for line, name in _type_checking_only_uses(ast.parse(path.read_text()))
    ]
    assert not problems, problems
