"""Domain errors. They carry no HTTP knowledge: http.py maps them to statuses in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every error the service reports to a caller on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    code = "invalid_request"

    def __init__(self, message: str, details: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


# The one message for every refused credential: no oracle for which check failed.
CREDENTIALS_REFUSED = "Missing or invalid credentials."


class Unauthenticated(DomainError):
    """Refused credentials. `reason` is for operators (the authorizer's log line and metrics);
    the caller always gets the one CREDENTIALS_REFUSED body, whatever the reason."""

    code = "unauthorized"

    def __init__(self, message: str = CREDENTIALS_REFUSED, reason: str = "refused") -> None:
        super().__init__(message)
        self.reason = reason


class Forbidden(DomainError):
    code = "forbidden"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"


class TokenNotFound(DomainError):
    code = "not_found"


class TokenLimitReached(DomainError):
    code = "token_limit_reached"


class ConcurrentModification(DomainError):
    """Another write to the same token was in flight; the caller may retry."""

    code = "conflict"


class RequestInProgress(ConcurrentModification):
    """A request with the same idempotency key has not finished yet."""

    code = "request_in_progress"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"


class StoreUnavailable(DomainError):
    """DynamoDB throttled or failed; nothing was changed, the caller may retry."""

    code = "service_unavailable"

    def __init__(
        self,
        message: str = "The token store is temporarily unavailable; retry shortly.",
        retry_after_seconds: int = 1,
    ) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class TokenStateConflict(DomainError):
    """The token's state forbids the operation (rolling an inactive, expired or already rolled
    token; re-activating a token revoked as leaked)."""

    code = "invalid_token_state"


def not_found(account_sid: str, token_sid: str) -> TokenNotFound:
    return TokenNotFound(f"No API token {token_sid} in account {account_sid}.")


def limit_reached(max_tokens: int) -> TokenLimitReached:
    return TokenLimitReached(
        f"This account already has {max_tokens} API tokens, the most it may hold; delete one before creating another."
    )


def creator_refused() -> Forbidden:
    """A create whose creator guard failed at the write: the creating token was revoked or
    rolled, or expires before the new token would."""
    return Forbidden(
        "This token can no longer create tokens: it was revoked or rolled, or it expires before the new token would."
    )
