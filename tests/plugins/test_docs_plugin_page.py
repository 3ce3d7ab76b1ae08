"""docs/writing-a-plugin.md: every Python block runs, in order, against the acme distribution."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-plugin.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_shows_the_acme_plugin_as_it_is(acme: Path) -> None:
    source = (acme / "acme_mediagen" / "plugin.py").read_text(encoding="utf-8")
    body = source.split("from __future__ import annotations\n\n", 1)[1]
    assert python_blocks()[0] == body


def test_every_python_block_runs(acme: Path) -> None:
    blocks = python_blocks()
    assert len(blocks) == 7
    namespace = {"__name__": "writing_a_plugin", "__file__": str(acme / "acme_mediagen" / "x.py")}
    for index, block in enumerate(blocks):
        code = compile(block, f"{PAGE.name} block {index + 1}", "exec")
        exec(code, namespace)
    assert namespace["plugin"].name == "acme"
