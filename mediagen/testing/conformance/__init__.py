"""The provider conformance suite: one base class that a plugin's tests subclass.

Put this in your plugin package's `tests/test_conformance.py`; nothing else is needed (no
conftest, no pytest option)::

    from mediagen.testing.conformance import ProviderConformance


    class TestZetaConformance(ProviderConformance):
        provider = "zeta"  # your provider key

then run `pytest`. The base class is not collected by itself (its name does not start with
`Test`), and importing it is the only opt-in: projects that do not import it get nothing.
It needs pytest and hypothesis in the test environment: `pip install 'mediagen[testing]'`.

Optional class attributes:

- `operations = ["render", ...]`: check only these operation ids (default: every one).
- `params = {"render": {"style": "sketch"}}`: minimal valid params per operation, on top of
  the ones the suite derives from the catalog (each required parameter gets its first allowed
  value, its default, its lowest bound, a short text or a loopback URL; so does each optional
  one whose `x-required-if` holds for those values). Needed only when the derived ones are
  refused, e.g. for a `pattern` the suite cannot guess. A query that reads a
  task by id (a parameter named like the catalog's `task.poll.task_id_param`) gets the id of a
  task the suite submits first; put `TASK_ID` there to ask for that explicitly.
- `plugins = [plugin_object, ...]`: register these plugin objects instead of loading an
  installed entry point (to check a plugin built inside the test, as mediagen's own tests of
  this suite do).

How the provider is loaded: each class builds its own `Registry` (once, while pytest
collects, since the checks are parametrised from the provider's catalog). It holds the
built-in providers plus, unless `plugins` is set, the installed entry point of the `mediagen`
group that registers the provider (the one named like the provider first). MEDIAGEN_PLUGINS
is not consulted: it says which plugins an application loads, while a conformance class names
the provider it checks. So the suite works in a plugin author's package (plugin installed
with `pip install -e .`) and in mediagen's own suite, which keeps MEDIAGEN_PLUGINS empty.

How the checks run: each starts a fresh `Emulator` on 127.0.0.1 (its own recorded requests,
tasks and faults) serving that registry, with distinctive fake credentials, tasks that finish
at once (or never, for checks that look at an unfinished task), and a client with
`FAST_POLLING` and retries a few milliseconds apart; a provider's whole run takes seconds.
The suite registers one plugin of its own, a pluggy wrapper around the provider's emulator
profile, to make the emulator answer a given status word, a given progress, or a fuzzed
answer; your profile stays underneath and shapes every other answer.

The checks (pytest ids name the provider and operation, e.g.
`test_round_trip[zeta.render]`, `test_vendor_status_maps_to_a_state[zeta.render-status-done]`):

- `test_round_trip` (each operation): it completes with minimal valid params: a task is
  submitted and finishes, a synchronous call returns its result, a query its data; every
  artifact is of the operation's output kind, and the artifacts are exactly the file URLs
  the emulator served in its answer, in document order, each once (a failure names the URLs
  lost, duplicated or invented).
- `test_several_artifacts_when_the_count_says_so` (operations with a count parameter): asking
  for two files yields at least two artifacts, all of the output kind, exactly the served
  files as above.
- `test_credentials_are_sent_as_declared` (one operation per kind): the request carries each
  credential where the catalog's `auth` block says (header, scheme, query parameter).
- `test_wrong_credentials_raise_authentication_error` (one operation per kind).
- `test_bad_params_are_refused_before_any_request` (each operation): a wrong type, a value
  outside the allowed ones or past a limit raises `ParamError` naming the operation and the
  field, and the emulator records no request.
- `test_vendor_status_maps_to_a_state` (each status word of `task.states`, on the first task
  operation): the word is read as its state; a failure state raises `GenerationFailedError`
  with that state.
- `test_progress_is_read` (when the catalog declares `task.progress_field`).
- `test_error_code_maps_to_its_error_class` (each vendor code and HTTP status of the catalog's
  `errors`, on the first operation that writes): the call raises the error class of its
  category (as the cause of `SubmitOutcomeUnknownError` when the answer may hide a task).
- `test_lost_submit_answer_is_never_retried` (each task and synchronous operation): when the
  connection drops after the request was sent, or a 5xx comes back, exactly one request
  reached the emulator, the call raises `SubmitOutcomeUnknownError` and the journal (a real
  SQLite file) keeps the call as `unknown`.
- `test_lost_poll_answer_is_retried`, `test_lost_query_answer_is_retried`: reads are retried.
- `test_fuzzed_answers_end_in_a_mediagen_error` (one operation per kind): success answers
  edited at random by hypothesis (derandomized, 30 examples: the same each run) end
  in a result or a `MediagenError`, never another exception, and never a hang.
- `test_no_credential_leaks` (one operation per kind): with logging at DEBUG, after a good
  call (files downloaded; an artifact URL the emulator did not serve fails the check before
  any request: the suite sends nothing off loopback), a vendor echoing the credentials in an error and a failure reason,
  and a call with wrong credentials, no credential or auth header value is in a log record,
  an error's text, repr or traceback, a repr, the journal or any file written; nor is a
  secret credential in what the auth strategy raises, given the right or wrong credentials
  (its text, repr, arguments, attributes, chained errors or traceback).
- `test_generated_package_is_up_to_date`: the generated package the provider is registered
  with is what its catalog compiles to, the comparison `mediagen generate --check` makes (a
  catalog edited without regenerating: `describe` shows the edit, calls refuse it). Failing,
  it says "generated package is stale: run `mediagen generate` in <folder>" and lists the
  stale files; skipped when the code generator is not installed (`mediagen[codegen]`).

A check is skipped only when the catalog leaves nothing to check, and says why (no task
operation, no progress field, no secret credential, auth kind `custom`...). A failure reads
`<provider>.<operation>: <check>: expected <...>; saw <...>` and never shows a credential.
"""

try:
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"mediagen.testing.conformance needs pytest and hypothesis ({exc}); "
        "install them with: pip install 'mediagen[testing]'"
    ) from exc

from ._harness import TASK_ID, ConformanceFailure
from ._suite import ProviderConformance

__all__ = ["TASK_ID", "ConformanceFailure", "ProviderConformance"]
