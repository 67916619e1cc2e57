"""`apitokens admin`: a first token without an identity provider, revoking one, and telling which
token a found value is.

It writes through the same code as the API (service.create_token / update_token: validation,
the per-account limit, only the SHA-256 digest at rest, the same transaction) into a deployed
table with the caller's AWS credentials, or into `apitokens serve`'s table (--dynamodb-endpoint).
The secret is printed once, on the last line, and nowhere else; find-token never prints the
value it is given. Where it writes, and AWS's refusals: admin_aws.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from apitokens.domain import tokens
from apitokens.domain.errors import DomainError, StoreUnavailable
from apitokens.domain.principal import Principal
from apitokens.domain.records import TokenRecord
from apitokens.domain.scopes import known_scopes
from apitokens.domain.timeutil import format_timestamp, utcnow
from apitokens.rules import service
from apitokens.settings import get_deployment
from apitokens.store.repository import TokenRepository
from apitokens.wire.models import CreateTokenRequest, UpdateTokenRequest
from apitokens_dev.admin_aws import AdminError, Target, aws_cause, explain

__all__ = ["AdminError", "Target", "create_token", "find_token", "revoke"]

ADMIN_PRINCIPAL_ID = "admin-cli"


def _admin(account: str) -> Principal:
    # The operator holds every scope on the one account named: the no-escalation rules still
    # apply (a token never holds more than the deployment's scopes), and the audit names the CLI.
    return Principal(type="user", id=ADMIN_PRINCIPAL_ID, account_sids=frozenset({account}), scopes=known_scopes())


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {detail['msg']}" if where else str(detail["msg"])


def _repository(target: Target) -> TokenRepository:
    return TokenRepository.from_settings(target.settings(), target.dynamodb_client())


@contextlib.contextmanager
def _refusals(target: Target) -> Iterator[None]:
    """The service's refusals as their message; AWS's (behind a domain error or not) as the
    one line that names their fix."""
    try:
        yield
    except DomainError as error:
        # Only a store that could not answer has AWS's reason to give; the service's own refusals
        # (the limit, a concurrent change) are translated from AWS errors too, and say more.
        cause = aws_cause(error) if isinstance(error, StoreUnavailable) else None
        raise AdminError(explain(cause, target.region, table=target.table) if cause else error.message) from None
    except (BotoCoreError, ClientError) as error:
        raise AdminError(explain(error, target.region, table=target.table)) from None


def create_token(
    target: Target, account: str, scopes: list[str], name: str, *, expires_in: int | None, out: IO[str]
) -> str:
    """Creates the token and prints it; returns its sid."""
    known = known_scopes()
    unknown = sorted(set(scopes) - known)
    if unknown:
        raise AdminError(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    body: dict[str, object] = {"name": name, "scopes": scopes}
    if expires_in is not None:
        body["expiresAt"] = format_timestamp(utcnow() + timedelta(seconds=expires_in))
    try:
        request = CreateTokenRequest.model_validate_json(json.dumps(body))
    except ValidationError as error:
        raise AdminError(_first_error(error)) from None
    settings = target.settings()
    with _refusals(target):
        created = service.create_token(_repository(target), settings, _admin(account), account, request.command())
    record = created.record
    print(f"created {record.sid} on {account}: {' '.join(record.scopes)}", file=out)
    print(f"expires: {record.expires_at or 'never'}; the value below is shown this once only", file=out)
    print(created.secret, file=out, flush=True)
    return record.sid


def revoke(target: Target, account: str, token_sid: str, out: IO[str]) -> None:
    """Deactivates the token (isActive false), as PUT .../apiTokens/{sid} would."""
    with _refusals(target):
        repository = _repository(target)
        current = service.get_token(repository, account, token_sid)
        request = UpdateTokenRequest.model_validate_json(json.dumps({"name": current.name, "isActive": False}))
        service.update_token(repository, _admin(account), account, token_sid, request.command())
    print(f"deactivated {token_sid} on {account}", file=out, flush=True)


def _state(record: TokenRecord) -> str:
    if not record.is_active:
        return f"inactive ({record.revoked_reason or 'revoked'} at {record.revoked_at or 'an unknown time'})"
    if record.expires_at is not None and record.expires_at <= format_timestamp(utcnow()):
        return f"expired at {record.expires_at}"
    if record.rolled_to is not None:
        return f"active until {record.expires_at or 'its grace ends'}, rolled to {record.rolled_to}"
    return f"active, expires {record.expires_at or 'never'}"


def find_token(target: Target, value: str, out: IO[str]) -> None:
    """Which token `value` is (account, sid, state), found by its digest as the authorizer finds
    it. The value itself is never printed: a refusal names only its shape."""
    if not any(tokens.is_well_formed(value, prefix) for prefix in tokens.prefixes(get_deployment().token_prefix)):
        raise AdminError(
            "that value is not a token this service issues (at_live_ or at_test_, 36 letters and digits, "
            "a valid checksum): nothing to look up"
        )
    with _refusals(target):
        repository = _repository(target)
        credential = repository.find_credential(tokens.digest(value), copy=0)
        if credential is None:
            raise AdminError(f"no token of table {target.table!r} has that value (deleted, or another deployment's)")
        record = service.get_token(repository, credential.account_sid, credential.token_sid)
    print(f"{record.sid} on {record.account_sid}: {_state(record)}", file=out)
    print(f"name {record.name!r}; scopes {' '.join(record.scopes)}; created {record.created_at}", file=out, flush=True)
