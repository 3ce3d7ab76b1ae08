"""`mediagen emulate`: serve the local emulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from ..hosts import base_url_env


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "emulate", help="serve the local emulator of every provider (Ctrl-C stops it)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    p.add_argument(
        "--duration", type=float, default=2.0, help="seconds each emulated task takes (default: 2)"
    )
    p.set_defaults(func=cmd_emulate)


def cmd_emulate(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    from ..testing import Emulator

    async with Emulator(host=args.host, port=args.port, duration=args.duration) as emulator:
        print(f"mediagen emulator on {emulator.url}; point a client at it with:", flush=True)
        for name, url in emulator.base_urls.items():
            print(f"  export {base_url_env(name)}={url}")
        # Every catalog credential, under its first environment variable: fake values only.
        for provider in emulator.registry.catalog.providers:
            for cred in provider.auth.credentials:
                print(f"  export {cred.env[0]}={emulator.credentials[provider.name][cred.name]}")
        print("Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
