"""A parameter model older than the catalog: a catalog edited without `mediagen generate`.

The registry reads a plugin's catalog files when they are newer than its compiled catalog, so
`describe` shows the edit while the generated models still enforce the old values. A refusal
from such a model (mediagen.params, so the library, `run` and `batch` alike) gets a hint saying
what to run; `describe` warns.
"""

from __future__ import annotations

import importlib

from . import __version__
from .catalog import Operation
from .errors import ParamError

STALE_HINT = "the generated package is older than the catalog: run `mediagen generate`"


def compiled_from_another_catalog(op: Operation) -> bool:
    """Whether the provider's generated package was compiled from another version of the
    operation than the catalog holds now. Only after a refusal: it imports the compiled
    catalog."""
    from .registry import default_registry

    generated = default_registry().contribution(op.provider).generated
    try:
        compiled = importlib.import_module(f"{generated}._catalog_ir")
        if __version__ != compiled.VERSION:  # other IR classes: never equal, not stale
            return False
        return bool(compiled.PROVIDERS[op.provider].operation(op.id) != op)
    except (ImportError, AttributeError, KeyError):  # no compiled catalog, no such operation
        return False


def hinted(qualified_id: str, exc: ParamError) -> ParamError:
    """A model's refusal (`provider.operation` its operation), its message ending with the
    hint when the model is older than the catalog (`describe` shows what the model refuses).
    Only where the process's registry is built already (a client, `model_for`): a refusal
    never builds it (loading plugins) and never fails for the hint's sake; a model of an
    operation the registry does not know is left as it is."""
    from .registry import built_default_registry

    built = built_default_registry()
    if built is None:
        return exc
    provider, _, operation = qualified_id.partition(".")
    try:
        if compiled_from_another_catalog(built.catalog.provider(provider).operation(operation)):
            exc.args = (f"{exc}; {STALE_HINT}",)
    except Exception:  # the hint is a courtesy: the refusal is what matters
        pass
    return exc
