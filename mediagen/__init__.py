"""mediagen: a typed async client for AI media-generation APIs, compiled from a spec catalog.

Importing this package is cheap: providers' generated modules load on first use.
"""

from .errors import MediagenError, ParamError
from .results import Artifact, Result

__version__ = "0.1.0"

__all__ = ["Artifact", "MediagenError", "ParamError", "Result", "__version__"]
