"""A misspelt provider attribute on a client is an AttributeError (so `hasattr` and
`getattr(..., default)` work) that names the close provider, as `client.provider()` does."""

from __future__ import annotations

from typing import Any

import pytest

import mediagen
from mediagen.errors import ConfigurationError

MEDIAOI = "no provider 'mediaoi'; did you mean mediaio? known: mediaio, edrawmax, tomoviee"


@pytest.mark.parametrize("blocking", [True, False])
def test_a_misspelt_provider_attribute_names_the_close_one(blocking: bool) -> None:
    client: Any = (
        mediagen.Client(journal=False) if blocking else mediagen.AsyncClient(journal=False)
    )
    try:
        with pytest.raises(AttributeError) as info:
            _ = client.mediaoi
        assert str(info.value).endswith(f"object has no attribute 'mediaoi'; {MEDIAOI}")
        assert (info.value.name, info.value.obj) == ("mediaoi", client)
        assert not hasattr(client, "mediaoi") and getattr(client, "mediaoi", None) is None
        with pytest.raises(AttributeError, match=r"^'[A-Za-z]+' object has no attribute 'x_y'$"):
            _ = client.x_y  # nothing close: no provider talk
        with pytest.raises(ConfigurationError) as provider:
            client.provider("mediaoi")
        assert str(provider.value) == MEDIAOI
        assert client.mediaio is client.provider("mediaio")
    finally:
        if blocking:
            client.close()
