"""Load a catalog directory: one folder per provider, each with a `provider.yaml`.

The provider file holds provider-level facts and names the operations file plus its format;
an importer per format turns that into IR. Cross-checks that need both (path parameters,
endpoint hosts) run here, once, whatever the format.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import provider_v1
from .checks import required, str_list
from .compiled import default_catalog as default_catalog  # where it was; re-exported
from .errors import DuplicateName, InvalidEntry, MissingFact, UnboundPathParam
from .files import read_data
from .folders import PROVIDER_FILE as PROVIDER_FILE  # re-exported: importers of the loader use it
from .folders import default_root as default_root  # where it was; re-exported
from .importers import ImportContext, importers, placeholders
from .ir import Catalog, Operation, Provider
from .provider_blocks import (
    read_auth,
    read_codes,
    read_request,
    read_response,
    read_results,
    read_task,
)

FORMAT = "mediagen-provider/2"
FORMATS = (FORMAT, provider_v1.FORMAT)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = frozenset(
    {
        "format",
        "name",
        "title",
        "homepage",
        "source",
        "base_url",
        "base_url_aliases",
        "credential_hosts",
        "download_hosts",
        "auth",
        "request",
        "response",
        "task",
        "results",
        "errors",
        "operations",
    }
)
_V1_TOP_KEYS = _TOP_KEYS - {"results"}


def load_catalog_source(spec: str, working: Path) -> Catalog | dict[str, Any]:
    """A catalog named the ways `mediagen diff` accepts: a catalog or provider folder, one
    operations file (read with `working`'s provider facts), a generate snapshot (returned as
    its plain data) or `git:REV` (`working` as committed at REV). See `sources.py`."""
    from .sources import load_source

    return load_source(spec, working)


def load_catalog(root: Path) -> Catalog:
    root = Path(root)
    if not root.is_dir():
        raise MissingFact(root, "catalog directory not found")
    folders = sorted(p.parent for p in root.glob(f"*/{PROVIDER_FILE}"))
    if not folders:
        raise MissingFact(root, f"no provider folders (none has a {PROVIDER_FILE})")
    providers = [load_provider(folder / PROVIDER_FILE) for folder in folders]
    seen: dict[str, Path] = {}
    for folder, provider in zip(folders, providers, strict=True):
        if provider.name in seen:
            raise DuplicateName(
                folder / PROVIDER_FILE,
                f"provider name {provider.name!r} also used by {seen[provider.name]}",
            )
        seen[provider.name] = folder / PROVIDER_FILE
    return Catalog(providers=tuple(providers))


def load_provider(file: Path) -> Provider:
    doc = read_data(file)
    if not isinstance(doc, Mapping):
        raise MissingFact(file, "is not a mapping", expected=f"a document with format: {FORMAT}")
    if doc.get("format") not in FORMATS:
        raise InvalidEntry(
            file, f"format is {doc.get('format')!r}", expected=" or ".join(map(repr, FORMATS))
        )
    allowed = _TOP_KEYS if doc["format"] == FORMAT else _V1_TOP_KEYS
    unknown = set(doc) - allowed
    if unknown:
        raise InvalidEntry(
            file, f"unknown keys {sorted(unknown)}", expected=", ".join(sorted(allowed))
        )
    if doc["format"] == provider_v1.FORMAT:
        doc = provider_v1.upgrade(file, doc)

    name = required(file, doc, "name", str)
    if not _NAME.match(name):
        raise InvalidEntry(
            file, f"provider name {name!r}", expected="lowercase letters, digits and _"
        )
    if name != file.parent.name:
        raise InvalidEntry(
            file,
            f"provider name {name!r} differs from its folder {file.parent.name!r}",
            expected="the folder's name",
        )
    base_url = _https_url(file, "base_url", required(file, doc, "base_url", str))
    aliases = tuple(
        _https_url(file, "base_url_aliases", u) for u in str_list(file, doc, "base_url_aliases")
    )
    credential_hosts = str_list(file, doc, "credential_hosts", required=True)
    for url in (base_url, *aliases):
        host = urlsplit(url).hostname or ""
        if host not in credential_hosts:
            raise InvalidEntry(
                file,
                f"base URL host {host!r} is not in credential_hosts",
                expected=f"one of {credential_hosts}",
            )

    operations_spec = doc.get("operations")
    if not isinstance(operations_spec, Mapping):
        raise MissingFact(
            file, "no 'operations' block", expected="operations: {format: ..., file: ...}"
        )
    fmt = operations_spec.get("format")
    registry = importers()
    if fmt not in registry:
        raise InvalidEntry(
            file, f"operations format {fmt!r}", expected=f"one of {', '.join(sorted(registry))}"
        )
    ops_file = file.parent / required(file, operations_spec, "file", str, entry="operations")
    request = read_request(file, doc.get("request"))
    ctx = ImportContext(
        provider=name,
        base_urls=(base_url, *aliases),
        options=operations_spec,
        default_location=request.params_in,
    )
    operations = registry[fmt](ops_file, ctx)
    for op in operations:
        _check_operation(ops_file, op)

    task = read_task(file, doc.get("task"))
    if task is None and any(op.kind == "task" for op in operations):
        raise MissingFact(
            file,
            "operations of kind 'task' but no 'task' block",
            expected="task: {id_field, result, states, ...}",
        )

    return Provider(
        name=name,
        title=required(file, doc, "title", str),
        base_url=base_url,
        base_url_aliases=aliases,
        credential_hosts=credential_hosts,
        download_hosts=str_list(file, doc, "download_hosts", required=True),
        auth=read_auth(file, doc.get("auth")),
        response=read_response(file, doc.get("response")),
        request=request,
        task=task,
        results=read_results(file, doc.get("results")),
        vendor_codes=read_codes(file, doc.get("errors"), "vendor_codes", "code"),
        http_statuses=read_codes(file, doc.get("errors"), "http_statuses", "status"),
        operations=operations,
        homepage=str(doc.get("homepage") or ""),
        source=str(doc.get("source") or ""),
    )


def _check_operation(file: Path, op: Operation) -> None:
    label = f"operation {op.id!r}"
    if keyword.iskeyword(op.id):
        raise InvalidEntry(
            file,
            f"operation id {op.id!r} is a Python keyword, so it cannot be a method name",
            entry=label,
            expected=f"an id that is not a keyword, e.g. {op.id}_ (rename the entry)",
        )
    if not _NAME.match(op.id):
        raise InvalidEntry(
            file,
            f"operation id {op.id!r} is not usable as a Python method name",
            entry=label,
            expected="lowercase letters, digits and _, starting with a letter (rename the entry)",
        )
    if op.method in ("GET", "HEAD") and op.body_params:
        raise InvalidEntry(
            file,
            f"{op.method} operation with body parameters {[p.name for p in op.body_params]}",
            entry=label,
            expected="no x-location: body on a GET operation (its parameters go in the query)",
        )
    if op.count_param is not None:
        counted = next((p for p in op.params if p.name == op.count_param), None)
        if counted is None or counted.type not in ("integer", "string"):
            raise InvalidEntry(
                file,
                f"count_param {op.count_param!r} is not an integer or string parameter",
                entry=label,
                expected="the name of an integer (or digit string) parameter",
            )
    names = {p.name for p in op.params}
    unbound = sorted(placeholders(op.path) - names)
    if unbound:
        raise UnboundPathParam(
            file,
            f"path {op.path!r} has placeholder(s) {unbound} with no parameter",
            entry=label,
            expected="a parameter for each {placeholder}",
        )


def _https_url(file: Path, key: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidEntry(
            file, f"{key} {url!r} is not an https URL", expected="https://host[/path]"
        )
    return url.rstrip("/")
