"""`--parameter-overrides KEY=VALUE ...`, as `sam deploy` spells it: the token stack's parameters
for the local commands (serve, dev-jwt, admin, dev-leak-report), checked against template.yaml's
constraints as CloudFormation checks them at deploy, and the functions' environment they give."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from apitokens_dev import template

OPTION = "--parameter-overrides"  # as cli.PARAMETER_OVERRIDES


class ParameterError(ValueError):
    """An override CloudFormation would refuse; the message names the parameter."""


def _constraint_fault(name: str, value: str, declared: dict[str, Any]) -> str | None:
    """Why CloudFormation would refuse `value` for the parameter declared so, or None."""
    allowed_values = declared.get("AllowedValues")
    if allowed_values is not None and value not in [str(allowed) for allowed in allowed_values]:
        return f"{name} must be one of {', '.join(map(str, allowed_values))}, got {value!r}"
    pattern = declared.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        return f"{name} must be {declared.get('ConstraintDescription') or 'of pattern ' + pattern}, got {value!r}"
    if not declared.get("MinLength", 0) <= len(value) <= declared.get("MaxLength", len(value)):
        return f"{name} must have {declared.get('MinLength', 0)} to {declared.get('MaxLength')} characters"
    if declared.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{name} must be a number, got {value!r}"
        if not declared.get("MinValue", number) <= number <= declared.get("MaxValue", number):
            return f"{name} must be from {declared.get('MinValue')} to {declared.get('MaxValue')}, got {value}"
    return None


def parse(items: Sequence[str], stack: dict[str, Any] | None = None) -> dict[str, str]:
    """The overrides of `KEY=VALUE` items (or sam's ParameterKey=KEY,ParameterValue=VALUE), each
    a parameter template.yaml declares, of a value its constraints allow."""
    parameters: dict[str, Any] = (stack or template.load_template()).get("Parameters") or {}
    overrides: dict[str, str] = {}
    for item in items:
        long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", item, re.DOTALL)
        name, separator, value = (long_form.group(1), "=", long_form.group(2)) if long_form else item.partition("=")
        if not separator or not name:
            raise ParameterError(f"{OPTION}: expected KEY=VALUE, got {item!r}")
        if name not in parameters:
            raise ParameterError(f"{OPTION}: template.yaml declares no parameter {name!r}")
        fault = _constraint_fault(name, value, parameters[name])
        if fault:
            raise ParameterError(f"{OPTION}: {fault}")
        overrides[name] = value
    return overrides


def overridden_environment(overrides: dict[str, str], stack: dict[str, Any] | None = None) -> dict[str, str]:
    """The functions' environment variables that name an overridden parameter, with its value."""
    stack = stack or template.load_template()
    declared: dict[str, Any] = dict(template.variables_of((stack.get("Globals") or {}).get("Function")))
    for definition in (stack.get("Resources") or {}).values():
        if definition.get("Type") == "AWS::Serverless::Function":
            declared.update(template.variables_of(definition.get("Properties")))
    return {
        variable: overrides[value["Ref"]]
        for variable, value in declared.items()
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in overrides
    }
