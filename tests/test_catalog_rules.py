"""Vendor rules the catalog states: non-empty strings (`minLength: 1`) and conditional
requirements (`x-required-if`). The loader refuses a bad rule naming file, operation and
parameter; the models refuse a call breaking one before any request; the emulator answers a
raw request breaking one as the vendor does; `mediagen diff` classifies rule changes.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import CatalogDir, import_generated

import mediagen
from mediagen.catalog import load_catalog
from mediagen.catalog.diff import diff_catalogs, version_bump
from mediagen.catalog.diff_params import param_changes
from mediagen.catalog.errors import CatalogError, InvalidEntry
from mediagen.codegen.generate import write
from mediagen.errors import ParamError
from mediagen.params import model_for
from mediagen.protocol import CatalogResults
from mediagen.provider_plugin import ProviderPlugin
from mediagen.registry import Registry
from mediagen.testing import Emulator

REF = "https://example.test/ref.png"
IMG2IMG: dict[str, Any] = {
    "prompt": "same cat, in an office",
    "reference_image": REF,
    "width": 1024,
    "height": 1024,
    "batch_size": 1,
    "control_intensity": 0.5,
}

# The minimal catalog's `draw`, with a `mode` and a `mask` required when mode is "edit".
RULED = """\
        mode: {type: string, enum: [new, edit, fill], description: What to do.}
        mask: {type: string, description: Where.RULE}
        steps: {type: integer, description: How long.}
        refs: {type: array, items: {type: string}, description: Others.}
"""


def ruled(cat: CatalogDir, rule: str | None = "{mode: edit}") -> CatalogDir:
    """The catalog with `mask`'s x-required-if set to `rule` (None: no rule)."""
    text = (cat.folder / "operations.yaml").read_text()
    written = "" if rule is None else f", x-required-if: {rule}"
    cat.write("operations.yaml", text + RULED.replace("RULE", written))
    return cat


# -- the catalog format ---------------------------------------------------------------------


def test_the_shipped_catalog_states_the_vendor_rules(catalog: Any) -> None:
    init_image = catalog.provider("tomoviee").operation("image_to_image").param("init_image")
    assert init_image.required_if == {"control_type": ("2",)}
    assert not init_image.required
    for op in catalog.provider("edrawmax").operations:
        assert op.param("prompt").min_length == 1, op.id


def test_a_rule_loads_with_one_value_or_a_list(catalog_dir: CatalogDir) -> None:
    ruled(catalog_dir, "{mode: [edit, fill], steps: 3}")
    draw = load_catalog(catalog_dir.root).provider("acme").operation("draw")
    assert draw.param("mask").required_if == {"mode": ("edit", "fill"), "steps": (3,)}
    assert draw.param("mode").required_if == {}


@pytest.mark.parametrize(
    ("rule", "problem", "expected"),
    [
        ("edit", "x-required-if is 'edit'", "a mapping of other parameter"),
        ("{}", "x-required-if is {}", "a mapping of other parameter"),
        ("{mode: []}", "x-required-if entry 'mode': []", "a mapping of other parameter"),
        ("{mode: {a: 1}}", "x-required-if entry 'mode'", "a mapping of other parameter"),
        ("{moed: edit}", "names 'moed', which is not another parameter", "one of prompt, ratio"),
        ("{mask: x}", "names 'mask', which is not another parameter", "one of prompt"),
        ("{mode: paint}", "'mode' can never be 'paint'", "values among 'new', 'edit', 'fill'"),
        ("{steps: '3'}", "'steps' can never be '3'", "integer values"),
        ("{refs: a}", "'refs' can never be 'a'", "not an array"),
    ],
)
def test_a_bad_rule_is_refused_naming_file_operation_and_param(
    catalog_dir: CatalogDir, rule: str, problem: str, expected: str
) -> None:
    ruled(catalog_dir, rule)
    with pytest.raises(InvalidEntry) as info:
        load_catalog(catalog_dir.root)
    message = str(info.value)
    assert message.startswith(str(catalog_dir.folder / "operations.yaml"))
    assert "operations[0] 'draw': param 'mask'" in message
    assert problem in message and expected in message


