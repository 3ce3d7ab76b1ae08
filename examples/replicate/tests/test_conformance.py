"""mediagen's conformance suite, run against the emulator with this package's installed
`replicate` provider."""

from mediagen.testing.conformance import ProviderConformance


class TestReplicateConformance(ProviderConformance):
    provider = "replicate"
