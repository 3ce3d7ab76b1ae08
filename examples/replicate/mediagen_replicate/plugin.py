"""The Replicate provider plugin: its catalog, its generated package, and what the catalog
cannot say.

- How long a throttled client should wait: Replicate's 429 answers say it in the problem
  details' text ("Expected available in 1 second.", "Your rate limit resets in ~30s."), and
  its docs name no Retry-After header, so `ReplicateErrors` reads the text when the header is
  missing.
- How the emulator answers like Replicate: a whole prediction object (id, model, input,
  status, output, error, logs), `output` a list for models that make several files and one URL
  otherwise, problem-details errors, and `cancel_prediction` cancelling an emulated prediction.

Imports only `mediagen.plugin`, the public plugin API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

from mediagen.plugin import (
    Call,
    CallError,
    CatalogEmulatorProfile,
    CatalogErrorClassifier,
    EmulatedTask,
    HttpResponse,
    Operation,
    ProviderPlugin,
    RateLimitError,
)

CATALOG = Path(__file__).resolve().parent / "catalog" / "replicate"

# The wait in a throttled answer's detail, as the rate-limit docs show it.
_WAIT = re.compile(
    r"(?:available in|resets in)\s*~?\s*(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)", re.IGNORECASE
)

_UNFINISHED = ("queued", "running")


def wait_in(detail: str | None) -> float | None:
    """Seconds to wait that a throttled answer's text names, if it names any."""
    found = _WAIT.search(detail or "")
    return float(found[1]) if found else None


class ReplicateErrors(CatalogErrorClassifier):
    """The catalog's classifier, plus the wait a 429's `detail` names when no Retry-After
    header does."""

    def http_error(self, call: Call, response: HttpResponse, body: Any) -> CallError:
        error = super().http_error(call, response, body)
        if isinstance(error, RateLimitError) and error.retry_after is None:
            error.retry_after = wait_in(error.vendor_message)
        return error


class ReplicateEmulator(CatalogEmulatorProfile):
    """Answers as Replicate does: prediction objects and problem-details errors."""

    def submit_data(self, task_id: str) -> Any:
        # models.predictions.create answers with the new prediction, not yet started.
        return {"id": task_id, "status": "starting", "output": None, "error": None, "logs": ""}

    def poll_data(self, op: Operation, task: EmulatedTask) -> Any:
        data = dict(super().poll_data(op, task))
        data.setdefault("output", None)
        data.setdefault("error", None)
        data.update(model=op.name, input=dict(task.params), logs="")
        return data

    def result_payload(self, op: Operation, task: EmulatedTask) -> Any:
        urls = list(task.urls.values())
        # A model whose input takes a count (flux-schnell's num_outputs) has an array output
        # schema: a list even for one file. The others output one URI.
        if op.result_count_param is not None:
            return {"output": urls}
        return {"output": urls[0] if urls else None}

    def error(self, category: str, message: str) -> tuple[int, Any]:
        return self._problem(*super().error(category, message))

    def vendor_error(self, code: int | str, message: str) -> tuple[int, Any]:
        return self._problem(*super().vendor_error(code, message))

    def query_data(
        self, op: Operation, params: Mapping[str, Any], tasks: Mapping[str, EmulatedTask]
    ) -> Any:
        if op.id != "cancel_prediction":
            return super().query_data(op, params, tasks)
        task = tasks.get(str(params.get("task_id")))
        if task is None:
            raise LookupError("Prediction not found")
        if task.state in _UNFINISHED:  # a finished prediction stays as it is
            task.state = "cancelled"
        return self.poll_data(task.operation, task)

    @staticmethod
    def _problem(status: int, body: Any) -> tuple[int, Any]:
        """RFC 7807 problem details around the catalog's {"detail": ...} body."""
        if isinstance(body, dict):
            try:
                title = HTTPStatus(status).phrase
            except ValueError:
                title = "Error"
            body = {"title": title, **body, "status": status}
        return status, body


plugin = ProviderPlugin(
    "replicate",
    catalog=CATALOG,
    generated="mediagen_replicate.generated",
    errors=ReplicateErrors,
    emulator=ReplicateEmulator,
)
