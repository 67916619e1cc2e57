"""An unexpected failure inside a handler is a 500 with the fixed envelope: the caller learns
nothing of it (no exception text, table name, ARN or class name), operators get it in the log."""

from __future__ import annotations

import pytest

from apitokens.store.repository import TokenRepository
from tests.harness import Functions

DETAIL = "arn:aws:dynamodb:us-east-1:123456789012:table/apitokens-internal secretDigest=abc123"


class UnexpectedStoreFailure(RuntimeError):
    pass


def test_an_unexpected_error_answers_the_fixed_500_envelope(
    functions: Functions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    created = functions.create().body

    def fail(*_: object, **__: object) -> None:
        raise UnexpectedStoreFailure(DETAIL)

    monkeypatch.setattr(TokenRepository, "get", fail)
    answer = functions.get(created["sid"])
    assert answer.status == 500
    assert answer.body == {"error": {"code": "internal_error", "message": "An internal error occurred."}}
    assert DETAIL not in answer.text
    assert "UnexpectedStoreFailure" not in answer.text
    # The operators' log has it.
    assert "UnexpectedStoreFailure" in caplog.text
