"""`apitokens admin`: a first token without an identity provider, and revoking one.

It writes through the same code as the API (service.create_token / update_token: validation,
the per-account limit, only the SHA-256 digest at rest, the same transaction) into a deployed
table with the caller's AWS credentials, or into `apitokens serve`'s table (--dynamodb-endpoint).
The secret is printed once, on the last line, and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from apitokens.domain.errors import DomainError
from apitokens.domain.principal import Principal
from apitokens.domain.scopes import known_scopes
from apitokens.domain.timeutil import format_timestamp, utcnow
from apitokens.rules import service
from apitokens.settings import Settings, TokenEnvironment, get_deployment
from apitokens.store.repository import TokenRepository
from apitokens.wire.models import CreateTokenRequest, UpdateTokenRequest

ADMIN_PRINCIPAL_ID = "admin-cli"


class AdminError(RuntimeError):
    """A refusal: one line for the user, nothing written."""


@dataclass(frozen=True)
class Target:
    table: str
    region: str
    environment: TokenEnvironment = "live"
    dynamodb_endpoint: str | None = None
    max_tokens_per_account: int = 100

    def settings(self) -> Settings:
        return Settings(
            table_name=self.table,
            token_environment=self.environment,
            dynamodb_endpoint_url=self.dynamodb_endpoint,
            aws_region=self.region,
            max_tokens_per_account=self.max_tokens_per_account,
            # The token stack's TokenPrefix, AccountIdPattern, BaseScopes (--parameter-overrides).
            deployment=get_deployment(),
        )


def _admin(account: str) -> Principal:
    # The operator holds every scope on the one account named: the no-escalation rules still
    # apply (a token never holds more than the deployment's scopes), and the audit names the CLI.
    return Principal(type="user", id=ADMIN_PRINCIPAL_ID, account_sids=frozenset({account}), scopes=known_scopes())


def _first_error(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {detail['msg']}" if where else str(detail["msg"])


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
    try:
        created = service.create_token(
            TokenRepository.from_settings(settings), settings, _admin(account), account, request.command()
        )
    except DomainError as error:
        raise AdminError(error.message) from None
    except (BotoCoreError, ClientError) as error:
        raise AdminError(f"DynamoDB refused: {error}") from None
    record = created.record
    print(f"created {record.sid} on {account}: {' '.join(record.scopes)}", file=out)
    print(f"expires: {record.expires_at or 'never'}; the value below is shown this once only", file=out)
    print(created.secret, file=out, flush=True)
    return record.sid


def revoke(target: Target, account: str, token_sid: str, out: IO[str]) -> None:
    """Deactivates the token (isActive false), as PUT .../apiTokens/{sid} would."""
    settings = target.settings()
    repository = TokenRepository.from_settings(settings)
    try:
        current = service.get_token(repository, account, token_sid)
        request = UpdateTokenRequest.model_validate_json(json.dumps({"name": current.name, "isActive": False}))
        service.update_token(repository, _admin(account), account, token_sid, request.command())
    except DomainError as error:
        raise AdminError(error.message) from None
    except (BotoCoreError, ClientError) as error:
        raise AdminError(f"DynamoDB refused: {error}") from None
    print(f"deactivated {token_sid} on {account}", file=out, flush=True)
