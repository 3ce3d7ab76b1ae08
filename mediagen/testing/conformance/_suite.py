"""The base class `ProviderConformance`: every group of checks in one class."""

from __future__ import annotations

from ._checks_calls import CallChecks
from ._checks_generated import GeneratedChecks
from ._checks_protocol import ProtocolChecks
from ._checks_safety import SafetyChecks


class ProviderConformance(CallChecks, ProtocolChecks, SafetyChecks, GeneratedChecks):
    """Subclass it as `Test<Name>Conformance`, set `provider`, and pytest runs every check on
    that provider against the mediagen emulator (see the package docstring)."""
