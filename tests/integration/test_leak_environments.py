"""A leak report is about this deployment's tokens only: a value of the other environment (a
test deployment's `at_test_` token reported to a live one, or the reverse) is a false positive
that revokes nothing, even when a token with exactly that value's digest is in
the table (a table shared by mistake, or restored from the other environment)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apitokens.domain import tokens
from apitokens.rules import leaks
from apitokens.settings import Settings, get_settings
from apitokens.store.repository import TokenRepository
from tests.harness import Functions
from tests.integration.test_leak_reports import REVOKE, public_call
from tests.integration.test_repository_conditions import NOW, new_record


def stored_with_value(repository: TokenRepository, value: str) -> Any:
    record = new_record()
    repository.create(record, tokens.digest(value), 100)
    return record


@pytest.mark.parametrize(("deployed", "other"), [("live", "test"), ("test", "live")])
def test_a_token_of_the_other_environment_is_a_false_positive(dynamodb: Any, deployed: str, other: str) -> None:
    get_settings.cache_clear()
    settings = Settings(table_name=get_settings().table_name, token_environment=deployed)  # type: ignore[arg-type]
    repository = TokenRepository(dynamodb, settings.table_name)
    value = tokens.generate(f"at_{other}_")
    record = stored_with_value(repository, value)
    finding = leaks.Finding(value, "apitokens", "commit", "https://github.com/o/r/blob/x/.env")
    (verdict,) = leaks.report(repository, settings, [finding], NOW)
    assert verdict.label == "false_positive"
    assert verdict.token_hash == tokens.digest(value)
    assert repository.get(record.account_sid, record.sid).is_active
    # This environment's token with the same stored state is revoked: the report itself works.
    own = tokens.generate(settings.token_prefix)
    own_record = stored_with_value(repository, own)
    (own_verdict,) = leaks.report(repository, settings, [leaks.Finding(own, "apitokens", "commit", "u")], NOW)
    assert own_verdict.label == "true_positive"
    assert repository.get(own_record.account_sid, own_record.sid).revoked_reason == "leaked"


def test_credentials_revoke_leaves_the_other_environments_token_alone(functions: Functions) -> None:
    repository = TokenRepository.from_settings(get_settings())
    assert get_settings().token_prefix == "at_live_"
    value = tokens.generate("at_test_")
    record = stored_with_value(repository, value)
    answer = public_call(functions, REVOKE, json.dumps({"tokens": [value]}).encode())
    assert answer.status == 202
    after = repository.get(record.account_sid, record.sid)
    assert (after.is_active, after.revoked_reason) == (True, None)
