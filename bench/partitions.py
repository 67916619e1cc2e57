"""The partition model: DynamoDB's per-key limits replayed against traffic traces.

DynamoDB serves at most 3,000 read units and 1,000 write units a second for one partition key.
Adaptive capacity (split for heat) can give a hot key a partition of its own, but never more than
those limits, so the model is exactly that: every partition key has its own budget per simulated
second, and a request that would take any key it touches past its budget is throttled
(ProvisionedThroughputExceededException, no retries: the figure counts every throttled request).

The REAL code runs: the Authorizer, the TokenRepository, service functions and Powertools'
idempotency, on moto, through a real botocore client. The model is a `before-call` hook on that
client (the hook botocore's Stubber uses): it charges each request's units to the keys it names
and answers with a throttling error instead of calling moto when a budget is spent.

Sampling, to keep `make bench` fast: each simulated second runs SAMPLES real requests drawn from
the trace's distribution, each standing for rate / SAMPLES requests (its read units are charged
that many times). Writes that happen once per event, not per request (the once-a-minute touch, a
revocation, each create's own writes in the creates trace), are charged once each. A second's
requests are spread evenly over it; bursts inside a second are not modelled.

moto's TransactWriteItems deep-copies the whole table once per item of the transaction (for its
rollback), all before it writes anything: with thousands of lookup copies in the table that is
most of the run. moto runs lean (bench/lean_moto.py: the local server's item-wise rollback and its
other moto fixes), so the four traces run in a few minutes (the run prints each one's time).

Units: a strongly consistent GetItem of an item up to 4 KB is 1 read unit (every item here is
under 1 KB; checked); each item of a TransactWriteItems is 2 write units per started KB; a
PutItem/UpdateItem/DeleteItem is 1 write unit per started KB (Powertools' records).

Run alone: `.venv/bin/python bench/partitions.py`.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from common import use_moto_environment
from dynamo import item_size, read_units, transactional_write_units, write_units
from lean_moto import lean_moto

from apitokens.domain.commands import UpdateToken

TABLE = "apitokens-bench-partitions"
READ_UNITS_PER_KEY = 3_000
WRITE_UNITS_PER_KEY = 1_000
# Real requests per simulated second. With 100, each of the hot token's 8 copies gets 12.5 reads
# a sample second (1,250 RCU scaled); sampling noise reaching its 3,000 RCU would take 30 (5 sigma).
SAMPLES = 100
ACCOUNT = "acc_" + "h" * 24
HOT_RATE = 10_000
HOT_SECONDS = 60
ZIPF_TOKENS = 100_000
ZIPF_RATE = 50_000
ZIPF_SECONDS = 5
ZIPF_EXPONENT = 1.0
CREATE_RATE = 1_000
CREATE_ACCOUNTS = 500
CREATE_SECONDS = 2
# Fewer real creates than reads: moto deep-copies the table for each transaction item.
CREATE_SAMPLES = 50
START = 1_900_000_000.0
# The GSI partition keys a Put can carry (keys.py): charged as keys of their own.
_INDEX_KEYS = ("GSI1PK", "GSI2PK", "GSI3PK")


@dataclass
class Trace:
    name: str
    requests: float = 0.0
    throttled: float = 0.0
    allowed_after_revocation: float = 0.0
    hottest_read_key: str = ""
    hottest_read_units: float = 0.0
    hottest_write_key: str = ""
    hottest_write_units: float = 0.0
    real_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.throttled == 0 and self.allowed_after_revocation == 0


class PartitionModel:
    """Per-key read and write budgets per simulated second, enforced at botocore's before-call."""

    def __init__(self, client: Any) -> None:
        self.second = 0
        self.weight = 1.0  # how many requests the current real read stands for
        self.write_weight = 1.0
        # How many writes a real write to a key stands for, by key (default: write_weight).
        self.write_weight_of: Callable[[str], float] | None = None
        self.reads: defaultdict[tuple[int, str], float] = defaultdict(float)
        self.writes: defaultdict[tuple[int, str], float] = defaultdict(float)
        self.throttled = 0.0
        self.largest_item = 0
        self.last_read_key = ""
        client.meta.events.register("before-call.dynamodb", self._charge, unique_id="bench-partitions")
        client.meta.events.register("after-call.dynamodb.GetItem", self._measure, unique_id="bench-partitions-size")

    def reset(self) -> None:
        self.reads.clear()
        self.writes.clear()
        self.throttled = 0.0

    def _charge(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        body = json.loads(params["body"] or b"{}")
        reads: defaultdict[str, float] = defaultdict(float)
        writes: defaultdict[str, float] = defaultdict(float)
        name = model.name
        if name == "GetItem":
            self.last_read_key = body["Key"]["PK"]["S"]
            # Every item here is under 1 KB (checked): one read unit, half when eventually consistent.
            reads[body["Key"]["PK"]["S"]] += self.weight * read_units(1, consistent=bool(body.get("ConsistentRead")))
        elif name == "Query":
            pk = next(iter(body["ExpressionAttributeValues"].values()))["S"]
            reads[pk] += self.weight * read_units(1)
        elif name == "TransactWriteItems":
            self._charge_transaction(body["TransactItems"], writes)
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            key = body["Item"] if "Item" in body else body["Key"]
            size = item_size(body["Item"]) if "Item" in body else 1
            writes[key["PK"]["S"]] += self._write_weight(key["PK"]["S"]) * write_units(size)
        over = any(self.reads[(self.second, pk)] + units > READ_UNITS_PER_KEY for pk, units in reads.items()) or any(
            self.writes[(self.second, pk)] + units > WRITE_UNITS_PER_KEY for pk, units in writes.items()
        )
        if over:
            self.throttled += self.weight if name in ("GetItem", "Query") else self.write_weight
            return _throttle(name)
        for pk, units in reads.items():
            self.reads[(self.second, pk)] += units
        for pk, units in writes.items():
            self.writes[(self.second, pk)] += units
        return None

    def _charge_transaction(self, entries: list[dict[str, Any]], writes: defaultdict[str, float]) -> None:
        """The write units of a TransactWriteItems, charged to the keys its items and their
        index writes go to."""
        for entry in entries:
            ((_, action),) = entry.items()
            key = action["Item"] if "Item" in action else action["Key"]
            size = item_size(action["Item"]) if "Item" in action else 1
            writes[key["PK"]["S"]] += self._write_weight(key["PK"]["S"]) * transactional_write_units(size)
            # A Put's index keys are in the request: its GSI write (1 WCU per KB of the
            # projection, counted on the whole item here) goes to that index's key.
            for index_key in _INDEX_KEYS if "Item" in action else ():
                if index_key in action["Item"]:
                    pk = f"{index_key}:{action['Item'][index_key]['S']}"
                    writes[pk] += self._write_weight(pk) * write_units(size)

    def _write_weight(self, pk: str) -> float:
        return self.write_weight if self.write_weight_of is None else self.write_weight_of(pk)

    def _measure(self, parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("Item"):
            self.largest_item = max(self.largest_item, item_size(parsed["Item"]))

    def hottest(self, trace: Trace) -> None:
        if self.reads:
            (_, pk), units = max(self.reads.items(), key=lambda entry: entry[1])
            trace.hottest_read_key, trace.hottest_read_units = _kind(pk), units
        if self.writes:
            (_, pk), units = max(self.writes.items(), key=lambda entry: entry[1])
            trace.hottest_write_key, trace.hottest_write_units = _kind(pk), units


def _kind(pk: str) -> str:
    """A key's shape for the report (`SECRET#<digest>#3`, `ACCOUNT#<acc>`...)."""
    parts = pk.split("#")
    if parts[0] == "GSI3PK:EXPIRES":
        return "#".join([parts[0], "<day>", *(f"<shard {part}>" for part in parts[2:])])
    return "#".join([parts[0], *("<copy " + part + ">" if part.isdigit() else "<id>" for part in parts[1:])])


def _copy_of(pk: str) -> str:
    """Which lookup copy a `SECRET#<digest>[#<i>]` key is."""
    parts = pk.split("#")
    return parts[2] if len(parts) > 2 else "0"


def _throttle(operation: str) -> Any:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    parsed = {
        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "partition model: key over budget"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return AWSResponse("https://dynamodb.bench", 400, HTTPHeaders(), None), parsed


class World:
    """moto's table, one client without retries (a throttle is counted, not retried away), the
    product's repository and authorizer on it, and the model on that client."""

    def __init__(self, lookup_copies: int | None = None) -> None:
        import boto3
        from botocore.config import Config

        from apitokens.auth.authorizer import Authorizer
        from apitokens.settings import Settings
        from apitokens.store.repository import TokenRepository
        from apitokens_dev.template import table_create_arguments

        settings = Settings.from_env(os.environ)
        if lookup_copies is not None:
            from dataclasses import replace

            settings = replace(settings, lookup_copies=lookup_copies)
        self.settings = settings
        self.client = boto3.client(
            "dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
        )
        self.client.create_table(**table_create_arguments(TABLE))
        self.repository = TokenRepository(
            self.client,
            TABLE,
            settings.audit_retention_days,
            lookup_copies=settings.lookup_copies,
            read_copies=settings.lookup_read_copies,
        )
        self.now = START
        self.authorizer = Authorizer(settings, self.repository, clock=lambda: self.now)
        self.model = PartitionModel(self.client)
        self._rng = random.Random(11)

    def create(self, account: str) -> tuple[str, str]:
        from apitokens.domain.principal import Principal
        from apitokens.domain.scopes import ALL_SCOPES
        from apitokens.rules import service
        from apitokens.wire.models import CreateTokenRequest

        principal = Principal("user", "user_bench", frozenset({account}), ALL_SCOPES)
        request = CreateTokenRequest.model_validate({"name": "bench", "scopes": ["tokens:read"]})
        created = service.create_token(self.repository, self.settings, principal, account, request.command())
        return created.record.sid, created.secret

    def lookalikes(self, count: int) -> list[str]:
        """`count` token values whose items exist: one token created through the service, and its
        token item and lookup copies put again under each new value's sid and digest (moto's own
        put), so the touch finds every item it updates."""
        from moto.dynamodb.models import dynamodb_backends

        from apitokens.domain import ids, tokens
        from apitokens.store import keys

        first_sid, first = self.create(ACCOUNT)
        backend = dynamodb_backends["123456789012"]["us-east-1"]
        lookup = self.client.get_item(TableName=TABLE, Key=keys.secret_key(tokens.digest(first)))["Item"]
        token = self.client.get_item(TableName=TABLE, Key=keys.token_key(ACCOUNT, first_sid))["Item"]
        values = [first]
        for index in range(1, count):
            # 10 of the drawn tokens an account: 100,000 tokens are many accounts' (the default
            # MaxTokensPerAccount is 100), and moto copies the account's partition per touch.
            account = f"acc_z{index // 10:023d}"
            secret = tokens.generate(self.settings.token_prefix)
            sid = ids.new_token_sid()
            digest = tokens.digest(secret)
            owner = {"accountSid": {"S": account}}
            backend.put_item(
                TABLE,
                {**token, **owner, **keys.token_key(account, sid), "sid": {"S": sid}, "secretDigest": {"S": digest}},
            )
            for copy in range(self.repository.lookup_copies):
                backend.put_item(
                    TABLE, {**lookup, **owner, **keys.secret_copy_key(digest, copy), "tokenSid": {"S": sid}}
                )
            values.append(secret)
        return values

    def _request(self) -> dict[str, Any]:
        """The authorizer's request as far as the touch reads it: one of a few source IPs, so
        touches write recent clients and, for a new IP, a token.used_from_new_ip event."""
        ip = f"198.51.100.{self._rng.randrange(1, 4)}"
        return {"headers": {"User-Agent": "bench-partitions"}, "requestContext": {"identity": {"sourceIp": ip}}}

    def authorize(self, secret: str) -> bool | None:
        """True if allowed, False if refused, None if the store throttled (AUTHORIZER_FAILURE)."""
        from apitokens.domain.errors import StoreUnavailable, Unauthenticated

        try:
            self.authorizer.token_principal(secret, self._request())
        except Unauthenticated:
            return False
        except StoreUnavailable:
            return None
        return True


def hot_token(lookup_copies: int | None = None, seconds: int = HOT_SECONDS) -> Trace:
    """One token at HOT_RATE requests a second; deactivated in the middle of the trace. Every
    request sampled after the deactivation's response must be refused."""
    world = World(lookup_copies)
    copies = world.repository.lookup_copies
    trace = Trace(f"one token, {HOT_RATE:,} req/s, {seconds} s, {copies} lookup cop{'y' if copies == 1 else 'ies'}")
    sid, secret = world.create(ACCOUNT)
    world.model.reset()
    world.model.weight = HOT_RATE / SAMPLES
    revoke_at = (seconds // 2, SAMPLES // 2)
    revoked = False
    refused_copies: set[str] = set()
    for second in range(seconds):
        world.model.second = second
        for index in range(SAMPLES):
            world.now = START + second + index / SAMPLES
            if (second, index) == revoke_at:
                world.repository.update(ACCOUNT, sid, UpdateToken("bench", False), now="2030-01-01T00:00:00.000Z")
                revoked = True
            outcome = world.authorize(secret)
            trace.real_calls += 1
            trace.requests += world.model.weight
            if outcome is None:
                trace.throttled += world.model.weight
            elif outcome and revoked:
                trace.allowed_after_revocation += world.model.weight
            elif revoked:
                refused_copies.add(_copy_of(world.model.last_read_key))
    world.model.hottest(trace)
    copy_reads = [units for (_, pk), units in world.model.reads.items() if pk.startswith("SECRET#")]
    trace.notes.append(
        f"deactivated at {revoke_at[0]}.{revoke_at[1] * 1000 // SAMPLES:03d} s; every request after it refused, "
        f"reading {len(refused_copies)} of {copies} copies; largest item read {world.model.largest_item} B"
    )
    trace.notes.append(
        f"reads per copy and second: mean {sum(copy_reads) / (copies * seconds):,.0f} RCU, "
        f"sampled max {max(copy_reads):,.0f} (each sample stands for {world.model.weight:g} requests)"
    )
    return trace


def zipf_tokens() -> Trace:
    """ZIPF_TOKENS tokens at ZIPF_RATE requests a second, token k drawn with weight 1/k^s. Only
    the tokens the sample draws exist: one is created through the service (the items production
    stores), the others are its lookup copies under their own token values' digests, put straight
    into moto's table (its transactions deep-copy the table per item: hundreds of creates would
    take minutes)."""
    world = World()
    trace = Trace(f"{ZIPF_TOKENS:,} tokens, Zipf s={ZIPF_EXPONENT}, {ZIPF_RATE:,} req/s, {ZIPF_SECONDS} s")
    rng = random.Random(15)
    weights = [1 / (rank**ZIPF_EXPONENT) for rank in range(1, ZIPF_TOKENS + 1)]
    draws = [rng.choices(range(ZIPF_TOKENS), weights=weights, k=SAMPLES) for _ in range(ZIPF_SECONDS)]
    needed = sorted({rank for second in draws for rank in second})
    secrets = world.lookalikes(len(needed))
    secrets_by_rank = dict(zip(needed, secrets, strict=True))
    world.model.reset()
    world.model.weight = ZIPF_RATE / SAMPLES
    top_share = weights[0] / sum(weights)
    for second, ranks in enumerate(draws):
        world.model.second = second
        for index, rank in enumerate(ranks):
            world.now = START + second + index / SAMPLES
            outcome = world.authorize(secrets_by_rank[rank])
            trace.real_calls += 1
            trace.requests += world.model.weight
            if outcome is None:
                trace.throttled += world.model.weight
    world.model.hottest(trace)
    trace.notes.append(
        f"hottest token: {top_share:.1%} of requests = {top_share * ZIPF_RATE:,.0f} req/s over "
        f"{world.repository.read_copies} copies; {len(needed):,} distinct tokens drawn"
    )
    return trace


def keyed_creates() -> Trace:
    """CREATE_RATE creates a second with an Idempotency-Key and a 30-day expiry (so all expire on
    one day: the expiry index's day shards), over CREATE_ACCOUNTS accounts, each through
    IdempotentCreate (Powertools' records) and the service. CREATE_SAMPLES creates a second run
    for real, each in an account of its own that second: its writes to that account's keys stand
    for the account's CREATE_RATE / CREATE_ACCOUNTS creates, its writes to keys every account
    shares (the expiry index's day shards) for CREATE_RATE / CREATE_SAMPLES creates."""
    from apitokens.domain.errors import DomainError
    from apitokens.domain.principal import Principal
    from apitokens.domain.scopes import ALL_SCOPES
    from apitokens.domain.timeutil import timestamp_from_epoch
    from apitokens.rules.idempotency import IdempotentCreate
    from apitokens.store import keys
    from apitokens.wire.models import CreateTokenRequest

    world = World()
    trace = Trace(f"{CREATE_RATE:,} keyed creates/s over {CREATE_ACCOUNTS} accounts, {CREATE_SECONDS} s")
    idempotent = IdempotentCreate(world.repository, world.settings)
    expires = timestamp_from_epoch(time.time() + 30 * 86_400)
    body = {"name": "bench", "scopes": ["tokens:read"], "expiresAt": expires}
    request = CreateTokenRequest.model_validate_json(json.dumps(body))
    accounts = [f"acc_{index:024d}" for index in range(CREATE_ACCOUNTS)]
    world.model.reset()
    per_account = CREATE_RATE / CREATE_ACCOUNTS
    per_sample = CREATE_RATE / CREATE_SAMPLES
    world.model.write_weight_of = lambda pk: per_sample if pk.startswith("GSI3PK:") else per_account
    idempotency_units: defaultdict[int, float] = defaultdict(float)

    for second in range(CREATE_SECONDS):
        world.model.second = second
        chosen = [
            accounts[index % CREATE_ACCOUNTS] for index in range(second * CREATE_SAMPLES, (second + 1) * CREATE_SAMPLES)
        ]
        for index, account in enumerate(chosen):
            world.now = START + second + index / CREATE_SAMPLES
            principal = Principal("user", f"user_{index % 7}", frozenset({account}), ALL_SCOPES)
            try:
                idempotent.create(principal, account, request.command(), f"key-{second}-{index}")
            except DomainError:
                trace.throttled += per_sample
            trace.real_calls += 1
            trace.requests += per_sample
        # Every create's idempotency record, on whatever key: what one shared key would take.
        idempotency_units[second] = sum(
            units * per_sample / per_account
            for (sec, pk), units in world.model.writes.items()
            if sec == second and pk.startswith(keys.IDEMPOTENCY_PK_PREFIX)
        )
    world.model.hottest(trace)
    shards = {pk: units for (sec, pk), units in world.model.writes.items() if pk.startswith("GSI3PK:") and sec == 0}
    trace.notes.append(
        f"an account's keys: {per_account:g} creates/s each; the expiry day's {len(shards)} shard keys "
        f"{min(shards.values(), default=0):,.0f} to {max(shards.values(), default=0):,.0f} WCU/s; "
        f"idempotency writes of the whole table {max(idempotency_units.values()):,.0f} WCU/s: what the "
        f"former shared IDEMPOTENCY key would take (limit {WRITE_UNITS_PER_KEY:,})"
    )
    return trace


def operation_units() -> dict[str, dict[str, float]]:
    """Write units of each change and of the touch with the default lookup copies, through the
    service and the authorizer, as the model counts them: the table's items and the GSI writes of
    their Puts (an Update's GSI writes are not in its request: not counted)."""
    from apitokens.domain.principal import Principal
    from apitokens.domain.scopes import ALL_SCOPES
    from apitokens.rules import service
    from apitokens.wire.models import CreateTokenRequest, RollTokenRequest

    world = World()
    units: dict[str, dict[str, float]] = {}

    def measured(name: str, action: Callable[[], Any]) -> Any:
        before = dict(world.model.writes)
        result = action()
        table = index = 0.0
        for key, value in world.model.writes.items():
            added = value - before.get(key, 0.0)
            if key[1].startswith("GSI"):
                index += added
            else:
                table += added
        units[name] = {"table": table, "indexes": index}
        return result

    user = Principal("user", "user_bench", frozenset({ACCOUNT}), ALL_SCOPES)
    body = {"name": "bench", "scopes": ["tokens:read", "tokens:write"]}
    request = CreateTokenRequest.model_validate(body)
    created = measured(
        "create", lambda: service.create_token(world.repository, world.settings, user, ACCOUNT, request.command())
    )
    sid, secret = created.record.sid, created.secret
    expiring = CreateTokenRequest.model_validate_json(json.dumps({**body, "expiresAt": "2099-01-01T00:00:00Z"}))
    measured(
        "create with expiresAt",
        lambda: service.create_token(world.repository, world.settings, user, ACCOUNT, expiring.command()),
    )
    as_token = Principal("token", sid, frozenset({ACCOUNT}), frozenset(body["scopes"]), token_sid=sid)
    child = measured(
        "create by a token",
        lambda: service.create_token(world.repository, world.settings, as_token, ACCOUNT, request.command()),
    )
    event = {"headers": {}, "requestContext": {"identity": {"sourceIp": "198.51.100.1"}}}
    world.model.second = 1
    measured("touch, new IP (event)", lambda: world.authorizer.token_principal(secret, event))
    world.now += 61
    world.model.second = 2
    measured("touch, known IP", lambda: world.authorizer.token_principal(secret, event))

    def update(active: bool) -> Any:
        return world.repository.update(
            ACCOUNT, child.record.sid, UpdateToken("b", active), now="2030-01-01T00:00:00.000Z"
        )

    measured("deactivate", lambda: update(False))
    measured("reactivate", lambda: update(True))
    grace = RollTokenRequest.model_validate({"gracePeriodSeconds": 600})
    rolled = measured(
        "roll with grace",
        lambda: service.roll_token(
            world.repository, world.settings, user, ACCOUNT, child.record.sid, request=grace.command()
        ),
    )
    measured("delete", lambda: world.repository.delete(ACCOUNT, rolled.record.sid, "2030-01-01T00:00:00.000Z"))
    return units


def run() -> dict[str, Any]:
    from moto import mock_aws

    use_moto_environment(TABLE)
    lean_moto()
    random.seed(15)  # the authorizer's choice of copy: the same figures on every run
    traces = []
    for trace in (hot_token, zipf_tokens, keyed_creates):
        started = time.perf_counter()
        with mock_aws():
            result = trace()
        result.notes.append(f"{result.real_calls:,} real calls in {time.perf_counter() - started:.1f} s")
        traces.append(result)
    # The same hot trace with one lookup item (the design before lookup copies), to show the model bites.
    with mock_aws():
        before = hot_token(lookup_copies=1, seconds=5)
    before.notes.append("reference, not a goal: the design before lookup copies")
    with mock_aws():
        operations = operation_units()
    return {
        "traces": [
            {**asdict(trace), "holds": trace.holds, "reference": trace is before} for trace in [*traces, before]
        ],
        "write_units_per_operation": operations,
    }


def report_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        f"Partition model (per key: {READ_UNITS_PER_KEY:,} RCU/s, {WRITE_UNITS_PER_KEY:,} WCU/s; "
        f"{SAMPLES} real requests per simulated second, scaled; goal 0 throttled, 0 allowed after revocation):"
    ]
    for row in results["traces"]:
        verdict = "reference" if row["reference"] else ("holds" if row["holds"] else "DOES NOT HOLD")
        lines.append(f"  {row['name']}: {verdict}")
        lines.append(
            f"    requests {row['requests']:,.0f}, throttled {row['throttled']:,.0f}, "
            f"allowed after revocation {row['allowed_after_revocation']:,.0f}"
        )
        lines.append(
            f"    hottest key: reads {row['hottest_read_units']:,.0f} RCU/s ({row['hottest_read_key'] or 'none'}), "
            f"writes {row['hottest_write_units']:,.0f} WCU/s ({row['hottest_write_key']})"
        )
        lines += [f"    {note}" for note in row["notes"]]
    lines.append("  write units per operation (table items + GSI writes of its Puts), default lookup copies:")
    for name, units in results["write_units_per_operation"].items():
        lines.append(f"    {name:<22} {units['table']:>4.0f} WRU + {units['indexes']:.0f} GSI WCU")
    return lines


if __name__ == "__main__":
    print("\n".join(report_lines(run())))
