"""The token repository: the store the rules and the authorizer are given, implementing their
ports (rules/ports.py) by composing the parts that share one Table: Credentials (the
authorizer's read and usage write), Tokens (a token's own lifecycle), Lineage (its descendants)
and Rolls (roll and the release of rolled tokens' slots).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Self, cast

from apitokens.domain import audit
from apitokens.domain.changes import leaked_event
from apitokens.domain.commands import UpdateToken
from apitokens.domain.errors import ConcurrentModification
from apitokens.domain.records import LEAKED, Child, Credential, RecentClient, TokenPage, TokenRecord, Usage
from apitokens.settings import Settings
from apitokens.store.credentials import Credentials
from apitokens.store.driver import create_client, old_item
from apitokens.store.items import deactivation, optional_string
from apitokens.store.lineage import Lineage
from apitokens.store.rolls import Rolls
from apitokens.store.table import Table
from apitokens.store.tokens import Tokens

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

    from apitokens.store.dynamodb_http import HttpDynamoDBClient


class TokenRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        audit_retention_days: int = audit.DEFAULT_RETENTION_DAYS,
        *,
        lookup_copies: int = 1,
        read_copies: int | None = None,
    ) -> None:
        """`lookup_copies`: the copies written for a new token; `read_copies`: how many of them
        the authorizer chooses among (at most lookup_copies; every token must have that many)."""
        self.table = Table(client, table_name, audit_retention_days)
        self.lookup_copies = lookup_copies
        self.read_copies = min(lookup_copies, read_copies or lookup_copies)
        self.credentials = Credentials(self.table, self.read_copies)
        self.lineage = Lineage(self.table)
        self.tokens = Tokens(self.table, self.lineage, lookup_copies)
        self.rolls = Rolls(self.table, self.lineage, lookup_copies)

    @classmethod
    def from_settings(cls, settings: Settings, client: DynamoDBClient | HttpDynamoDBClient | None = None) -> Self:
        """The store on the table of `settings`, through `client`: a boto3 client by default; the
        authorizer's HttpDynamoDBClient answers the calls the authorizer makes (find_credential,
        touch_last_used) with the same parameters and response shapes."""
        return cls(
            cast("DynamoDBClient", client) if client is not None else create_client(settings),
            settings.table_name,
            settings.audit_retention_days,
            lookup_copies=settings.lookup_copies,
            read_copies=settings.lookup_read_copies,
        )

    # -- the authorizer's (CredentialStore) ----------------------------------------------------

    def find_credential(self, secret_digest: str, copy: int | None = None) -> Credential | None:
        return self.credentials.find_credential(secret_digest, copy)

    def touch_last_used(
        self,
        credential: Credential,
        secret_digest: str,
        now: str,
        cutoff: str,
        *,
        recent_clients: tuple[RecentClient, ...] | None = None,
        new_ip_event: Mapping[str, Any] | None = None,
    ) -> None:
        self.credentials.touch_last_used(
            credential, secret_digest, now, cutoff, recent_clients=recent_clients, new_ip_event=new_ip_event
        )

    # -- a token's lifecycle (TokenStore) ------------------------------------------------------

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        self.tokens.create(record, secret_digest, max_tokens)

    def get(self, account_sid: str, token_sid: str) -> TokenRecord:
        return self.tokens.get(account_sid, token_sid)

    def list_page(self, account_sid: str, limit: int, starting_after: str | None) -> TokenPage:
        return self.tokens.list_page(account_sid, limit, starting_after)

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
    ) -> tuple[TokenRecord, bool]:
        return self.tokens.update(
            account_sid,
            token_sid,
            change,
            now=now,
            check=check,
            end_grace=end_grace,
            keep_successor=keep_successor,
        )

    def delete(
        self,
        account_sid: str,
        token_sid: str,
        now: str,
        *,
        end_grace: bool = False,
        keep_successor: bool = False,
        check: Callable[[TokenRecord], None] | None = None,
    ) -> None:
        self.tokens.delete(account_sid, token_sid, now, end_grace=end_grace, keep_successor=keep_successor, check=check)

    def usage(self, account_sid: str, token_sid: str) -> Usage:
        return self.tokens.usage(account_sid, token_sid)

    def idempotency_store(self, account_sid: str, principal_type: str, principal_id: str) -> DynamoDBPersistenceLayer:
        return self.table.idempotency_store(account_sid, principal_type, principal_id)

    # -- lineage, roll, leaks (LineageStore) ---------------------------------------------------

    def children(self, account_sid: str, parent_sid: str) -> Iterator[list[Child]]:
        return self.lineage.children(account_sid, parent_sid)

    def revoke_descendants(self, account_sid: str, root_sid: str, now: str) -> int:
        return self.lineage.revoke_descendants(account_sid, root_sid, now)

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int:
        return self.lineage.move_children(account_sid, from_sid, to_sid, now)

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
    ) -> tuple[TokenRecord, TokenRecord]:
        return self.rolls.roll(
            account_sid, token_sid, successor, secret_digest, grace_end=grace_end, max_tokens=max_tokens, now=now
        )

    def release_rolled_slots(self, account_sid: str, now: str) -> int:
        return self.rolls.release_rolled_slots(account_sid, now)

    def revoke_leaked(self, secret_digest: str, now: str, source: str, url: str) -> Credential | None:
        """Deactivates the token with this digest as leaked (whatever its state: leaked beats
        any other reason) and records where it was found, then its descendants. None when no
        token has this digest. A token already revoked as leaked is not written again (the
        write's condition), so a repeated report adds no event: anyone who has seen a public
        token cannot flood its account's audit trail and alerts. Its cascade still runs, which
        finishes one an earlier report left unfinished and otherwise writes nothing."""
        credential = self.find_credential(secret_digest)
        if credential is None:
            return None
        account_sid, token_sid = credential.account_sid, credential.token_sid
        writes = deactivation(account_sid, token_sid, secret_digest, LEAKED, now, copies=credential.lookup_copies)
        update = writes[0]["Update"]
        update["UpdateExpression"] = (
            "SET isActive = :false, revokedReason = :reason, revokedAt = if_not_exists(revokedAt, :now), "
            "leakSource = if_not_exists(leakSource, :source), leakUrl = if_not_exists(leakUrl, :url)"
        )
        update["ConditionExpression"] += " AND (attribute_not_exists(revokedReason) OR revokedReason <> :reason)"
        update["ExpressionAttributeValues"].update({":source": {"S": source}, ":url": {"S": url}})
        document = leaked_event(account_sid, token_sid, now, was_active=credential.is_active, source=source, url=url)
        try:
            self.table.transact([*writes, self.table.event(document)])
        except ConcurrentModification as error:
            revoked = old_item(error.__cause__ or error, 0)
            if revoked is None or optional_string(revoked, "revokedReason") != LEAKED:
                raise
        self.lineage.revoke_descendants(account_sid, token_sid, now)
        return credential
