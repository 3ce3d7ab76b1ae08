"""The conformance suite on acme, loaded from its installed entry point as an author runs it.

The suite reads the provider's catalog while pytest collects (to parametrise its checks), so
acme is installed before this class is collected, not by a fixture.
"""

from mediagen.testing.conformance import ProviderConformance

from .conftest import install_acme

install_acme()


class TestAcmeConformance(ProviderConformance):
    provider = "acme"
