"""The CLI zygote (tests/cli_zygote.py) that some tests fork `mediagen` processes from: each
child gets exactly the arguments, environment, folder and output files it is given, ends with
the CLI's exit status, and is a process of its own that a signal ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from cli_zygote import Zygote

from mediagen.journal import Journal


def test_a_child_runs_the_cli_with_its_own_arguments_environment_and_folder(
    tmp_path: Path, cli_zygote: Zygote
) -> None:
    journal = Journal(tmp_path / "mine.sqlite3")
    journal.record_intent("mediaio", "imagen_4", {"prompt": "only here"}, state="planned")
    journal.close()
    # The journal named relative to the child's folder, through its environment alone.
    env = {**os.environ, "MEDIAGEN_JOURNAL": "mine.sqlite3", "ZYGOTE_TEST_MARK": "x"}
    done = cli_zygote.run("tasks", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    (task,) = json.loads(done.stdout)
    assert task["state"] == "planned" and task["operation"] == "imagen_4"
    assert "ZYGOTE_TEST_MARK" not in os.environ  # the child's environment was its own

    refused = cli_zygote.run("tasks", "--state", "bogus", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "argument --state: invalid choice: 'bogus'" in refused.stderr


def test_a_child_is_a_process_that_a_signal_ends(tmp_path: Path, cli_zygote: Zygote) -> None:
    with open(tmp_path / "out", "wb") as out, open(tmp_path / "err", "wb") as err:
        proc = cli_zygote.start(
            "emulate", "--port", "0", cwd=tmp_path, env=dict(os.environ), stdout=out, stderr=err
        )
    assert proc.pid not in (os.getpid(), os.getppid())
    assert proc.poll() is None  # serving until stopped
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    proc.kill()  # ended: nothing to signal, as with subprocess.Popen
    assert proc.returncode == -signal.SIGKILL


def test_a_child_that_outlives_its_timeout_is_killed(tmp_path: Path, cli_zygote: Zygote) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        cli_zygote.run("emulate", "--port", "0", cwd=tmp_path, env=dict(os.environ), timeout=0.5)


CODE = """\
import os, sys
print(__name__, sys.argv, repr(sys.path[0]), os.getcwd(), os.environ["ZYGOTE_TEST_MARK"])
print("zygote" in globals(), "annotations" in globals(), "_serve" in globals())
def f(x: undefined_name) -> None: ...
print(f.__annotations__ != {})
sys.exit(int(sys.argv[0] == "-c") * 3)
"""


def test_a_child_runs_python_c_code_in_a_fresh_main_module(
    tmp_path: Path, cli_zygote: Zygote
) -> None:
    """As `python -c CODE` runs it: in `__main__`, a module of its own (none of the zygote's
    names, nor its `from __future__ import annotations`: the annotation is evaluated, so an
    undefined name fails), argv ["-c"], the current folder first on the path."""
    env = {**os.environ, "ZYGOTE_TEST_MARK": "y"}
    done = cli_zygote.run(cwd=tmp_path, env=env, code=CODE)
    assert done.stderr.splitlines()[-1] == "NameError: name 'undefined_name' is not defined"
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines == [f"__main__ ['-c'] '' {tmp_path} y", "False False False"]
    ends = cli_zygote.run(cwd=tmp_path, env=env, code=CODE.replace("undefined_name", "int"))
    assert ends.returncode == 3, ends.stderr
    assert ends.stdout.splitlines()[-1] == "True"
