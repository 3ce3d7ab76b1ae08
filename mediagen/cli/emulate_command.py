"""`mediagen emulate`: serve the local emulator until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .common import UsageError, err

if TYPE_CHECKING:
    from ..testing import Emulator


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("emulate")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; clients accept plain http only on loopback)",
    )
    p.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    p.add_argument(
        "--duration", type=float, default=2.0, help="seconds each emulated task takes (default: 2)"
    )
    p.add_argument(
        "--no-poll-hints",
        action="store_true",
        help="send no Retry-After poll hints, so clients poll on their own schedule "
        "(to try a plugin's polling)",
    )
    p.add_argument(
        "--scenario",
        metavar="FILE",
        help="a scenario file (YAML or JSON): outcomes, faults, durations and status words "
        "per provider and operation (schema: docs/emulator.md); the admin API under "
        "/__mediagen__/ changes it while running",
    )
    p.add_argument(
        "--artifact-origin",
        metavar="URL",
        help="where artifact URLs point, e.g. http://localhost or http://127.0.0.1:9100 "
        "(loopback only; the emulator serves the files there too; default: its own URL)",
    )
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args: argparse.Namespace) -> int:
    import asyncio

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}; allowed: 1..65535, or 0 for any free port")
    if not (math.isfinite(args.duration) and args.duration >= 0):
        raise UsageError(f"--duration {args.duration:g}; allowed: 0 or more seconds")
    emulator = _make(args)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args, emulator))
    return 0


def _make(args: argparse.Namespace) -> Emulator:
    """The emulator, its scenario file read and checked: a bad one stops here, before any
    port is opened."""
    from ..testing import Emulator
    from ..testing.emulator import origin_problem
    from ..testing.scenario_file import ScenarioError

    if args.artifact_origin is not None:
        problem = origin_problem(args.artifact_origin)
        if problem:
            raise UsageError(f"--artifact-origin: {problem}")
    hints = {"poll_hint": None} if args.no_poll_hints else {}
    try:
        return Emulator(
            host=args.host,
            port=args.port,
            duration=args.duration,
            scenario=Path(args.scenario) if args.scenario else None,
            artifact_origin=args.artifact_origin,
            **hints,
        )
    except ScenarioError as exc:
        raise UsageError(f"--scenario {args.scenario}: {exc}") from None


async def _serve(args: argparse.Namespace, emulator: Emulator) -> None:
    import asyncio

    from ..hosts import base_url_env, is_loopback

    try:
        await emulator.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"{args.host} port {args.port} is in use (another `mediagen emulate`?);"
                " allowed: a free port (--port N), or --port 0 to pick one"
            ) from None
        raise UsageError(
            f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}"
        ) from None
    try:
        print(f"mediagen emulator on {emulator.url}; point a client at it with:", flush=True)
        reachable = is_loopback(urlsplit(emulator.url).hostname or "")
        if not reachable:
            # The client sends credentials over plain http to loopback only: these exports
            # would be refused, so say what works instead.
            err(
                f"mediagen: warning: {emulator.url} is not a loopback address: the client"
                " refuses plain http there; on this machine use --host 127.0.0.1"
            )
        for name, url in emulator.base_urls.items():
            print(f"  export {base_url_env(name)}={url}")
        # Every catalog credential, under its first environment variable: fake values only.
        for provider in emulator.registry.catalog.providers:
            for cred in provider.auth.credentials:
                print(f"  export {cred.env[0]}={emulator.credentials[provider.name][cred.name]}")
        if emulator.files_origin != emulator.url:
            print(f"  artifacts are served on {emulator.files_origin}")
        print(f"  admin API: {emulator.url}/__mediagen__/ (scenario, rules, requests, reset)")
        print("Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
    finally:
        await emulator.stop()
