"""The provider calls in one Python file, for `mediagen diff --scan`: read with `ast`, never run.

A call is `<endpoints>.<operation>(...)`; `<endpoints>` is any of

- `<anything>.<provider>` (`client.mediaio`),
- `<anything>.provider(<key>)`, where `<key>` is a provider's name as a string, the key
  constant a generated package exports (`MEDIAIO` from `mediagen.generated`, `ACME` from a
  plugin's, or either re-exported by another module), `<module>.MEDIAIO` or
  `ProviderKey("mediaio")`,
- a name plainly assigned one of those (`mediaio = client.provider(MEDIAIO)`), in the same
  function or an enclosing one, or the module; a key constant can be aliased the same way.

`<anything>.provider(<key>)` on its own is a call too (of the provider, no operation). Names
are resolved as Python scopes them: in their own scope, the nearest assignment before the use
(else the one every assignment agrees on); in an enclosing scope, only the value every
assignment there agrees on. Any other binding (a parameter, a loop target, an import) hides an
alias, so a name is never taken for a provider it may not be.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

import attrs

NOT_LITERAL: Final = object()
"""A keyword's value that is not a literal in the source (a variable, an expression)."""

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, *_COMPREHENSIONS)
"""Nodes with a scope of their own, below the module's."""
_MAX_ALIAS_DEPTH = 16  # `a = b`, `b = a`: give up rather than recurse forever


@attrs.frozen
class Call:
    """A provider call: `operation` None for `provider(<key>)` alone; `passed` maps each
    keyword written out to its literal value (or NOT_LITERAL); `spread` when the call also
    passes a `**mapping`, whose keys the scan cannot read."""

    line: int
    provider: str
    operation: str | None
    passed: Mapping[str, Any]
    spread: bool = False


def python_calls(text: str, filename: str, providers: Collection[str]) -> list[Call]:
    """Every provider call in a Python source, by line; `providers` names the key constants
    (`MEDIAIO` for `mediaio`) recognised without an import (after a star import)."""
    tree = ast.parse(text, filename=filename)
    names = _Names(tree, {p.upper(): p for p in providers})
    calls: list[Call] = []
    chained: set[int] = set()  # provider(<key>) calls already counted as part of a call
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            provider = names.endpoints(target, node)
            if provider is not None:
                if isinstance(target, ast.Call):
                    chained.add(id(target))
                spread = any(k.arg is None for k in node.keywords)
                calls.append(Call(node.lineno, provider, node.func.attr, _passed(node), spread))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in chained:
            provider = names.provider_call(node, node)
            if provider is not None:
                calls.append(Call(node.lineno, provider, None, {}))
    return sorted(calls, key=lambda call: call.line)


def _passed(node: ast.Call) -> dict[str, Any]:
    return {k.arg: _literal(k.value) for k in node.keywords if k.arg is not None}


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


@attrs.frozen
class _KeyImport:
    """A name bound by `from <...>.generated import MEDIAIO [as name]`, or the import of a
    known key constant's name from any module (one that re-exports it)."""

    provider: str


_OPAQUE: Final = object()  # a binding not followed: a parameter, a loop target, an import...
_Bound = ast.expr | _KeyImport | object


