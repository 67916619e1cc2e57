"""Who is calling, a domain value: built by the authorizer, passed to handlers as API Gateway
authorizer context, taken by the rules (what a principal may grant, who a change records).

The context carries flat strings only (API Gateway's rule): principalType, principalId,
accountSids (the account of the request only, so it stays small for a user of 1,000 accounts;
empty on a refusal) and scopes (space-separated), and tokenSid/expiresAt for API tokens, with
metadata (the token's metadata as a JSON string) and allowedIps (space-separated CIDR blocks) when
it has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from apitokens.domain.errors import CREDENTIALS_REFUSED, Unauthenticated

PrincipalType = Literal["user", "token"]


@dataclass(frozen=True, slots=True)
class Principal:
    type: PrincipalType
    id: str
    account_sids: frozenset[str]
    scopes: frozenset[str]
    token_sid: str | None = None
    # An API token's own expiry: a token may not create one that outlives it.
    expires_at: str | None = None
    # An API token's metadata, the JSON string handed to the backend (context `metadata`).
    metadata: str | None = None
    # An API token's networks: what it may grant a token it creates or changes at most.
    allowed_ips: tuple[str, ...] | None = None

    def may(self, account_sid: str, scope: str) -> bool:
        return account_sid in self.account_sids and scope in self.scopes

    def to_context(self, accounts: Iterable[str] | None = None) -> dict[str, str]:
        """The authorizer context, naming `accounts` of the principal's (all when None)."""
        named = self.account_sids if accounts is None else self.account_sids & set(accounts)
        context = {
            "principalType": self.type,
            "principalId": self.id,
            "accountSids": " ".join(sorted(named)),
            "scopes": " ".join(sorted(self.scopes)),
        }
        if self.token_sid is not None:
            context["tokenSid"] = self.token_sid
        if self.expires_at is not None:
            context["expiresAt"] = self.expires_at
        if self.metadata is not None:
            context["metadata"] = self.metadata
        if self.allowed_ips is not None:
            context["allowedIps"] = " ".join(self.allowed_ips)
        return context

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Principal:
        """Reads the authorizer context; anything missing or odd means no principal (401)."""
        if not context:
            raise Unauthenticated(CREDENTIALS_REFUSED)
        principal_type, principal_id, token_sid = _identity(context)
        return cls(
            type="user" if principal_type == "user" else "token",
            id=principal_id,
            account_sids=frozenset(str(context.get("accountSids") or "").split()),
            scopes=frozenset(str(context.get("scopes") or "").split()),
            token_sid=token_sid,
            expires_at=context.get("expiresAt") or None,
            metadata=context.get("metadata") or None,
            allowed_ips=tuple(str(context["allowedIps"]).split()) if context.get("allowedIps") else None,
        )


def _identity(context: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """principalType, principalId and tokenSid of an authorizer context, or Unauthenticated."""
    principal_type = context.get("principalType")
    principal_id = context.get("principalId")
    if principal_type not in ("user", "token") or not isinstance(principal_id, str) or not principal_id:
        raise Unauthenticated(CREDENTIALS_REFUSED)
    token_sid = context.get("tokenSid") or None
    if principal_type == "token" and not token_sid:
        raise Unauthenticated(CREDENTIALS_REFUSED)
    return principal_type, principal_id, token_sid
