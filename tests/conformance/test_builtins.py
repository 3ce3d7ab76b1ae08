"""The conformance suite on the three built-in providers, as a plugin author runs it."""

from mediagen.testing.conformance import ProviderConformance


class TestMediaioConformance(ProviderConformance):
    provider = "mediaio"


class TestTomovieeConformance(ProviderConformance):
    provider = "tomoviee"


class TestEdrawmaxConformance(ProviderConformance):
    provider = "edrawmax"