class _Names:
    """Every scope's bindings, and what a name at a given place refers to."""

    def __init__(self, tree: ast.Module, keys: Mapping[str, str]) -> None:
        self._keys = keys
        self._scope_of: dict[int, ast.AST] = {}
        self._parent: dict[int, ast.AST | None] = {id(tree): None}
        self._bindings: dict[tuple[int, str], list[tuple[tuple[int, int], _Bound]]] = {}
        self._plain: set[int] = set()  # names assigned by `name = value`, not opaque
        self._visit(tree, tree)

    # -- what an expression is --------------------------------------------------------------

    def endpoints(self, node: ast.expr, at: ast.AST, depth: int = 0) -> str | None:
        """The provider whose endpoints object `node` is, if it is one."""
        if isinstance(node, ast.Attribute):
            return node.attr
        if isinstance(node, ast.Call):
            return self.provider_call(node, at, depth)
        if isinstance(node, ast.Name):
            return self._agreed(node.id, at, depth, self.endpoints)
        return None

    def provider_call(self, node: ast.Call, at: ast.AST, depth: int = 0) -> str | None:
        """The provider of `<anything>.provider(<key>)`."""
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "provider"):
            return None
        args = [*node.args, *(k.value for k in node.keywords if k.arg == "key")]
        if len(args) != 1 or len(node.args) + len(node.keywords) != 1:
            return None
        return self.key(args[0], at, depth)

    def key(self, node: ast.expr, at: ast.AST, depth: int = 0) -> str | None:
        """The provider a key expression names."""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Attribute):  # generated.MEDIAIO, acme.ACME
            return self._keys.get(node.attr)
        if isinstance(node, ast.Call):  # ProviderKey("mediaio")
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "ProviderKey" and len(node.args) == 1 and not node.keywords:
                return self.key(node.args[0], at, depth)
            return None
        if isinstance(node, ast.Name):
            if self._candidates(node.id, at) is None:  # bound nowhere: a star import
                return self._keys.get(node.id)
            return self._agreed(node.id, at, depth, self.key)
        return None

    def _agreed(
        self,
        name: str,
        at: ast.AST,
        depth: int,
        follow: Callable[[ast.expr, ast.AST, int], str | None],
    ) -> str | None:
        """The provider every value `name` may hold at `at` agrees on, through `follow`."""
        candidates = self._candidates(name, at)
        if not candidates or depth >= _MAX_ALIAS_DEPTH:
            return None
        if follow == self.endpoints and any(isinstance(v, _KeyImport) for v in candidates):
            return None  # a key is not an endpoints object
        found = {
            value.provider
            if isinstance(value, _KeyImport)
            else follow(value, value, depth + 1)
            if isinstance(value, ast.expr)
            else None
            for value in candidates
        }
        return found.pop() if len(found) == 1 else None

    def _candidates(self, name: str, at: ast.AST) -> list[_Bound] | None:
        """The values `name` may hold at `at`: in the scope that binds it, the nearest
        assignment before `at` in the same scope, else all of them; None when no scope
        binds it."""
        scope: ast.AST | None = self._scope_of.get(id(at))
        own = True
        while scope is not None:
            found = self._bindings.get((id(scope), name))
            if found and not (isinstance(scope, ast.ClassDef) and not own):
                place = (getattr(at, "lineno", 0), getattr(at, "col_offset", 0))
                before = [value for where, value in found if where <= place]
                return before[-1:] if own and before else [value for _, value in found]
            # A comprehension runs where it stands: its enclosing scope's order still holds.
            own = own and isinstance(scope, _COMPREHENSIONS)
            scope = self._parent[id(scope)]
        return None

    # -- collecting bindings ----------------------------------------------------------------

    def _visit(self, node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self._scope_of[id(child)] = scope
            if isinstance(child, _SCOPES):
                self._parent[id(child)] = scope
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self._bind(scope, child.name, child, _OPAQUE)
                self._visit(child, child)
                continue
            self._record(child, scope)
            self._visit(child, scope)

    def _record(self, node: ast.AST, scope: ast.AST) -> None:
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node, ast.NamedExpr):
                scope = self._outside_comprehensions(scope)  # where `:=` binds
            for target in targets:
                if isinstance(target, ast.Name) and node.value is not None:
                    self._bind(scope, target.id, node, node.value)
                    self._plain.add(id(target))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            if id(node) not in self._plain:
                self._bind(scope, node.id, node, _OPAQUE)
        elif isinstance(node, ast.arg):
            self._bind(scope, node.arg, node, _OPAQUE)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            self._bind(scope, node.name, node, _OPAQUE)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self._bind(scope, node.rest, node, _OPAQUE)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            generated = module.rsplit(".", 1)[-1] == "generated"
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                key = alias.name.isupper() and (generated or alias.name in self._keys)
                self._bind(scope, bound, node, _KeyImport(alias.name.lower()) if key else _OPAQUE)

    def _outside_comprehensions(self, scope: ast.AST) -> ast.AST:
        while isinstance(scope, _COMPREHENSIONS):
            parent = self._parent[id(scope)]
            if parent is None:
                break
            scope = parent
        return scope

    def _bind(self, scope: ast.AST, name: str, node: ast.AST, value: _Bound) -> None:
        # A binding takes effect after its statement: `m = m.x` reads the earlier `m`.
        where = (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)
        self._bindings.setdefault((id(scope), name), []).append((where, value))
