"""The search-index port now lives with the use cases that need it
(`service_layer/ports.py`); these names stay importable here for the index adapters and
`haven reindex`."""
from ..service_layer.ports import IndexUnavailable, ProviderIndex

__all__ = ["IndexUnavailable", "ProviderIndex"]
