"""The authorizer's reads and writes: a credential by its secret's digest (one GetItem of one
lookup copy, the hot path) and the once-a-minute lastUsedAt write with the recent clients.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from apitokens.domain.records import Credential, RecentClient
from apitokens.store import keys
from apitokens.store.driver import client_errors, domain_error
from apitokens.store.items import (
    clients_of,
    clients_value,
    copy_updates,
    lookup_copies_of,
    networks_of,
    optional_string,
    scopes_of,
)
from apitokens.store.table import Table


class Credentials:
    """The CredentialStore port on the table."""

    def __init__(self, table: Table, read_copies: int = 1) -> None:
        """`read_copies`: how many lookup copies the authorizer chooses among (every token
        has at least that many)."""
        self._table = table
        self.read_copies = read_copies

    def find_credential(self, secret_digest: str, copy: int | None = None) -> Credential | None:
        """One strongly consistent GetItem of one lookup copy (`copy`, or one chosen at random so
        that a busy token's reads spread over its copies' partition keys)."""
        if copy is None:
            # Not a secret: which copy is read only spreads load (every copy holds the same item).
            copy = random.randrange(self.read_copies) if self.read_copies > 1 else 0  # noqa: S311
        # A plain try, not driver_errors(): this runs on every API request.
        try:
            response = self._table.client.get_item(
                TableName=self._table.name, Key=keys.secret_copy_key(secret_digest, copy), ConsistentRead=True
            )
        except client_errors() as error:
            raise domain_error(error) from error
        item = response.get("Item")
        if item is None:
            return None
        return Credential(
            account_sid=item["accountSid"]["S"],
            token_sid=item["tokenSid"]["S"],
            scopes=scopes_of(item),
            expires_at=optional_string(item, "expiresAt"),
            is_active=bool(item["isActive"]["BOOL"]),
            last_used_at=optional_string(item, "lastUsedAt"),
            recent_clients=clients_of(item),
            metadata=optional_string(item, "metadata"),
            allowed_ips=networks_of(item),
            lookup_copies=lookup_copies_of(item, "copies"),
        )

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
        """Sets lastUsedAt (and recentClients, when given) on every lookup copy and the token item
        unless lastUsedAt is newer than `cutoff` (copy 0's condition: at most once per interval
        across all authorizer instances), with the audit event of a first use from a new IP, in
        one transaction: every copy keeps the same recent clients. Never recreates a deleted
        token: every update requires its item to exist. Raises ConcurrentModification when a
        condition fails."""
        expression = "SET lastUsedAt = :now"
        values: dict[str, Any] = {":now": {"S": now}}
        if recent_clients is not None:
            expression += ", recentClients = :clients"
            values[":clients"] = clients_value(recent_clients)
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.secret_copy_key(secret_digest, 0),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(PK) AND "
                    "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)",
                    "ExpressionAttributeValues": {**values, ":cutoff": {"S": cutoff}},
                }
            },
            *copy_updates(secret_digest, credential.lookup_copies, expression, values, first=1),
            {
                "Update": {
                    "Key": keys.token_key(credential.account_sid, credential.token_sid),
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeValues": values,
                }
            },
        ]
        if new_ip_event is not None:
            writes.append(self._table.event(new_ip_event))
        self._table.transact(writes)
