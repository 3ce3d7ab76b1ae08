"""The provider conformance suite: one base class a plugin's tests subclass.

    from mediagen.testing.conformance import ProviderConformance

    class TestZetaConformance(ProviderConformance):
        provider = "zeta"

(docs in progress)
"""

from ._harness import TASK_ID, ConformanceFailure
from ._suite import ProviderConformance

__all__ = ["TASK_ID", "ConformanceFailure", "ProviderConformance"]
