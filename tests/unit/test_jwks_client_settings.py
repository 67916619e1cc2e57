"""The JWKS client the verifier builds when none is given: the configured URL, a five-minute key
set cache (a withdrawn key stops working within it), a 30 s refetch cooldown for unknown kids,
a 3 s timeout (the authorizer's budget)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from apitokens.auth.jwt_auth import JwksVerifier, JwtConfigurationError
from apitokens.settings import Settings
from tests.harness import JWKS_URL, TEST_ENVIRONMENT


def test_the_default_client_is_built_with_the_url_cache_cooldown_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Recording(jwt.PyJWKClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append((args, kwargs))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(jwt, "PyJWKClient", Recording)
    JwksVerifier(Settings.from_env(TEST_ENVIRONMENT))
    assert built == [((JWKS_URL,), {"lifespan": 300, "cooldown_duration": 30, "timeout": 3})]


@pytest.mark.parametrize("missing", ["JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"])
def test_each_missing_jwt_setting_is_a_configuration_error(missing: str) -> None:
    environment = {name: value for name, value in TEST_ENVIRONMENT.items() if name != missing}
    with pytest.raises(JwtConfigurationError, match="JWKS_URL, JWT_ISSUER and JWT_AUDIENCE must all be set"):
        JwksVerifier(Settings.from_env(environment))
