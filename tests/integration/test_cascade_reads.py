"""A cascade reads the whole lineage whatever DynamoDB's answers look like (the repository on
moto, called directly): children past the first page of a Query (DynamoDB pages at 1 MB, so a
wide parent's edges come in several answers), keys a throttled BatchGetItem gives back as
UnprocessedKeys (those children are active until read, not inactive), and the children a roll
has not moved yet (the successor's pending-move edge leads to them)."""

from __future__ import annotations

from typing import Any

import pytest

from apitokens.domain.tokens import digest
from apitokens.settings import get_settings
from apitokens.store.repository import TokenRepository
from tests.harness import ACCOUNT
from tests.integration.test_repository_conditions import LATER, NOW, create, is_active, successor


class PagedQueries:
    """The table's client, but every Query answers at most `page` items (as DynamoDB does when a
    page reaches 1 MB), with LastEvaluatedKey for the rest."""

    def __init__(self, client: Any, page: int) -> None:
        self._client, self._page = client, page
        self.pages = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **request: Any) -> Any:
        self.pages += 1
        return self._client.query(**{**request, "Limit": self._page})


class ThrottledBatchGets:
    """The table's client, but each BatchGetItem of more than one key answers the first key as
    UnprocessedKeys (what DynamoDB does under throttling), the rest as usual."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.unprocessed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> Any:  # noqa: N803 - boto3's name
        ((table, request),) = RequestItems.items()
        held, *rest = request["Keys"]
        if not rest:
            return self._client.batch_get_item(RequestItems=RequestItems)
        response = self._client.batch_get_item(RequestItems={table: {**request, "Keys": rest}})
        self.unprocessed += 1
        return {**response, "UnprocessedKeys": {table: {**request, "Keys": [held]}}}


def repository_on(client: Any) -> TokenRepository:
    get_settings.cache_clear()
    return TokenRepository(client, get_settings().table_name)


@pytest.fixture
def repository(dynamodb: Any) -> TokenRepository:
    return repository_on(dynamodb)


def test_a_cascade_reads_every_page_of_children(repository: TokenRepository, dynamodb: Any) -> None:
    parent = create(repository)
    children = [create(repository, parent.sid) for _ in range(5)]
    grandchildren = [create(repository, child.sid) for child in children[-2:]]
    paged = PagedQueries(dynamodb, page=2)
    assert repository_on(paged).revoke_descendants(ACCOUNT, parent.sid, LATER) == 7
    assert paged.pages > 3  # the children came in several pages
    for token in [*children, *grandchildren]:
        assert is_active(repository, token) == (False, False), token.sid


def test_a_roll_moves_children_from_every_page(repository: TokenRepository, dynamodb: Any) -> None:
    parent = create(repository)
    children = [create(repository, parent.sid) for _ in range(5)]
    paged_repository = repository_on(PagedQueries(dynamodb, page=2))
    _, new = paged_repository.roll(
        ACCOUNT, parent.sid, successor, digest("rolled"), grace_end=NOW, max_tokens=100, now=NOW
    )
    assert paged_repository.move_children(ACCOUNT, parent.sid, new.sid, NOW) == 5
    assert {repository.get(ACCOUNT, child.sid).parent_sid for child in children} == {new.sid}
    assert repository.revoke_descendants(ACCOUNT, new.sid, LATER) == 5


def test_children_given_back_unprocessed_are_read_again_and_revoked(repository: TokenRepository, dynamodb: Any) -> None:
    parent = create(repository)
    children = [create(repository, parent.sid) for _ in range(4)]
    throttled = ThrottledBatchGets(dynamodb)
    assert repository_on(throttled).revoke_descendants(ACCOUNT, parent.sid, LATER) == 4
    assert throttled.unprocessed >= 1
    for child in children:
        assert is_active(repository, child) == (False, False), child.sid


@pytest.mark.parametrize("revoke", ["successor", "predecessor"])
def test_a_cascade_walks_a_rolls_pending_move(repository: TokenRepository, revoke: str) -> None:
    """Rolled, its children not moved yet (the move failed or has not run): revoking the new
    token, or the old one, still reaches them, through the new token's pending-move edge."""
    old = create(repository)
    children = [create(repository, old.sid) for _ in range(2)]
    grandchild = create(repository, children[0].sid)
    _, new = repository.roll(ACCOUNT, old.sid, successor, digest("rolled"), grace_end=LATER, max_tokens=100, now=NOW)
    root = new if revoke == "successor" else old
    repository.revoke_descendants(ACCOUNT, root.sid, LATER)
    for token in [*children, grandchild]:
        assert is_active(repository, token) == (False, False), token.sid
    if revoke == "successor":
        # The old token is walked through, not revoked: it lives out its grace period.
        assert is_active(repository, old) == (True, True)
