"""The "scale" table: what an operation costs in DynamoDB as the data grows, small case vs large.

Each row runs one operation through the product's own code (service functions, the Authorizer)
on moto, with a meter on the repository's client that asks every request for
ReturnConsumedCapacity=TOTAL and counts requests, capacity units and items read. A row's figure
is the large case divided by the small one (goal 1.0: the cost does not grow with the data);
the authorizer's response size is an absolute figure (goal: at most 8 KiB in every case).

Data is made cheaply: one real token is created through the service (so the items are exactly
what production stores), then copied under new sids straight into moto's table.

Later features add rows: write a function that returns `list[ScaleRow]` and append it to ROWS.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from common import EVENTS, TABLE_NAME
from dynamo import item_size, read_units, transactional_write_units

KIB = 1024
MOTO_ACCOUNT = "123456789012"  # moto's default account


@dataclass
class Meter:
    """DynamoDB requests, capacity units and items read. Capacity units are counted from the
    stored items' sizes as DynamoDB bills them (moto's own ConsumedCapacity is a fixed 0.5 or
    1.0 per read and absent for transactions; it is kept beside, as `reported_units`)."""

    requests: int = 0
    capacity_units: float = 0.0
    reported_units: float = 0.0
    items_read: int = 0
    operations: list[str] = field(default_factory=list)

    def snapshot(self) -> Meter:
        return replace(self, operations=list(self.operations))


@dataclass
class ScaleRow:
    name: str
    measure: str
    small_case: str
    large_case: str
    small: float
    large: float
    goal: float
    absolute: bool = False  # goal is "every case <= goal" instead of "large / small <= goal"
    detail: str = ""
    # Why the row's goal, as the issue words it, does not measure what it means (the table says so).
    ill_posed: str = ""

    @property
    def ratio(self) -> float:
        return self.large / self.small if self.small else float("inf")

    @property
    def holds(self) -> bool:
        if self.absolute:
            return max(self.small, self.large) <= self.goal
        return self.ratio <= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "holds": self.holds}


def _stored_size(key: dict[str, Any]) -> int:
    """Bytes of the item under `key` in moto's table right now (0 if there is none)."""
    from moto.dynamodb.models import dynamodb_backends

    item = (
        dynamodb_backends[MOTO_ACCOUNT]["us-east-1"]
        .get_table(TABLE_NAME)
        .get_item(_moto_key(key["PK"]), _moto_key(key["SK"]))
    )
    return 0 if item is None else item_size(item.to_json()["Attributes"])


