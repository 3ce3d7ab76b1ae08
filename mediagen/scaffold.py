"""`mediagen new-plugin`: a new provider plugin package, ready to install, run and test.

The package's files are rendered from the templates in `scaffold_template/` with
`string.Template` (no extra dependency); its generated package is not templated but produced
by mediagen's own code generator from the new catalog, so it always passes
`mediagen generate --check` (this is why the command needs `mediagen[codegen]`). Everything is
checked first and written into a hidden folder next to the destination, which is moved into
place at the end: a refusal or a failure leaves nothing behind.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import keyword
import re
import secrets
import shutil
import string
from importlib import resources
from pathlib import Path

import attrs

from . import __version__
from .errors import MediagenError

# The catalog's rule for provider names (catalog/loader.py), which also makes the name usable
# as a Python package, module and attribute name.
PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
ENTRY_POINT_GROUP = "mediagen"
EXAMPLE_OPERATION = "text_to_image"

# Template file -> where it goes in the new package; `$package` and `$name` are substituted.
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package_init.py.tmpl": "$package/__init__.py",
    "py.typed": "$package/py.typed",
    "plugin.py.tmpl": "$package/plugin.py",
    "provider.yaml.tmpl": "$package/catalog/$name/provider.yaml",
    "operations.yaml.tmpl": "$package/catalog/$name/operations.yaml",
    "test_conformance.py.tmpl": "tests/test_conformance.py",
}


class ScaffoldError(MediagenError, ValueError):
    """A plugin that cannot be created as asked (bad name, taken name, unusable folder)."""


@attrs.frozen
class PluginNames:
    """Every name the new package uses, derived from the provider name."""

    provider: str
    """The provider key: `mediagen run zeta ...`, `client.provider("zeta")`, the entry point."""
    distribution: str
    """What `pip install` and PyPI call it: `mediagen-zeta`."""
    package: str
    """The import package: `mediagen_zeta`."""

    @classmethod
    def for_provider(cls, provider: str) -> PluginNames:
        return cls(
            provider=provider,
            distribution=f"mediagen-{provider.replace('_', '-')}",
            package=f"mediagen_{provider}",
        )

    def template_values(self) -> dict[str, str]:
        domain = f"{self.provider.replace('_', '-')}.example"
        return {
            "name": self.provider,
            "distribution": self.distribution,
            "package": self.package,
            "title": self.provider.replace("_", " ").title(),
            "class_name": "".join(part.capitalize() for part in self.provider.split("_")),
            "key": self.provider.upper(),
            "env": f"{self.provider.upper()}_API_KEY",
            "domain": domain,
            "host": f"api.{domain}",
            "operation": EXAMPLE_OPERATION,
            "mediagen_requirement": mediagen_requirement(__version__),
        }


def default_destination(provider: str) -> Path:
    """The folder `new-plugin NAME` creates without --output: ./mediagen-NAME, named after the
    distribution (the name its repository usually has)."""
    return Path(PluginNames.for_provider(provider).distribution)


def mediagen_requirement(version: str) -> str:
    """The mediagen pin of a new plugin: this release series (generated code is written for
    it), e.g. `mediagen>=0.1.0,<0.2` for 0.1.0 and `mediagen>=1.2.0,<2` for 1.2.0."""
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return f"mediagen>={version}"
    major, minor = int(match.group(1)), int(match.group(2))
    upper = f"0.{minor + 1}" if major == 0 else str(major + 1)
    return f"mediagen>={version},<{upper}"


def check_provider_name(name: str) -> None:
    """Refuse a name the catalog, Python or the generated package cannot use."""
    rule = (
        "use a lowercase Python identifier that is not a keyword (a letter a-z, then letters "
        "a-z, digits or _; e.g. zeta or my_vendor)"
    )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"provider name {name!r} is a Python keyword: {rule}")
    if not PROVIDER_NAME.match(name):
        raise ScaffoldError(f"provider name {name!r} is not allowed: {rule}")
    if name == "mediagen" or name.startswith("mediagen_"):
        raise ScaffoldError(
            f"provider name {name!r} is not allowed: it would make the package "
            f"mediagen_{name}, named like mediagen itself; the name is the vendor's, without "
            "a mediagen prefix (e.g. zeta)"
        )


def client_attributes() -> frozenset[str]:
    """The public attributes of the clients, which `client.NAME` finds before a provider."""
    from .client import AsyncClient, Client

    return frozenset(n for cls in (AsyncClient, Client) for n in dir(cls) if not n.startswith("_"))


def check_name_is_free(names: PluginNames) -> None:
    """Refuse a provider, entry point, distribution or import package that already exists,
    and a provider name a client attribute would shadow."""
    from .registry import default_registry

    provider = names.provider
    if any(p.name == provider for p in default_registry().catalog.providers):
        raise ScaffoldError(
            f"provider {provider!r} already exists (built in or from an installed plugin; "
            "`mediagen list` shows them): choose another name"
        )
    taken = client_attributes()  # after the providers: a built-in one is a client property
    if provider in taken:
        raise ScaffoldError(
            f"provider name {provider!r} is not allowed: `client.{provider}` is already a "
            "client method or property, so the provider could not be reached as an attribute; "
            f"a provider name must not be one of: {', '.join(sorted(taken))}"
        )
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == provider:
            owner = entry.dist.name if entry.dist is not None else "an installed distribution"
            raise ScaffoldError(
                f"plugin {provider!r} is already installed (entry point of {owner}): "
                "choose another name, or uninstall it first"
            )
    try:
        importlib.metadata.distribution(names.distribution)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        raise ScaffoldError(
            f"distribution {names.distribution!r} is already installed: choose another "
            "provider name, or uninstall it first"
        )
    if importlib.util.find_spec(names.package) is not None:
        raise ScaffoldError(
            f"a Python package named {names.package!r} is already importable: choose another "
            "provider name"
        )


def check_destination(destination: Path) -> None:
    """The destination must be a new folder or an empty one."""
    if destination.is_dir():
        if any(destination.iterdir()):
            raise ScaffoldError(
                f"{destination} is a folder that is not empty: give a new or empty folder "
                "with --output DIR"
            )
    elif destination.exists() or destination.is_symlink():
        raise ScaffoldError(
            f"{destination} exists and is not a folder: give a new or empty folder with "
            "--output DIR"
        )


def check_code_generator() -> None:
    """The generated package is made by the code generator, an optional extra."""
    missing = []
    for module in ("jinja2", "datamodel_code_generator"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ScaffoldError(
            f"new-plugin runs the code generator, which needs {' and '.join(missing)}: "
            "pip install 'mediagen[codegen]'"
        )


def render_files(names: PluginNames) -> dict[str, str]:
    """The new package's hand-written files: relative path -> text."""
    values = names.template_values()
    folder = resources.files("mediagen") / "scaffold_template"
    return {
        string.Template(target).substitute(values): string.Template(
            (folder / source).read_text(encoding="utf-8")
        ).substitute(values)
        for source, target in FILES.items()
    }


