"""What the rules need from storage: small Protocols the store implements (store/) and the tests'
in-memory harness implements too. Annotations only, so importing a port costs nothing at cold
start (the authorizer's API-token path imports this module).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from apitokens.domain.commands import UpdateToken
    from apitokens.domain.records import (
        Credential,
        EventPage,
        ExpiringToken,
        RecentClient,
        TokenPage,
        TokenRecord,
        Usage,
    )


class CredentialStore(Protocol):
    """The authorizer's: a credential by its secret's digest, and the once-a-minute usage write."""

    def find_credential(self, secret_digest: str, copy: int | None = None) -> Credential | None: ...

    def touch_last_used(
        self,
        credential: Credential,
        secret_digest: str,
        now: str,
        cutoff: str,
        *,
        recent_clients: tuple[RecentClient, ...] | None = None,
        new_ip_event: Mapping[str, Any] | None = None,
    ) -> None: ...


class LineageStore(Protocol):
    """What a token does to its descendants."""

    def revoke_descendants(self, account_sid: str, root_sid: str, now: str) -> int: ...

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int: ...

    def release_rolled_slots(self, account_sid: str, now: str) -> int: ...

    def revoke_leaked(self, secret_digest: str, now: str, source: str, url: str) -> Credential | None: ...

    def roll(
        self,
        account_sid: str,
        token_sid: str,
        successor: Callable[[TokenRecord], TokenRecord],
        secret_digest: str,
        *,
        grace_end: str,
        max_tokens: int,
        now: str,
    ) -> tuple[TokenRecord, TokenRecord]: ...


class TokenStore(LineageStore, Protocol):
    """A token's lifecycle, and its lineage."""

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None: ...

    def get(self, account_sid: str, token_sid: str) -> TokenRecord: ...

    def list_page(self, account_sid: str, limit: int, starting_after: str | None) -> TokenPage: ...

    def update(
        self,
        account_sid: str,
        token_sid: str,
        change: UpdateToken,
        *,
        now: str,
        check: Callable[[TokenRecord], None] | None = None,
        end_grace: bool = False,
        keep_successor: bool = False,
    ) -> tuple[TokenRecord, bool]: ...

    def delete(
        self,
        account_sid: str,
        token_sid: str,
        now: str,
        *,
        end_grace: bool = False,
        keep_successor: bool = False,
        check: Callable[[TokenRecord], None] | None = None,
    ) -> None: ...

    def usage(self, account_sid: str, token_sid: str) -> Usage: ...


class IdempotencyStore(Protocol):
    """Where the idempotency records of one (account, principal) live, as Powertools persists them."""

    def idempotency_store(self, account_sid: str, principal_type: str, principal_id: str) -> BasePersistenceLayer: ...


class IdempotentTokenStore(TokenStore, IdempotencyStore, Protocol):
    """What idempotent create and roll need: the token store and its idempotency records."""


class EventStore(Protocol):
    """The audit events, and the expiry index the daily sweep reads."""

    def list_events(
        self,
        account_sid: str,
        limit: int,
        starting_after: str | None = None,
        token_sid: str | None = None,
        event_type: str | None = None,
    ) -> EventPage: ...

    def expiring_on(self, day: str) -> tuple[list[ExpiringToken], int, int]: ...

    def record_expiry_notice(self, token: ExpiringToken, days_left: int, document: Mapping[str, Any]) -> bool: ...