def _moto_key(value: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType(value)


def _write_units(params: dict[str, Any]) -> float:
    """TransactWriteItems: 2 WRU per started KB of each item (the larger of before and after)."""
    units = 0
    for entry in params.get("TransactItems", []):
        (kind, action), *_ = entry.items()
        size = item_size(action["Item"]) if kind == "Put" else 0
        if "Key" in action:
            size = max(size, _stored_size(action["Key"]))
        units += transactional_write_units(size)
    return float(units)


def _key_of(item: dict[str, Any], partition: dict[str, Any]) -> dict[str, Any]:
    """The table key of an item a Query returned: its own (an index returns the table's keys),
    else a token item's of the partition (the token listing projects neither)."""
    from apitokens.store import keys

    if "PK" in item and "SK" in item:
        return {"PK": item["PK"], "SK": item["SK"]}
    return {"PK": partition, "SK": {"S": keys.token_sk(item["sid"]["S"])}}


def attach_meter(client: Any) -> Meter:
    from botocore import xform_name

    meter = Meter()
    # Every operation the repository uses accepts ReturnConsumedCapacity.
    metered = {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "TransactGetItems"}

    def ask(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in metered:
            params["ReturnConsumedCapacity"] = "TOTAL"
        context["bench_params"] = params
        if model.name == "TransactWriteItems":  # sized before the write changes the items
            context["bench_units"] = _write_units(params)

    def count(model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context.get("bench_params", {})
        meter.requests += 1
        meter.operations.append(xform_name(model.name))
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            meter.reported_units += float(entry.get("CapacityUnits", 0))
        consistent = bool(params.get("ConsistentRead"))
        if model.name == "GetItem" and parsed.get("Item"):
            meter.items_read += 1
            meter.capacity_units += read_units(_stored_size(params["Key"]), consistent=consistent)
        elif model.name == "Query":
            # Billed on the whole items read (before the projection), summed, in 4 KB steps.
            partition = next(iter(params.get("ExpressionAttributeValues", {}).values()))
            read = parsed.get("Items", [])
            sizes = [_stored_size(_key_of(item, partition)) for item in read]
            meter.items_read += len(sizes)
            meter.capacity_units += read_units(sum(sizes), consistent=consistent)
        elif model.name == "TransactWriteItems":
            meter.capacity_units += context.get("bench_units", 0.0)

    client.meta.events.register("provide-client-params.dynamodb", ask, unique_id="bench-scale-ask")
    client.meta.events.register("after-call.dynamodb", count, unique_id="bench-scale-count")
    return meter


@contextmanager
def measured(meter: Meter) -> Iterator[Meter]:
    before = meter.snapshot()
    result = Meter()
    yield result
    result.requests = meter.requests - before.requests
    result.capacity_units = meter.capacity_units - before.capacity_units
    result.reported_units = meter.reported_units - before.reported_units
    result.items_read = meter.items_read - before.items_read
    result.operations = meter.operations[len(before.operations) :]


class Fixture:
    """A moto table from template.yaml, the product's repository on a metered client, and a
    way to copy one real token many times."""

    def __init__(self) -> None:
        import boto3

        from apitokens.settings import Settings, get_settings
        from apitokens.store.repository import TokenRepository
        from apitokens_dev.template import table_create_arguments

        self.client = boto3.client("dynamodb", region_name="us-east-1")
        self.client.create_table(**table_create_arguments(TABLE_NAME))
        get_settings.cache_clear()
        self.settings = replace(Settings.from_env({"TABLE_NAME": TABLE_NAME}), max_tokens_per_account=10_000)
        self.repository = TokenRepository(self.client, TABLE_NAME)
        self.meter = attach_meter(self.client)
        self.seconds_seeding = 0.0

    def create(self, account_sid: str, scopes: list[str] | None = None) -> tuple[str, Meter]:
        from apitokens.domain.principal import Principal
        from apitokens.domain.scopes import ALL_SCOPES
        from apitokens.rules import service
        from apitokens.wire.models import CreateTokenRequest

        principal = Principal(type="user", id="user_bench", account_sids=frozenset({account_sid}), scopes=ALL_SCOPES)
        request = CreateTokenRequest.model_validate({"name": "bench", "scopes": scopes or ["tokens:read"]})
        with measured(self.meter) as cost:
            created = service.create_token(self.repository, self.settings, principal, account_sid, request.command())
        return created.secret, cost

    def copies(self, account_sid: str, count: int, *, lookup_of: str | None = None) -> None:
        """`count` more tokens in the account like its newest one, and the account's tokenCount
        raised to match, by moto's own put. Given that token's value, their lookup items
        instead of their token items: all the authorizer reads (and half the items to make)."""
        from apitokens.domain import ids, tokens
        from apitokens.store import keys

        started = time.perf_counter()
        pk = keys.account_pk(account_sid)
        existing = self.client.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :token)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":token": {"S": keys.TOKEN_SK_PREFIX}},
            Limit=1,
        )["Items"][0]
        lookup = {}
        if lookup_of is not None:
            lookup = self.client.get_item(TableName=TABLE_NAME, Key=keys.secret_key(tokens.digest(lookup_of)))["Item"]
        # Straight into moto's table (no HTTP, no signing): the same items BatchWriteItem would
        # store, at a fraction of the time for 100,000 of them.
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[MOTO_ACCOUNT]["us-east-1"]
        for index in range(count):
            sid = ids.new_token_sid()
            if not lookup:
                backend.put_item(TABLE_NAME, {**existing, "SK": {"S": keys.token_sk(sid)}, "sid": {"S": sid}})
            else:
                digest = hashlib.sha256(f"{account_sid}/{index}".encode()).hexdigest()
                backend.put_item(TABLE_NAME, {**lookup, "PK": {"S": keys.secret_pk(digest)}, "tokenSid": {"S": sid}})
        self.client.update_item(
            TableName=TABLE_NAME,
            Key=keys.account_meta_key(account_sid),
            UpdateExpression="ADD tokenCount :n",
            ExpressionAttributeValues={":n": {"N": str(count)}},
        )
        self.seconds_seeding += time.perf_counter() - started