def test_a_rule_on_an_always_required_param_is_refused(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml",
        "prompt: {type: string,",
        "prompt: {type: string, x-required-if: {ratio: '1:1'},",
    )
    with pytest.raises(CatalogError, match=r"param 'prompt': x-required-if: the parameter is "):
        load_catalog(catalog_dir.root)


def test_describe_shows_the_rule(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mediagen", "describe", "tomoviee", "image_to_image"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "required when control_type is '2'" in out.stdout


# -- the generated models, before any request -----------------------------------------------


def with_emulator(body: Any) -> None:
    async def go() -> None:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            await body(emu, client)

    asyncio.run(go())


def test_init_image_is_asked_for_when_control_type_is_2_and_nothing_is_sent() -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(ParamError) as info:
            await client.tomoviee.image_to_image(control_type="2", **IMG2IMG)
        assert str(info.value) == (
            "tomoviee.image_to_image: init_image is required when control_type is '2'; "
            "allowed: init_image set, or control_type other than '2'"
        )
        assert info.value.field == "init_image"
        assert emu.requests == []
        # Other control types need none, and with one the call goes out as written.
        await client.tomoviee.image_to_image(control_type="1", **IMG2IMG)
        await client.tomoviee.image_to_image(control_type="2", init_image=REF, **IMG2IMG)
        sent = [r.body for r in emu.requests_for("tomoviee", "submit")]
        assert [b.get("init_image") for b in sent] == [None, REF]

    with_emulator(body)


def test_codegen_emits_the_rule_on_the_model(catalog_dir: CatalogDir, tmp_path: Path) -> None:
    write(ruled(catalog_dir, "{mode: [edit, fill]}").root, tmp_path / "out")
    source = (tmp_path / "out" / "acme" / "models.py").read_text()
    assert "_v.required_if('mask', {'mode': ('edit', 'fill')})" in source
    assert "Required when mode is one of 'edit', 'fill'." in source  # the field's docstring
    models = import_generated(tmp_path / "out", "acme", "rules_pkg").models
    with pytest.raises(ParamError) as info:
        models.DrawParams(prompt="p", mode="fill")
    assert str(info.value) == (
        "acme.draw: mask is required when mode is one of 'edit', 'fill'; "
        "allowed: mask set, or mode other than 'edit', 'fill'"
    )
    assert models.DrawParams(prompt="p", mode="new").to_dict()["mode"] == "new"
    assert models.DrawParams(prompt="p", mode="edit", mask="m").mask == "m"


def test_the_wire_form_is_checked_too() -> None:
    model = model_for("tomoviee.image_to_image")
    with pytest.raises(ParamError, match="init_image is required when control_type is '2'"):
        model.from_dict({**IMG2IMG, "control_type": "2"})
    assert model.from_dict({**IMG2IMG, "control_type": "0"}).to_dict()["control_type"] == "0"


@pytest.mark.parametrize("operation", ["flowchart", "infographic", "gantt", "mindmap"])
def test_an_empty_edrawmax_prompt_is_refused_before_any_request(operation: str) -> None:
    async def body(emu: Emulator, client: mediagen.AsyncClient) -> None:
        with pytest.raises(ParamError) as info:
            await getattr(client.edrawmax, operation)(prompt="")
        assert str(info.value) == (
            f"edrawmax.{operation}: the required parameter prompt is empty; allowed: a non-empty"
            " string"
        )
        assert emu.requests == []

    with_emulator(body)


# -- the emulator, answering raw requests ---------------------------------------------------


async def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


def test_the_emulator_answers_an_empty_edrawmax_prompt_as_the_vendor_does() -> None:
    async def go() -> None:
        async with Emulator() as emu:
            url = emu.base_urls["edrawmax"] + "/skills/generate-flowchart"
            status, answer = await post(url, {"prompt": "", "lang": "en"})
            # The vendor's documented answer: code 400 in its envelope, naming the param.
            assert status == 200 and answer["code"] == 400 and answer["data"] == {}
            assert "prompt" in answer["msg"]
            status, answer = await post(url, {"prompt": "a", "lang": "en"})
            assert (status, answer["code"]) == (200, 0)

    asyncio.run(go())


def test_the_emulator_refuses_img2img_without_init_image_when_control_type_is_2() -> None:
    async def go() -> None:
        async with Emulator() as emu:
            creds = emu.credentials["tomoviee"]
            token = base64.b64encode(f"{creds['app_key']}:{creds['app_secret']}".encode())
            headers = {"Authorization": f"Basic {token.decode()}", "X-App-Key": creds["app_key"]}
            path = "/v1/open/capacity/application/tm_reference_img2img"
            url = emu.base_urls["tomoviee"] + path
            status, answer = await post(url, {**IMG2IMG, "control_type": "2"}, headers)
            assert (status, answer["code"]) == (400, 400) and not emu.tasks
            assert "init_image is required when control_type is '2'" in answer["msg"]
            status, answer = await post(url, {**IMG2IMG, "control_type": "3"}, headers)
            assert (status, answer["code"]) == (200, 0) and len(emu.tasks) == 1

    asyncio.run(go())


def test_the_emulator_enforces_a_plugin_catalogs_rule(catalog_dir: CatalogDir) -> None:
    """A provider without generated code: the emulator checks the rule from the catalog."""
    registry = Registry(catalog=load_catalog(ruled(catalog_dir).root), entry_points=False)
    registry.register(ProviderPlugin("acme", results=CatalogResults, emulator=None), name="acme")

    async def go() -> None:
        async with Emulator(registry=registry) as emu:
            headers = {"X-Key": emu.credentials["acme"]["api_key"]}
            url = emu.base_urls["acme"] + "/draw"
            status, answer = await post(url, {"prompt": "p", "mode": "edit"}, headers)
            assert status == 400 and not emu.tasks
            assert "mask is required when mode is 'edit'" in answer["msg"]
            status, answer = await post(url, {"prompt": "p", "mode": "new"}, headers)
            assert (status, answer["code"]) == (200, 0) and len(emu.tasks) == 1

    asyncio.run(go())


# -- mediagen diff --------------------------------------------------------------------------


def _param(**fields: Any) -> dict[str, Any]:
    return {"name": "p", "python_name": "p", "type": "string", "required": False, **fields}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (_param(), _param(required_if={"c": ["2"]}), ("required_if_added", "breaking")),
        (_param(required_if={"c": ["2"]}), _param(), ("required_if_removed", "compatible")),
        (
            _param(required_if={"c": ["2"]}),
            _param(required_if={"c": ["2", "3"]}),
            ("required_if_changed", "breaking"),
        ),
        (
            _param(required_if={"c": ["2", "3"]}),
            _param(required_if={"c": ["2"]}),
            ("required_if_relaxed", "compatible"),
        ),
        (
            _param(required_if={"c": ["2"]}),
            _param(required_if={"c": ["2"], "d": [True]}),
            ("required_if_relaxed", "compatible"),
        ),
        (None, _param(required_if={"c": ["2"]}), ("param_added_required_if", "breaking")),
        (_param(), _param(min_length=1), ("limit_tightened", "breaking")),
        (_param(min_length=1), _param(), ("limit_relaxed", "compatible")),
    ],
)
def test_rule_changes_are_classified(
    old: dict[str, Any] | None, new: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert {(c, s) for c, s, _ in param_changes(old, new)} == {expected}


def test_diff_reports_a_new_rule_as_breaking_and_its_removal_as_compatible(
    tmp_path: Path,
) -> None:
    plain = ruled(CatalogDir(tmp_path / "plain"), None)
    with_rule = ruled(CatalogDir(tmp_path / "ruled"))
    before, after = load_catalog(plain.root), load_catalog(with_rule.root)

    (added,) = diff_catalogs(before, after)
    assert (added.param, added.change, added.severity) == ("mask", "required_if_added", "breaking")
    assert added.message == "now required when mode is 'edit'"
    assert version_bump([added]) == "major"
    (removed,) = diff_catalogs(after, before)
    assert (removed.change, removed.severity) == ("required_if_removed", "compatible")
