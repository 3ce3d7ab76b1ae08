"""Messages an outside plugin author met: each names what is wrong and what is allowed.

A URL parameter given `https://` (no host) or an ftp URL, through the generated models and the
CLI; a catalog operation id that is a Python keyword; an array property without `items`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CatalogDir
from helpers import mediagen_main

from mediagen.catalog import load_catalog
from mediagen.catalog.errors import CatalogError, InvalidEntry, UnknownType
from mediagen.errors import ParamError
from mediagen.generated.tomoviee import models as tomoviee_models

URL_ALLOWED = "allowed: an https URL the vendor can fetch (or http on loopback, e.g. the emulator)"


@pytest.mark.parametrize(
    "value,problem",
    [
        ("https://", "has no host"),
        ("http://", "has no host"),
        ("https:///a.png", "has no host"),
        ("ftp://files.example/a.png", "is an ftp URL, which the vendor cannot fetch"),
        ("s3://bucket/a.png", "is an s3 URL, which the vendor cannot fetch"),
        ("file:///tmp/a.png", "is a file URL, which the vendor cannot fetch"),
    ],
)
def test_a_url_the_vendor_cannot_fetch_is_named_with_what_is_wrong(
    value: str, problem: str
) -> None:
    with pytest.raises(ParamError) as info:
        tomoviee_models.ImageToVideoParams(prompt="p", image=value)
    assert str(info.value) == (f"tomoviee.image_to_video: image={value!r} {problem}; {URL_ALLOWED}")


def test_the_cli_says_a_url_has_no_host_before_any_request(tmp_path: Path) -> None:
    out = mediagen_main(
        "run", "tomoviee", "image_to_video", "prompt=x", "image=https://", "--emulate", cwd=tmp_path
    )
    assert out.returncode == 2
    lines = out.stderr.splitlines()
    assert lines == [
        f"mediagen: error: tomoviee.image_to_video: image='https://' has no host; {URL_ALLOWED}"
    ], out.stderr


def load_error(cat: CatalogDir) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(cat.root)
    return info.value


def test_an_operation_id_that_is_a_keyword_is_called_one(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("operations.yaml", "id: draw", "id: import")
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert str(err).endswith(
        "operations.yaml: operation 'import': operation id 'import' is a Python keyword, so it "
        "cannot be a method name (expected an id that is not a keyword, e.g. import_ (rename "
        "the entry))"
    )


@pytest.mark.parametrize(
    "prop,problem",
    [
        ("{type: array", "an array without `items`"),
        ("{type: array, items: {}", "`items` without a `type`"),
        ("{type: array, items: string", "`items` is 'string', not a mapping"),
        ("{type: array, items: {type: blob}", "unknown array item type 'blob'"),
    ],
)
def test_an_array_without_a_usable_items_says_what_to_write(
    catalog_dir: CatalogDir, prop: str, problem: str
) -> None:
    catalog_dir.replace("operations.yaml", "prompt: {type: string", f"prompt: {prop}")
    err = load_error(catalog_dir)
    assert isinstance(err, UnknownType)
    assert str(err).endswith(
        f"operations.yaml: operations[0] 'draw': param 'prompt': {problem} "
        "(expected items: {type: string|integer|number|boolean})"
    )
