"""A required parameter given as nothing (an empty or whitespace-only string, an empty list)
is refused by the library's models, before any request, as the CLI refuses it: one rule
(`mediagen.params.is_empty`, applied by `all_of`), which the CLI and batch files reach through
the models. A catalog's explicit `minLength: 0` / `minItems: 0` says empty is a value."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CatalogDir, import_generated
from helpers import mediagen_main

import mediagen
from mediagen.codegen.generate import write
from mediagen.errors import ParamError
from mediagen.params import ParamsModel, all_of, is_empty, is_list_of, is_type, min_length
from mediagen.testing import Emulator

PROMPT = "mediaio.imagen_4: the required parameter prompt is empty; allowed: a non-empty string"
IMAGES = (
    "mediaio.nano_banana: the required parameter images is empty; allowed: a list of one or"
    " more items"
)


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\u3000", "\xa0 "])
def test_a_blank_required_string_is_refused_before_any_request(blank: str) -> None:
    async def go() -> None:
        async with (
            Emulator(duration=0.0) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            with pytest.raises(ParamError) as info:
                await client.mediaio.imagen_4(prompt=blank)
            assert str(info.value) == PROMPT
            assert (info.value.field, info.value.value) == ("prompt", blank)
            with pytest.raises(ParamError, match="the required parameter image is empty"):
                await client.mediaio.wan_2_6(prompt="x", image=blank)  # a URL parameter
            with pytest.raises(ParamError, match="the required parameter prompt is empty"):
                await client.edrawmax.flowchart(prompt=blank)  # its catalog says minLength 1
            assert emu.requests == []

    asyncio.run(go())


@pytest.mark.parametrize("nothing", [[], ()])
def test_an_empty_required_list_is_refused(nothing: Any) -> None:
    model = mediagen.params.model_for("mediaio.nano_banana")
    with pytest.raises(ParamError) as info:
        model(prompt="x", images=nothing)
    assert str(info.value) == IMAGES
    with pytest.raises(ParamError, match=IMAGES):
        model.from_dict({"prompt": "x", "images": []})


def test_given_values_and_optional_ones_are_unchanged() -> None:
    model_for = mediagen.params.model_for
    imagen = model_for("mediaio.imagen_4")
    for given in (" a cat", "一只猫", "é", "x" * 1200, "\u3000a"):
        assert imagen(prompt=given).prompt == given
    assert imagen.from_dict({"prompt": "x"}).to_dict() == {"prompt": "x"}
    # Wrong types still get their type's message, not the emptiness one.
    with pytest.raises(ParamError, match="prompt must be a string, got tuple"):
        imagen(prompt=())  # type: ignore[arg-type]
    with pytest.raises(ParamError, match="images must be a list, got str"):
        model_for("mediaio.nano_banana")(prompt="x", images="")  # type: ignore[arg-type]
    # An optional string may be empty: only required ones are refused.
    soundtrack = model_for("tomoviee.video_soundtrack")(video="https://x.test/v.mp4", prompt="")
    assert soundtrack.to_dict()["prompt"] == ""


def test_no_whitespace_character_passes_the_inline_first_character_test() -> None:
    """`all_of`'s fast path takes a string whose first character is in (" ", "\\x85") or above
    "\\u3000" as surely not blank, without a call: no whitespace character is there."""
    for code in range(sys.maxunicode + 1):
        c = chr(code)
        if c.isspace():
            assert not (" " < c < "\x85" or c > "\u3000"), hex(code)
    assert is_empty("") and is_empty(" \u2028") and is_empty([]) and is_empty(())
    assert not is_empty(" x") and not is_empty([""]) and not is_empty(0)


def test_an_explicit_zero_minimum_keeps_empty_values(
    catalog_dir: CatalogDir, tmp_path: Path
) -> None:
    """What the vendor docs say is meaningful empty, the catalog says with `minLength: 0`."""
    catalog_dir.replace(
        "operations.yaml",
        "prompt: {type: string, description: What to draw.}",
        "prompt: {type: string, minLength: 0, description: What to draw.}\n"
        "        refs: {type: array, items: {type: string}, minItems: 0, description: Refs.}\n"
        "        tags: {type: array, items: {type: string}, description: Tags.}",
    )
    catalog_dir.replace("operations.yaml", "required: [prompt]", "required: [prompt, refs, tags]")
    write(catalog_dir.root, tmp_path / "out")
    models = import_generated(tmp_path / "out", "acme", "fix7_empty_pkg").models
    drawn = models.DrawParams(prompt="", refs=[], tags=["t"])
    assert (drawn.prompt, drawn.refs) == ("", [])
    with pytest.raises(ParamError, match="the required parameter tags is empty"):
        models.DrawParams(prompt="", refs=[], tags=[])


def test_the_rule_costs_a_given_string_no_call() -> None:
    """The fused check of a required string makes as many calls with the rule as one without
    it (an explicit `min_length(0)` turns the rule off): counted with a profiler."""
    import cProfile
    import pstats

    inst, attribute = _Model(), _Attribute("prompt")

    def calls(check: Any, value: Any) -> int:
        profiler = cProfile.Profile()
        profiler.enable()
        check(inst, attribute, value)
        profiler.disable()
        return int(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]

    ruled, unruled = all_of([is_type(str), min_length(1)]), all_of([is_type(str), min_length(0)])
    for given in ("a cat", "一只猫"):
        assert calls(ruled, given) == calls(unruled, given)
    lists = all_of([is_list_of(str)])
    with pytest.raises(ParamError, match="the required parameter prompt is empty"):
        lists(inst, attribute, [])
    with pytest.raises(ParamError, match="the required parameter prompt is empty"):
        ruled(inst, attribute, "  ")


class _Model(ParamsModel):
    OPERATION = "acme.draw"


class _Attribute:
    def __init__(self, name: str) -> None:
        self.name = name


def test_cli_and_batch_refuse_it_with_the_librarys_words(tmp_path: Path) -> None:
    empty = mediagen_main("run", "mediaio", "imagen_4", "prompt= ", "--emulate", cwd=tmp_path)
    assert empty.returncode == 2 and PROMPT in empty.stderr
    no_images = mediagen_main(
        "run", "mediaio", "nano_banana", "prompt=x", "images=[]", "--emulate", cwd=tmp_path
    )
    assert no_images.returncode == 2 and IMAGES in no_images.stderr
    jobs = tmp_path / "jobs.jsonl"
    line = {"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "  "}}
    jobs.write_text(json.dumps(line) + "\n", encoding="utf-8")
    batch = mediagen_main("batch", str(jobs), cwd=tmp_path)
    assert batch.returncode == 2 and PROMPT in batch.stderr and "nothing was sent" in batch.stderr
