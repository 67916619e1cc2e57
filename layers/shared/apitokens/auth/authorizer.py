"""The API Gateway REQUEST authorizer's decision, for API tokens and user JWTs.

API-token path (the hot one): format and checksum offline, then exactly one strongly consistent
GetItem by the token's SHA-256 digest. It imports neither pydantic nor PyJWT; the JWT path
loads PyJWT (apitokens.auth.jwt_auth) only when a JWT arrives.

It answers REST API REQUEST events (payload 1.0: httpMethod, resource, methodArn) and HTTP API
events (payload 2.0: routeKey, routeArn, lower-case headers), see `request_of`.

Every refusal of credentials raises Unauthenticated, which the handler turns into API
Gateway's 401 (REST) or a refusal (HTTP API), with one body for all causes (no oracle).
Anything else propagates and becomes AUTHORIZER_FAILURE (503): the authorizer fails closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from apitokens.auth import policy
from apitokens.domain import audit, networks, tokens, usage
from apitokens.domain.errors import CREDENTIALS_REFUSED, DomainError, Unauthenticated
from apitokens.domain.principal import Principal
from apitokens.domain.records import Credential
from apitokens.domain.timeutil import timestamp_from_epoch
from apitokens.settings import Settings

if TYPE_CHECKING:
    from apitokens.jsonlog import JsonLogger
    from apitokens.rules.ports import CredentialStore


class JwtVerifier(Protocol):
    def principal(self, token: str) -> Principal: ...


def _is_authorization(name: object) -> bool:
    return isinstance(name, str) and name.lower() == "authorization"


def _authorization_values(event: Mapping[str, Any]) -> list[Any]:
    """Every Authorization value of the event, in any case of the name; a header sent more than
    once contributes each of its values."""
    values = [value for name, value in (event.get("headers") or {}).items() if _is_authorization(name)]
    for name, multi in (event.get("multiValueHeaders") or {}).items():
        if _is_authorization(name) and isinstance(multi, list) and len(multi) > 1:
            values.extend(multi)  # a repeated header is ambiguous: refused below
    return values


def bearer_credential(event: Mapping[str, Any]) -> str:
    """The credential of the one Authorization header, or Unauthenticated."""
    values = _authorization_values(event)
    if not values:
        raise Unauthenticated(CREDENTIALS_REFUSED, reason="missing_credentials")
    if len(values) != 1 or not isinstance(values[0], str):
        raise Unauthenticated(CREDENTIALS_REFUSED, reason="malformed_header")
    scheme, _, credential = values[0].strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential or len(credential) > 8192:
        raise Unauthenticated(CREDENTIALS_REFUSED, reason="malformed_header")
    return credential


def is_http_api_event(event: Mapping[str, Any]) -> bool:
    return event.get("version") == "2.0"


def request_of(event: Mapping[str, Any]) -> tuple[str, str, str]:
    """(method, resource path, method ARN) of a REST (1.0) or HTTP API (2.0) authorizer event."""
    if is_http_api_event(event):
        method, _, resource = str(event.get("routeKey", "")).partition(" ")
        return method, resource, str(event.get("routeArn", ""))
    return str(event.get("httpMethod", "")), str(event.get("resource", "")), str(event.get("methodArn", ""))


def refusal_reason(credential: Credential, now: str, event: Mapping[str, Any]) -> str | None:
    """Why a known token is refused for this request (the log's reason code), or None: inactive,
    expired, or called from outside its networks (from the lookup item already read)."""
    if not credential.is_active:
        return "inactive_token"
    if credential.expires_at is not None and credential.expires_at <= now:
        return "expired_token"
    if credential.allowed_ips is not None and not networks.contains_ip(credential.allowed_ips, audit.source_ip(event)):
        return "ip_not_allowed"
    return None


class Authorizer:
    def __init__(
        self,
        settings: Settings,
        repository: CredentialStore,
        jwt_verifier: Callable[[], JwtVerifier] | None = None,
        clock: Callable[[], float] = time.time,
        logger: JsonLogger | None = None,
    ) -> None:
        self._settings = settings
        self._repository = repository
        self._jwt_verifier_factory = jwt_verifier or self._default_jwt_verifier
        self._jwt_verifier: JwtVerifier | None = None
        # The source of now (epoch seconds): public, so that a test can move time on.
        self.clock = clock
        self._logger = logger

    def _default_jwt_verifier(self) -> JwtVerifier:
        from apitokens.auth.jwt_auth import JwksVerifier

        return JwksVerifier(self._settings)

    def decide(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The authorizer response (principalId, IAM policy, context; for an HTTP API event
        also isAuthorized) for a REQUEST event."""
        credential = bearer_credential(event)
        if tokens.looks_like_token(credential, self._settings.deployment.token_prefix):
            principal = self.token_principal(credential, event)
        else:
            if self._jwt_verifier is None:
                self._jwt_verifier = self._jwt_verifier_factory()
            principal = self._jwt_verifier.principal(credential)
        method, resource, method_arn = request_of(event)
        decision = policy.iam_policy(principal, method_arn, method, resource)
        return policy.http_api_answer(decision) if is_http_api_event(event) else decision

    def refusal(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """What refused credentials answer: None for a REST API (the handler raises its 401)."""
        return policy.http_api_refusal(request_of(event)[2]) if is_http_api_event(event) else None

    def token_principal(self, token: str, event: Mapping[str, Any] | None = None) -> Principal:
        """The principal of an API token; `event` (the authorizer's request) gives the source IP
        and User-Agent recorded with the once-a-minute lastUsedAt write."""
        # Offline first: the other environment's prefix, a typo or a truncation costs no read.
        if not tokens.is_well_formed(token, self._settings.token_prefix):
            raise Unauthenticated(CREDENTIALS_REFUSED, reason="malformed_token")
        secret_digest = tokens.digest(token)
        credential = self._repository.find_credential(secret_digest)
        now_seconds = self.clock()
        now = timestamp_from_epoch(now_seconds)
        if credential is None:
            raise Unauthenticated(CREDENTIALS_REFUSED, reason="unknown_token")
        refusal = refusal_reason(credential, now, event or {})
        if refusal is not None:
            raise Unauthenticated(CREDENTIALS_REFUSED, reason=refusal)
        cutoff = timestamp_from_epoch(now_seconds - self._settings.last_used_interval_seconds)
        if credential.last_used_at is None or credential.last_used_at < cutoff:
            try:
                self._touch(credential, secret_digest, now, cutoff, event)
            except DomainError as error:
                # Bookkeeping only: a throttle or a concurrent touch never fails the request.
                if self._logger is not None:
                    self._logger.info("lastUsedAt not written", reason=error.code)
        return Principal(
            type="token",
            id=credential.token_sid,
            account_sids=frozenset((credential.account_sid,)),
            scopes=frozenset(credential.scopes),
            token_sid=credential.token_sid,
            expires_at=credential.expires_at,
            metadata=credential.metadata,
            allowed_ips=credential.allowed_ips,
        )

    def _touch(
        self, credential: Credential, secret_digest: str, now: str, cutoff: str, event: Mapping[str, Any] | None
    ) -> None:
        context = audit.context_from_event(event or {}, audit.Actor("token", credential.token_sid))
        if context.source_ip is None:
            self._repository.touch_last_used(credential, secret_digest, now, cutoff)
            return
        clients, new_ip = usage.record_client(credential.recent_clients, context.source_ip, context.user_agent, now)
        document = None
        if new_ip:
            changes = {"recentClients": audit.change(None, context.source_ip)}
            document = audit.event_document(
                audit.USED_FROM_NEW_IP, credential.account_sid, credential.token_sid, now, changes, context=context
            )
        self._repository.touch_last_used(
            credential, secret_digest, now, cutoff, recent_clients=clients, new_ip_event=document
        )