def create_plugin(provider: str, destination: Path) -> list[str]:
    """Create the plugin package for `provider` in `destination` (new or empty); returns the
    files written, relative to it. Raises ScaffoldError, writing nothing, when the name or the
    folder cannot be used."""
    check_provider_name(provider)
    check_destination(destination)
    names = PluginNames.for_provider(provider)
    check_name_is_free(names)
    check_code_generator()
    from .codegen.generate import write

    files = render_files(names)
    where = destination.resolve()  # `--output .` has no name to build the staging one from
    staging = where.parent / f".{where.name}.new-plugin-{secrets.token_hex(4)}"
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:  # e.g. --output /proc/x, a read-only or missing place
        raise ScaffoldError(
            f"cannot create {destination}: {exc.strerror or exc}: give a folder you can "
            "write to with --output DIR"
        ) from None
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        package = staging / names.package
        write(package / "catalog", package / "generated")
        written = sorted(
            p.relative_to(staging).as_posix()
            for p in staging.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
        _move_into_place(staging, where)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def _move_into_place(staging: Path, destination: Path) -> None:
    """Rename the staging folder to the destination; into an existing empty folder (perhaps
    the working directory), move its entries instead."""
    if not destination.exists():
        staging.rename(destination)
        return
    for entry in staging.iterdir():
        entry.rename(destination / entry.name)
    staging.rmdir()
