"""`mediagen generate [--check]` without the codegen extra says what to install, in one line
(exit 2), instead of a ModuleNotFoundError traceback from deep inside the generator (issue 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPLICATE = Path(__file__).resolve().parents[1] / "examples" / "replicate"


@pytest.mark.parametrize(
    ("missing", "args"),
    [("jinja2", ["generate", "--check"]), ("datamodel_code_generator", ["generate"])],
)
def test_generate_without_the_code_generator_says_what_to_install(
    missing: str, args: list[str]
) -> None:
    # An import of None in sys.modules fails as a missing package would.
    script = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from mediagen.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPLICATE, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "mediagen: error: needs the code generator: pip install 'mediagen[codegen]'\n"
    )
    assert done.stdout == ""
