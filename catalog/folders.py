"""Provider catalog folders: the file that marks one, and the digests of what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

PROVIDER_FILE = "provider.yaml"
"""Each provider's folder holds this file (facts, and which operations file to read)."""


def default_root() -> Path:
    """The catalog shipped with the package (this folder)."""
    return Path(__file__).resolve().parent


def folder_digest(folder: Path) -> str:
    """sha256 over the names and bytes of the files in a provider's catalog folder (caches and
    dotfiles left out), in name order: equal digests mean the same catalog source. Generated
    files name it in their header."""
    import hashlib  # not for every command that only needs PROVIDER_FILE

    h = hashlib.sha256()
    for chunk in _contents(folder):
        h.update(chunk)
    return h.hexdigest()


def folder_key(folder: Path) -> str:
    """blake2b (32 bytes) over what `folder_digest` hashes: how the runtime tells, at every
    start-up, that a compiled catalog (`DIGESTS` in `_catalog_ir.py`) is up to date. CPython's
    own blake2b, as hashlib's is: importing hashlib loads OpenSSL, a twentieth of `mediagen
    list`."""
    try:
        from _blake2 import blake2b
    except ImportError:  # an interpreter without CPython's module
        from hashlib import blake2b
    h = blake2b(digest_size=32)
    for chunk in _contents(folder):
        h.update(chunk)
    return h.hexdigest()


def _contents(folder: Path) -> Iterator[bytes]:
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.name.startswith("."):
            continue
        yield path.relative_to(folder).as_posix().encode() + b"\0"
        yield path.read_bytes() + b"\0"
