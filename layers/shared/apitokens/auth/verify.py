"""POST /apiTokens/verify: is this token active, and may it do this? For backends that no API
Gateway authorizer fronts (a load balancer, a queue worker, another account).

The answer is the authorizer's own: the same offline checks and one strongly consistent read
(Authorizer.token_principal, which also writes lastUsedAt once a minute: a verification is a use),
and the same route catalog and policy code for "may it send this request". Every refusal, whatever
its reason, is one answer (`Verification.principal` None), as RFC 7662's `{"active": false}`:
no oracle for which check failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from apitokens.auth import policy
from apitokens.auth.authorizer import Authorizer
from apitokens.domain.errors import Unauthenticated
from apitokens.domain.principal import Principal


@dataclass(frozen=True, slots=True)
class RouteQuestion:
    """May the token send this request (a path without the stage) to a catalog route?"""

    method: str
    path: str


@dataclass(frozen=True, slots=True)
class ScopeQuestion:
    """Does the token hold this scope on this account?"""

    scope: str
    account_sid: str


Question = RouteQuestion | ScopeQuestion


@dataclass(frozen=True, slots=True)
class Verification:
    # None for a token that would be refused, whatever the reason.
    principal: Principal | None
    # The answer to the question asked; None when none was (or the token is refused).
    allowed: bool | None = None


def allows(principal: Principal, question: Question) -> bool:
    if isinstance(question, ScopeQuestion):
        return principal.may(question.account_sid, question.scope)
    return policy.permits_request(principal, question.method, question.path)


def verify(authorizer: Authorizer, token: str, question: Question | None = None) -> Verification:
    """The verification of `token`. The request's source IP is the calling backend's, not the
    token holder's: it is not recorded among the token's recent clients (no event is passed)."""
    try:
        principal = authorizer.token_principal(token)
    except Unauthenticated:
        return Verification(None)
    return Verification(principal, None if question is None else allows(principal, question))
