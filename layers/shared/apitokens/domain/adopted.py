"""What a deployment makes its own, as the domain reads it: the token prefix, the account id
pattern and the base scopes (template.yaml's TokenPrefix, AccountIdPattern, BaseScopes).

apitokens.settings reads and checks them and hands them here (`adopt`) each time it reads its
environment; the domain, below settings, never reads configuration itself. Until then, and in a
deployment that sets none, the service's own values below hold (each stated here only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TOKEN_PREFIX = "at"
# The API contract's text says acc_ + 27 alphanumerics while every example has 24: both are accepted.
DEFAULT_ACCOUNT_ID_PATTERN = r"acc_(?:[A-Za-z0-9]{24}|[A-Za-z0-9]{27})"


class Adopted(Protocol):
    @property
    def token_prefix(self) -> str: ...
    @property
    def account_id_regex(self) -> re.Pattern[str]: ...
    # None: the service's own scopes (apitokens.domain.scopes.SCOPES).
    @property
    def base_scopes(self) -> tuple[str, ...] | None: ...


@dataclass(frozen=True)
class ServiceDefaults:
    token_prefix: str = DEFAULT_TOKEN_PREFIX
    account_id_regex: re.Pattern[str] = re.compile(DEFAULT_ACCOUNT_ID_PATTERN)
    base_scopes: tuple[str, ...] | None = None


_current: Adopted = ServiceDefaults()


def current() -> Adopted:
    return _current


def adopt(values: Adopted) -> None:
    """From now on the domain recognises tokens, account ids and scopes by `values`."""
    global _current  # noqa: PLW0603 - the process's one deployment, set by apitokens.settings
    _current = values
