"""Provider catalog folders: the file that marks one, and the digest of what it holds."""

from __future__ import annotations

from pathlib import Path

PROVIDER_FILE = "provider.yaml"
"""Each provider's folder holds this file (facts, and which operations file to read)."""


def default_root() -> Path:
    """The catalog shipped with the package (this folder)."""
    return Path(__file__).resolve().parent


def folder_digest(folder: Path) -> str:
    """sha256 over the names and bytes of the files in a provider's catalog folder (caches and
    dotfiles left out), in name order: equal digests mean the same catalog source."""
    import hashlib  # not for every command that only needs PROVIDER_FILE

    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.name.startswith("."):
            continue
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()
