"""Evaluates an authorizer's IAM policy against a method ARN the way API Gateway does:
an explicit Deny wins, otherwise some Allow must match; `*` and `?` are wildcards."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, arn: str) -> bool:
    # fnmatch would also treat [...] as a class; IAM knows only * and ?.
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, arn, flags=re.DOTALL) is not None


def _invokes(statement: dict[str, Any]) -> bool:
    actions: Iterable[str] = _as_list(statement.get("Action", []))
    return any(fnmatch.fnmatchcase("execute-api:Invoke", str(action)) for action in actions)


def is_allowed(policy_document: dict[str, Any], method_arn: str) -> bool:
    allowed = False
    for statement in _as_list(policy_document.get("Statement", [])):
        if not _invokes(statement):
            continue
        if any(_matches(str(resource), method_arn) for resource in _as_list(statement.get("Resource", []))):
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed
