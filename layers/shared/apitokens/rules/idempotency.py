"""Safe retries of create: an `Idempotency-Key` header makes a repeated POST create nothing new.

Built on Powertools idempotency, with its records in the tokens table (keys.py). The key is
scoped to the calling principal and the account, so two callers can never collide. The record
holds the created token object and never its secret, so a replay answers 200 with the token
object (no `token` field) and `Idempotent-Replayed: true`; the secret was shown once, to the
first response. The same key with a different body is a 422; a retry while the first request
is still running is a 409 with Retry-After. Records expire after 24 hours.

Powertools keeps a persistence layer's records under one static partition key; so that no
partition is shared by every account, each (account, principal) gets its own persistence layer,
with its own partition key (the store's IdempotencyStore port), built on first use and kept for
the container.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from apitokens.domain.commands import CreateToken, RollToken
from apitokens.domain.errors import IdempotencyKeyReused, InvalidRequest, RequestInProgress, StoreUnavailable
from apitokens.domain.principal import Principal
from apitokens.domain.records import TokenRecord
from apitokens.domain.timeutil import format_timestamp, utcnow
from apitokens.rules import service
from apitokens.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apitokens.rules.ports import IdempotentTokenStore

HEADER = "Idempotency-Key"
RECORD_LIFETIME_SECONDS = 24 * 60 * 60
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

logger = Logger()
# Persistence layers kept per container: one per (account, principal) seen.
_MAX_PARTITIONS_KEPT = 256


@dataclass(frozen=True, slots=True)
class CreateOutcome:
    record: TokenRecord
    # Empty on a replay: the secret is never stored, not even in the idempotency record.
    secret: str
    replayed: bool = False


class IdempotentCreate:
    """Create and roll, each made idempotent by an Idempotency-Key (records keyed per operation)."""

    def __init__(self, repository: IdempotentTokenStore, settings: Settings) -> None:
        self._repository = repository
        self._settings = settings
        self._configs: dict[str, IdempotencyConfig] = {}
        self._stores: dict[tuple[str, str, str], BasePersistenceLayer] = {}

    def _idempotency_of(
        self, operation: str, partition: tuple[str, str, str]
    ) -> tuple[IdempotencyConfig, BasePersistenceLayer]:
        """Powertools idempotency's config (per operation) and store (per records partition), set
        up by the first request that needs them: a create without a key does not pay the import
        at cold start."""
        if partition not in self._stores:
            if len(self._stores) >= _MAX_PARTITIONS_KEPT:
                self._stores.clear()  # a container serving very many principals: start over
            self._stores[partition] = self._repository.idempotency_store(*partition)
        if operation not in self._configs:
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

            config = IdempotencyConfig(
                event_key_jmespath="key",
                payload_validation_jmespath="body",
                expires_after_seconds=RECORD_LIFETIME_SECONDS,
                raise_on_no_idempotency_key=True,
            )
            self._configs[operation] = config
        return self._configs[operation], self._stores[partition]

    def create(
        self,
        principal: Principal,
        account_sid: str,
        request: CreateToken,
        idempotency_key: str | None,
        lambda_context: LambdaContext | None = None,
    ) -> CreateOutcome:
        def work() -> tuple[TokenRecord, str]:
            created = service.create_token(self._repository, self._settings, principal, account_sid, request)
            return created.record, created.secret

        return self._run(
            "create_token",
            principal,
            account_sid,
            dict(request.body),
            work,
            key=idempotency_key,
            lambda_context=lambda_context,
        )

    def roll(
        self,
        principal: Principal,
        account_sid: str,
        token_sid: str,
        request: RollToken,
        *,
        idempotency_key: str | None,
        lambda_context: LambdaContext | None = None,
    ) -> CreateOutcome:
        def work() -> tuple[TokenRecord, str]:
            rolled = service.roll_token(
                self._repository, self._settings, principal, account_sid, token_sid, request=request
            )
            return rolled.record, rolled.secret

        outcome = self._run(
            "roll_token",
            principal,
            account_sid,
            dict(request.body),
            work,
            target=(token_sid,),
            key=idempotency_key,
            lambda_context=lambda_context,
        )
        if outcome.replayed:
            # A retry finishes a move of the old token's children the first request left undone.
            self._repository.move_children(account_sid, token_sid, outcome.record.sid, format_timestamp(utcnow()))
        return outcome

    def _run(
        self,
        operation: str,
        principal: Principal,
        account_sid: str,
        body: dict[str, Any],
        perform: Callable[[], tuple[TokenRecord, str]],
        *,
        target: tuple[str, ...] = (),
        key: str | None,
        lambda_context: LambdaContext | None,
    ) -> CreateOutcome:
        """`perform`, once per Idempotency-Key of this principal on this account (and `target`,
        the token a roll acts on); a retry with the same key and body gets the first outcome."""
        if key is None:
            return CreateOutcome(*perform())
        # The principal's records live in a partition of their own, per account.
        partition = (account_sid, principal.type, principal.id)
        scope = [principal.type, principal.id, account_sid, *target]
        if KEY_PATTERN.fullmatch(key) is None:
            raise InvalidRequest(f"{HEADER} must be 1 to 255 printable ASCII characters without spaces.")
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            BaseError as IdempotencyError,
        )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        config, store = self._idempotency_of(operation, partition)
        if lambda_context is not None:
            # Lets an in-progress record expire with the invocation should the function time out.
            config.register_lambda_context(lambda_context)
        done: list[tuple[TokenRecord, str]] = []

        def issue(request: dict[str, Any]) -> dict[str, Any]:
            # Powertools hashes `request` and stores what this returns: the record, not the secret.
            record, secret = perform()
            done.append((record, secret))
            return asdict(record)

        once = idempotent_function(
            issue, data_keyword_argument="request", persistence_store=store, config=config, key_prefix=operation
        )
        data = {
            # A JSON list, not a joined string: no subject or key can make two callers' scopes equal.
            "key": json.dumps([*scope, key]),
            "body": body,
        }
        try:
            stored = once(request=data)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused(
                f"This {HEADER} was already used with a different request body; use a new key."
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress(f"A request with this {HEADER} is still in progress; retry shortly.") from None
        except IdempotencyError as error:
            if done:
                # The token exists: only marking the idempotency record completed failed. A 503
                # now would hide the only copy of the secret and leave an orphan token; answer
                # with it. A retry with this key gets 409 until the in-progress record expires.
                logger.warning("idempotency record not completed", extra={"token_sid": done[0][0].sid})
                return CreateOutcome(*done[0])
            raise StoreUnavailable() from error
        if done:
            return CreateOutcome(*done[0])
        return CreateOutcome(TokenRecord(**{**stored, "scopes": tuple(stored["scopes"])}), secret="", replayed=True)
