"""What the journal tests check a journal file with: its committed rows, read from a second
SQLite connection, and an emulator that records them as each submit arrives."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

from mediagen.testing import Emulator


def committed(path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows as another connection sees them: committed ones only."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


class IntentCheckingEmulator(Emulator):
    """Records, as each submit arrives, the journal states committed for its prompt."""

    def __init__(self, journal: Path, **options: Any) -> None:
        super().__init__(**options)
        self.journal = journal
        self.at_submit: dict[str, list[str]] = {}

    # The emulator's private hook; `*rest` takes the arguments newer versions add.
    def _respond(
        self, route: Any, path_params: dict[str, str], request: web.Request, body: Any, *rest: Any
    ) -> web.Response:
        if route.phase == "submit":
            prompt = body["data"]["prompt"]
            sql = "SELECT state FROM tasks WHERE json_extract(params, '$.prompt') = ?"
            self.at_submit[prompt] = [state for (state,) in committed(self.journal, sql, prompt)]
        return super()._respond(route, path_params, request, body, *rest)