def _cost_rows(name: str, cases: tuple[str, str], small: Meter, large: Meter, detail: str) -> list[ScaleRow]:
    small_case, large_case = cases
    return [
        ScaleRow(name, "requests", small_case, large_case, small.requests, large.requests, 1.0, detail=detail),
        ScaleRow(name, "capacity units", small_case, large_case, small.capacity_units, large.capacity_units, 1.0),
    ]


def list_rows(fixture: Fixture) -> list[ScaleRow]:
    from apitokens.rules import service
    from apitokens.wire.models import ListQuery

    pages = {}
    for label, count in (("10", 10), ("21", 21), ("10000", 10_000)):
        account = f"acc_{label:0>24}"
        fixture.create(account)
        fixture.copies(account, count - 1)
        with measured(fixture.meter) as cost:
            page = service.list_tokens(fixture.repository, account, ListQuery(limit=20).command())
        if len(page.records) != min(20, count):
            raise RuntimeError(f"list returned {len(page.records)} records of {count}")
        pages[label] = cost
    # The list row as first worded: an account of 10 tokens fills half a page, so its page is smaller than the
    # large account's and its capacity units can be fewer: the ratio measures the page, not the
    # account. The well-posed variant compares a full page with 10,000: 21 tokens, since a page
    # reads the one item past it to answer hasMore (20 tokens read 20 items, 10,000 read 21).
    as_worded = _cost_rows(
        "list a page of 20",
        ("10 tokens", "10,000 tokens"),
        pages["10"],
        pages["10000"],
        f"items read {pages['10'].items_read} vs {pages['10000'].items_read}; {pages['10000'].operations}",
    )
    as_worded[
        1
    ].ill_posed = f"10 tokens are half a page: {pages['10'].items_read} items read against {pages['10000'].items_read}"
    return [
        *as_worded,
        *_cost_rows(
            "list a full page of 20",
            ("21 tokens", "10,000 tokens"),
            pages["21"],
            pages["10000"],
            f"items read {pages['21'].items_read} vs {pages['10000'].items_read} (a page and the one past it)",
        ),
    ]


def create_rows(fixture: Fixture) -> list[ScaleRow]:
    empty = "acc_" + "e" * 24
    _, small = fixture.create(empty)
    full = "acc_" + "f" * 24
    fixture.create(full)
    fixture.copies(full, fixture.settings.max_tokens_per_account - 2)
    _, large = fixture.create(full)  # the 10,000th: the last the limit allows
    return _cost_rows(
        "create a token",
        ("empty account", f"{fixture.settings.max_tokens_per_account:,}th token"),
        small,
        large,
        f"{large.operations}",
    )


def event_for(name: str, account_sid: str) -> dict[str, Any]:
    """An events/ authorizer example aimed at `account_sid` (path, parameters, methodArn): the
    authorizer's policy is for the one request it is asked about."""
    text = (EVENTS / f"{name}.json").read_text(encoding="utf-8")
    example = json.loads(text)["pathParameters"]["accountSid"]
    event: dict[str, Any] = json.loads(text.replace(example, account_sid))
    return event


