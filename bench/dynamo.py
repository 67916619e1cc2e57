"""An in-memory DynamoDB behind a real botocore client, and item sizes as DynamoDB counts them.

The replay of 60,000 authorizations needs state (a touch changes what the next read returns),
which botocore's Stubber cannot give, and moto costs about a millisecond per call. So this
answers at the same hook the Stubber uses (`before-call`): the repository, botocore's parameter
validation and serialization all run for real, and the request is read back from the wire body.
It implements exactly what the authorizer sends (GetItem; TransactWriteItems of Updates (and a Put) with
`SET a = :v` and the condition grammar below) and raises on anything else, so a change in the
repository shows up as an error rather than as a silently wrong count.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

Item = dict[str, Any]


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


_SIZE_OF: dict[str, Callable[[Any], int]] = {
    "S": lambda data: len(str(data).encode("utf-8")),
    "N": _number_size,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    # Lists and maps: 3 bytes of overhead, plus 1 byte per element.
    "L": lambda data: 3 + sum(attribute_value_size(element) + 1 for element in data),
    "M": lambda data: (
        3 + sum(len(name.encode("utf-8")) + attribute_value_size(element) + 1 for name, element in data.items())
    ),
    "SS": lambda data: sum(len(element.encode("utf-8")) for element in data),
    "NS": lambda data: sum(_number_size(element) for element in data),
}


def attribute_value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value, per "DynamoDB item sizes and formats" (developer guide)."""
    (kind, data), *_ = value.items()
    return _SIZE_OF[kind](data)


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item: attribute names plus values (what read and write units are counted on)."""
    return sum(len(name.encode("utf-8")) + attribute_value_size(value) for name, value in item.items())


def read_units(size: int, *, consistent: bool = True) -> float:
    """Read request units of one GetItem: 4 KB steps; eventually consistent reads cost half."""
    units = math.ceil(max(size, 1) / 4096)
    return float(units if consistent else units / 2)


def write_units(size: int) -> int:
    """Write request units of one PutItem, UpdateItem or DeleteItem, or of one index write:
    1 per started KB."""
    return math.ceil(max(size, 1) / 1024)


def transactional_write_units(size: int) -> int:
    """Write request units for one item in TransactWriteItems: 2 per started KB."""
    return 2 * write_units(size)


# -- the condition-expression subset the repository uses ------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*)")


class _Condition:
    """Recursive descent over: expr := and (OR and)*; and := unary (AND unary)*;
    unary := NOT unary | '(' expr ')' | fn '(' operand ')' | operand cmp operand."""

    def __init__(self, text: str, item: Item | None, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.item = item or {}
        self.names = names
        self.values = values

    def evaluate(self) -> bool:
        result = self._or()
        if self.position != len(self.tokens):
            raise NotImplementedError(f"unsupported condition near {self.tokens[self.position :]}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise NotImplementedError(f"expected {expected!r}, got {token!r}")
        self.position += 1
        return token

    def _or(self) -> bool:
        result = self._and()
        while (self._peek() or "").upper() == "OR":
            self._take()
            right = self._and()
            result = result or right
        return result

    def _and(self) -> bool:
        result = self._unary()
        while (self._peek() or "").upper() == "AND":
            self._take()
            right = self._unary()
            result = result and right
        return result

    def _unary(self) -> bool:
        token = self._take()
        if token.upper() == "NOT":
            return not self._unary()
        if token == "(":
            result = self._or()
            self._take(")")
            return result
        if token in ("attribute_exists", "attribute_not_exists"):
            self._take("(")
            name = self._path(self._take())
            self._take(")")
            return (name in self.item) == (token == "attribute_exists")
        left = self._operand(token)
        operator = self._take()
        right = self._operand(self._take())
        return _compare(left, operator, right)

    def _path(self, token: str) -> str:
        return self.names[token] if token.startswith("#") else token

    def _operand(self, token: str) -> Any:
        value = self.values[token] if token.startswith(":") else self.item.get(self._path(token))
        if value is None:
            return None
        (kind, data), *_ = value.items()
        return float(data) if kind == "N" else data


def _tokenize(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise NotImplementedError(f"cannot read condition {text!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _compare(left: Any, operator: str, right: Any) -> bool:
    if left is None or right is None:
        return False  # a comparison with a missing attribute is false in DynamoDB
    comparisons: dict[str, bool] = {
        "=": left == right,
        "<>": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }
    return comparisons[operator]


def condition_holds(
    expression: str | None, item: Item | None, names: Mapping[str, str], values: Mapping[str, Any]
) -> bool:
    return True if not expression else _Condition(expression, item, names, values).evaluate()


_ASSIGNMENT = re.compile(r"^\s*([#A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)\s*$")


class FakeDynamo:
    """Holds items by (PK, SK) and answers a client's calls at its before-call hook."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.items: dict[tuple[str, str], Item] = {}
        self.calls: Counter[str] = Counter()
        self.cancelled = 0

    def put(self, item: Item) -> None:
        self.items[(item["PK"]["S"], item["SK"]["S"])] = copy.deepcopy(item)

    def get(self, key: Mapping[str, Any]) -> Item | None:
        return self.items.get((key["PK"]["S"], key["SK"]["S"]))

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-call.dynamodb", self._answer, unique_id="bench-fake-dynamo")

    def _answer(self, model: Any, params: Mapping[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        request = json.loads(params["body"] or b"{}")
        self.calls[model.name] += 1
        if model.name == "GetItem":
            return self._respond(self._get_item(request))
        if model.name == "TransactWriteItems":
            return self._transact_write(request)
        raise NotImplementedError(f"FakeDynamo does not implement {model.name}")

    @staticmethod
    def _respond(body: dict[str, Any], status: int = 200) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        parsed = {**body, "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}
        return AWSResponse("https://dynamodb.local", status, HTTPHeaders(), None), parsed

    def _get_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        if request["TableName"] != self.table:
            raise NotImplementedError("one table only")
        item = self.get(request["Key"])
        return {} if item is None else {"Item": copy.deepcopy(item)}

    def _transact_write(self, request: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        actions = request["TransactItems"]
        reasons, planned = [], []
        for action in actions:
            (kind, body), *_ = action.items()
            if kind not in ("Update", "Put"):
                raise NotImplementedError(f"FakeDynamo does not implement {kind} in a transaction")
            # A Put: the audit event of a first use from a new IP.
            item = self.get(body["Key"] if kind == "Update" else body["Item"])
            names = body.get("ExpressionAttributeNames", {})
            values = body.get("ExpressionAttributeValues", {})
            ok = condition_holds(body.get("ConditionExpression"), item, names, values)
            reasons.append({"Code": "None"} if ok else {"Code": "ConditionalCheckFailed"})
            planned.append((body, item, names, values))
        if any(reason["Code"] != "None" for reason in reasons):
            self.cancelled += 1
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                "CancellationReasons": reasons,
            }
            return self._respond(error, status=400)
        for body, item, names, values in planned:
            if "Item" in body:
                self.put(body["Item"])
                continue
            updated = copy.deepcopy(item) if item is not None else dict(body["Key"])
            expression = body["UpdateExpression"].strip()
            if not expression.upper().startswith("SET "):
                raise NotImplementedError(f"FakeDynamo does not implement {expression!r}")
            for assignment in expression[4:].split(","):
                match = _ASSIGNMENT.match(assignment)
                if match is None:
                    raise NotImplementedError(f"FakeDynamo does not implement {assignment!r}")
                name = names.get(match.group(1), match.group(1))
                updated[name] = copy.deepcopy(values[match.group(2)])
            self.put(updated)
        return self._respond({})
