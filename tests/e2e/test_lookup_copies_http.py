"""Hot tokens over real HTTP: `apitokens serve` on its own moto table. Every copy of a
token's lookup item carries the same state (recent clients too), and once a deactivation or a
delete has answered, the next request is refused whichever copy the authorizer reads: the test
keeps asking until it has seen every copy read and refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from apitokens.domain.tokens import digest
from apitokens.settings import Settings
from apitokens.store import keys
from tests.harness import ACCOUNT, HttpStack, backend_class, http_stack

pytestmark = pytest.mark.e2e

TOKENS = f"/accounts/{ACCOUNT}/apiTokens"
COPIES = Settings(table_name="tokens").lookup_copies
# Requests sent at most while waiting to see every copy read: missing one of 8 copies in 400
# uniform draws has a probability of about 10^-22.
MAX_REQUESTS = 400


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpStack]:
    with http_stack(tmp_path_factory, "lookup-copies") as stack:
        yield stack


class ReadLog:
    """The lookup copies moto's server is asked for (it runs in this process)."""

    def __init__(self, patch: pytest.MonkeyPatch, secret: str) -> None:
        self._lock = threading.Lock()
        self._wanted = {keys.secret_copy_pk(digest(secret), copy): copy for copy in range(COPIES)}
        self.copies: list[int] = []
        original = backend_class().get_item

        def recorded(backend: Any, *args: Any, **kwargs: Any) -> Any:
            key = kwargs["keys"] if "keys" in kwargs else args[1]
            copy = self._wanted.get(str(key.get("PK", {}).get("S")))
            if copy is not None:
                with self._lock:
                    self.copies.append(copy)
            return original(backend, *args, **kwargs)

        patch.setattr(backend_class(), "get_item", recorded)

    def seen(self) -> set[int]:
        with self._lock:
            return set(self.copies)


def copies_of(api: HttpStack, secret: str) -> list[dict[str, Any]]:
    wanted = {keys.secret_copy_pk(digest(secret), copy) for copy in range(COPIES)}
    return [item for item in api.items() if item["PK"]["S"] in wanted]


def refused_on_every_copy(api: HttpStack, secret: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Sends requests with `secret` until every copy has been read; each must be refused."""
    log = ReadLog(monkeypatch, secret)
    sent = 0
    while log.seen() != set(range(COPIES)) and sent < MAX_REQUESTS:
        reply = api.server.request("GET", TOKENS, token=secret)
        assert reply.status == 401, reply.text
        sent += 1
    assert log.seen() == set(range(COPIES))
    return sent


def test_every_copy_holds_the_recent_clients_the_touch_wrote(api: HttpStack) -> None:
    jwt = api.server.jwt("--account", ACCOUNT)
    token = api.server.create_token(jwt, scopes=["tokens:read"])
    assert api.server.request("GET", TOKENS, token=token["token"]).status == 200
    items = copies_of(api, token["token"])
    assert len(items) == COPIES
    first = {name: value for name, value in items[0].items() if name != "PK"}
    assert all({name: value for name, value in item.items() if name != "PK"} == first for item in items)
    assert first["recentClients"]["L"], "the touch records where the token was used from"
    usage = api.server.request("GET", f"{TOKENS}/{token['sid']}/usage", token=jwt)
    assert usage.status == 200, usage.text
    assert [client["ip"] for client in usage.body["recentClients"]] == [
        entry["M"]["ip"]["S"] for entry in first["recentClients"]["L"]
    ]


def test_a_deactivated_token_is_refused_whichever_copy_is_read(api: HttpStack, monkeypatch: pytest.MonkeyPatch) -> None:
    jwt = api.server.jwt("--account", ACCOUNT)
    token = api.server.create_token(jwt, scopes=["tokens:read"])
    assert api.server.request("GET", TOKENS, token=token["token"]).status == 200
    off = api.server.request("PUT", f"{TOKENS}/{token['sid']}", token=jwt, body={"name": "off", "isActive": False})
    assert off.status == 200, off.text
    assert refused_on_every_copy(api, token["token"], monkeypatch) >= COPIES
    assert all(item["isActive"] == {"BOOL": False} for item in copies_of(api, token["token"]))


def test_a_deleted_token_is_refused_whichever_copy_is_read(api: HttpStack, monkeypatch: pytest.MonkeyPatch) -> None:
    jwt = api.server.jwt("--account", ACCOUNT)
    token = api.server.create_token(jwt, scopes=["tokens:read"])
    assert api.server.request("GET", TOKENS, token=token["token"]).status == 200
    assert api.server.request("DELETE", f"{TOKENS}/{token['sid']}", token=jwt).status == 200
    assert refused_on_every_copy(api, token["token"], monkeypatch) >= COPIES
    assert copies_of(api, token["token"]) == []
