"""The error text for a name mediagen does not know (a provider, an operation): the likely
typo's closest known names first, then the rest."""

from __future__ import annotations

from collections.abc import Sequence


def close_names(name: str, known: Sequence[str]) -> list[str]:
    """The known names `name` is probably a typo of, closest first (at most three)."""
    import difflib

    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)


def unknown_name(what: str, name: str, known: Sequence[str]) -> str:
    """`no provider 'mediaoi'; did you mean mediaio? known: mediaio, edrawmax, tomoviee`."""
    close = close_names(name, known)
    ordered = [*close, *(k for k in known if k not in close)]
    hint = f"; did you mean {' or '.join(close)}?" if close else ";"
    return f"no {what} {name!r}{hint} known: {', '.join(ordered) or 'none'}"