def authorize_rows(fixture: Fixture) -> list[ScaleRow]:
    from apitokens.auth.authorizer import Authorizer

    authorizer = Authorizer(fixture.settings, fixture.repository)
    costs = {}
    for label, count in (("100", 100), ("100000", 100_000)):
        account = f"acc_{label:0>24}"
        event = event_for("authorizer_api_token", account)
        token, _ = fixture.create(account)
        fixture.copies(account, count - 1, lookup_of=token)
        event["headers"]["Authorization"] = f"Bearer {token}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
        authorizer.decide(event)  # the first use writes lastUsedAt; the steady state is read-only
        with measured(fixture.meter) as cost:
            decision = authorizer.decide(event)
        if decision["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            raise RuntimeError("the authorizer refused a valid token")
        costs[label] = cost
    rows = _cost_rows(
        "authorize an API token",
        ("100 tokens", "100,000 tokens"),
        costs["100"],
        costs["100000"],
        f"{costs['100000'].operations}",
    )
    exactly_one = all(cost.requests == 1 and cost.operations == ["get_item"] for cost in costs.values())
    rows[0].detail += f"; exactly one GetItem in each case: {'yes' if exactly_one else 'NO'}"
    return rows


def _accounts(count: int) -> list[str]:
    return [f"acc_{index:024d}" for index in range(count)]


def response_bytes_rows(fixture: Fixture) -> list[ScaleRow]:
    """The authorizer's response for a user of 1 account vs 1,000, through the Authorizer's
    public entry point (decide). The principal comes from a JWT verifier that answers as
    JwksVerifier would for a token naming those accounts: such a JWT is longer than the 8 KiB
    Authorization header the authorizer accepts, so the principal is given, not signed."""
    from apitokens.auth.authorizer import Authorizer
    from apitokens.domain.principal import Principal
    from apitokens.domain.scopes import ALL_SCOPES

    class Verifier:
        def __init__(self, accounts: int) -> None:
            self.accounts = frozenset(f"acc_{index:024d}" for index in range(accounts))

        def principal(self, token: str) -> Principal:  # noqa: ARG002 - the Protocol's signature
            return Principal(type="user", id="user_bench", account_sids=self.accounts, scopes=ALL_SCOPES)

    event = event_for("authorizer_jwt", f"acc_{0:024d}")  # an account of both principals
    event["headers"]["Authorization"] = "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"  # shaped like a JWT
    event["multiValueHeaders"]["Authorization"] = [event["headers"]["Authorization"]]
    sizes = {}
    for count in (1, 1_000):
        authorizer = Authorizer(fixture.settings, fixture.repository, jwt_verifier=functools.partial(Verifier, count))
        sizes[count] = len(json.dumps(authorizer.decide(event), separators=(",", ":")).encode())
    return [
        ScaleRow(
            "authorizer response (user)",
            "bytes",
            "1 account",
            "1,000 accounts",
            sizes[1],
            sizes[1_000],
            8 * KIB,
            absolute=True,
            detail="principalId, policy and context as compact JSON",
        )
    ]


def audit_page_rows(fixture: Fixture) -> list[ScaleRow]:
    from audit import audit_page_rows as rows  # bench/audit.py, which imports this module

    return rows(fixture)


def expiry_sweep_rows(fixture: Fixture) -> list[ScaleRow]:
    from audit import expiry_rows

    return expiry_rows(fixture)


ROWS: list[Callable[[Fixture], list[ScaleRow]]] = [
    list_rows,
    authorize_rows,
    response_bytes_rows,
    create_rows,
    audit_page_rows,  # audit page reads at 10 vs 100,000 events
    expiry_sweep_rows,  # expiry sweep reads at 100 vs 100,000 tokens
]


def run() -> tuple[list[ScaleRow], float]:
    """Every row, each on a moto table of its own; returns the rows and the seconds spent
    making data.

    Each row makes its own accounts, so a table of its own changes no figure, but it keeps
    moto's cost per request to the row's own data: moto scans a whole index per Query, so on one
    shared table every row after the 100,000-item ones would pay for their data in time and
    memory. lean_moto: a create beside 100,000 items costs one create, not a copy of the table."""
    from lean_moto import lean_moto
    from moto import mock_aws

    lean_moto()
    rows: list[ScaleRow] = []
    seeding = 0.0
    for make_rows in ROWS:
        with mock_aws():
            fixture = Fixture()
            rows += make_rows(fixture)
            seeding += fixture.seconds_seeding
    return rows, seeding


def table(rows: list[ScaleRow]) -> str:
    header = ("operation", "measure", "small", "large", "small", "large", "ratio", "goal", "holds")
    lines = [header]
    for row in rows:
        goal = f"each <= {row.goal:,.0f}" if row.absolute else f"<= {row.goal:g}"
        lines.append(
            (
                row.name,
                row.measure,
                row.small_case,
                row.large_case,
                f"{row.small:,.1f}".removesuffix(".0"),
                f"{row.large:,.1f}".removesuffix(".0"),
                f"{row.ratio:.2f}",
                goal,
                ("yes" if row.holds else "NO") + (" (ill-posed, see below)" if row.ill_posed else ""),
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)
