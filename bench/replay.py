"""lastUsedAt bookkeeping under load: 60,000 authorizations over 100 tokens in a simulated
10 minutes, through the real Authorizer, TokenRepository and botocore client.

Tokens are created by the real service against moto (so their items are exactly what production
stores), copied into bench/dynamo.FakeDynamo, and replayed with the Authorizer's clock injected.
A shorter replay runs against moto and against the fake alike and must give the same count: the
fake's condition evaluation is checked against moto's in every run. API Gateway's authorizer
cache (AuthorizerCacheTtl) is simulated in front of the authorizer: a cached decision means no
invocation, no read and no write.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import EVENTS, TABLE_NAME, lambda_environment
from dynamo import FakeDynamo, item_size

# 2030-12-01T14:30:00Z, the requestTime of the events/ files (before the example's expiresAt).
START = 1_922_279_400.0


@dataclass
class Seeded:
    tokens: list[str]
    digests: list[str]
    items: list[dict[str, Any]]
    typical_lookup: dict[str, Any]
    typical_token: dict[str, Any]
    largest_lookup: dict[str, Any]
    largest_token: dict[str, Any]


@dataclass
class ReplayResult:
    authorizations: int
    tokens: int
    seconds: float
    cache_ttl: int
    invocations: int = 0
    reads: int = 0
    writes: int = 0  # TransactWriteItems calls for lastUsedAt (each updates two items)
    new_ip_events: int = 0  # of those, the ones that also put a token.used_from_new_ip event
    new_ip_event_bytes_max: int = 0  # the largest of those events, as DynamoDB counts its size
    cancelled: int = 0
    writes_per_token_max: int = 0
    shortest_gap_seconds: float = 0.0
    denied: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def seed(count: int, moto_client: Any, accounts: int = 4) -> Seeded:
    """`count` tokens like the create_token example (and one as large as the API allows),
    created through apitokens.rules.service against moto; returns their values and stored items."""
    import json

    from apitokens.domain import tokens
    from apitokens.domain.principal import Principal
    from apitokens.domain.scopes import ALL_SCOPES
    from apitokens.rules import service
    from apitokens.settings import Settings
    from apitokens.store.repository import TokenRepository
    from apitokens.wire.models import CreateTokenRequest

    settings = Settings.from_env(lambda_environment("create_token"))
    repository = TokenRepository(moto_client, settings.table_name)
    example = json.loads(json.loads((EVENTS / "create_token.json").read_text(encoding="utf-8"))["body"])
    # The example's scopes plus tokens:read, so the events' GET route is allowed, not denied.
    example["scopes"] = [*example["scopes"], "tokens:read"]
    now = datetime.fromtimestamp(START - 86_400, UTC)
    values = []
    for index in range(count):
        account = f"acc_{index % accounts:024d}"
        principal = Principal(type="user", id="user_bench", account_sids=frozenset({account}), scopes=ALL_SCOPES)
        request = CreateTokenRequest.model_validate_json(json.dumps(example))
        values.append(service.create_token(repository, settings, principal, account, request.command(), now=now).secret)
    # The largest item the API accepts: 100-character name, 500-character description, every
    # scope, an expiry; 4-byte UTF-8 characters (an emoji is a valid character here).
    largest_account = "acc_" + "L" * 24
    principal = Principal(type="user", id="user_bench", account_sids=frozenset({largest_account}), scopes=ALL_SCOPES)
    largest_request = CreateTokenRequest.model_validate_json(
        json.dumps(
            {
                "name": "\U0001f511" * 100,
                "description": "\U0001f511" * 500,
                "scopes": sorted(ALL_SCOPES),
                "expiresAt": example["expiresAt"],
            }
        )
    )
    largest = service.create_token(repository, settings, principal, largest_account, largest_request.command(), now=now)
    from apitokens_dev.embedded_db import scan_table

    items = scan_table(moto_client, TABLE_NAME)
    digests = [tokens.digest(value) for value in values]

    def lookup_of(digest: str) -> dict[str, Any]:
        return next(item for item in items if item["PK"]["S"] == f"SECRET#{digest}")

    def token_of(lookup: dict[str, Any]) -> dict[str, Any]:
        return next(
            item
            for item in items
            if item.get("sid", {}).get("S") == lookup["tokenSid"]["S"] and item["PK"]["S"].startswith("ACCOUNT#")
        )

    typical_lookup = lookup_of(digests[0])
    largest_lookup = lookup_of(tokens.digest(largest.secret))
    return Seeded(
        tokens=values,
        digests=digests,
        items=items,
        typical_lookup=typical_lookup,
        typical_token=token_of(typical_lookup),
        largest_lookup=largest_lookup,
        largest_token=token_of(largest_lookup),
    )


# Each request comes from one of a few clients, as a token's users do (a CI runner pool, a
# laptop): the touch then records recentClients, and a first use from an IP also writes its
# token.used_from_new_ip event in the same transaction, as in production.
CLIENT_IPS = tuple(f"198.51.100.{number}" for number in range(1, 9))


def _client_event(draw: random.Random) -> dict[str, Any]:
    ip = CLIENT_IPS[draw.randrange(len(CLIENT_IPS))]
    return {"requestContext": {"identity": {"sourceIp": ip}}, "headers": {"User-Agent": "bench-client/1.0"}}


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def replay(
    client: Any,
    fake: FakeDynamo | None,
    token_values: list[str],
    *,
    authorizations: int,
    seconds: float,
    cache_ttl: int = 0,
    seed_value: int = 6,
) -> ReplayResult:
    """Authorizations evenly spaced over `seconds`, each by a token drawn at random (seeded),
    through Authorizer.token_principal with the clock at the request's simulated time.
    `client` is answered by `fake` when given, else by moto."""
    from apitokens.auth.authorizer import Authorizer
    from apitokens.domain.errors import Unauthenticated
    from apitokens.settings import Settings
    from apitokens.store.repository import TokenRepository

    settings = Settings.from_env(lambda_environment("authorizer"))
    clock = _Clock()
    authorizer = Authorizer(settings, TokenRepository(client, settings.table_name), clock=clock)
    result = ReplayResult(authorizations, len(token_values), seconds, cache_ttl)
    draw = random.Random(seed_value)
    cached_until: dict[str, float] = {}
    writes_before = fake.calls["TransactWriteItems"] if fake else 0
    recorded: list[dict[str, Any]] = []

    def remember(params: dict[str, Any], **_: Any) -> None:
        recorded.append(params)

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", remember, unique_id="bench")
    try:
        for index in range(authorizations):
            clock.now = START + index * seconds / authorizations
            token = token_values[draw.randrange(len(token_values))]
            if cache_ttl and cached_until.get(token, 0.0) > clock.now:
                continue  # API Gateway answers from its cache; the authorizer is not invoked
            result.invocations += 1
            result.reads += 1
            try:
                authorizer.token_principal(token, _client_event(draw))
            except Unauthenticated:
                result.denied += 1
                continue
            cached_until[token] = clock.now + cache_ttl
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="bench")
    result.writes = len(recorded)
    result.new_ip_events = sum(any("Put" in entry for entry in request["TransactItems"]) for request in recorded)
    result.new_ip_event_bytes_max = max(
        (
            item_size(entry["Put"]["Item"])
            for request in recorded
            for entry in request["TransactItems"]
            if "Put" in entry
        ),
        default=0,
    )
    if fake is not None:
        result.cancelled = fake.cancelled
        if fake.calls["TransactWriteItems"] - writes_before != result.writes:
            raise RuntimeError("the fake saw other TransactWriteItems than the repository sent")
    times: dict[str, list[float]] = defaultdict(list)
    for request in recorded:
        update = request["TransactItems"][0]["Update"]
        stamp = update["ExpressionAttributeValues"][":now"]["S"]
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        times[update["Key"]["PK"]["S"]].append(moment)
    result.writes_per_token_max = max((len(moments) for moments in times.values()), default=0)
    gaps = [b - a for moments in times.values() for a, b in itertools.pairwise(moments)]
    result.shortest_gap_seconds = min(gaps, default=0.0)
    return result


@dataclass
class Sizes:
    """Item sizes in bytes as DynamoDB counts them, from items the real code stored."""

    lookup_typical: int
    lookup_typical_touched: int
    token_typical: int
    token_typical_touched: int
    lookup_largest_touched: int
    token_largest_touched: int


def sizes(seeded: Seeded, fake: FakeDynamo) -> Sizes:
    def touched(item: dict[str, Any]) -> int:
        current = fake.get(item)
        return item_size(current if current is not None else {**item, "lastUsedAt": {"S": "2030-12-01T14:30:00.000Z"}})

    def with_last_used(item: dict[str, Any]) -> int:
        return item_size({**item, "lastUsedAt": {"S": "2030-12-01T14:30:00.000Z"}})

    return Sizes(
        lookup_typical=item_size(seeded.typical_lookup),
        lookup_typical_touched=touched(seeded.typical_lookup),
        token_typical=item_size(seeded.typical_token),
        token_typical_touched=touched(seeded.typical_token),
        lookup_largest_touched=with_last_used(seeded.largest_lookup),
        token_largest_touched=with_last_used(seeded.largest_token),
    )


def run(
    *, tokens: int, authorizations: int, seconds: float, cache_ttls: tuple[int, ...], check_authorizations: int
) -> tuple[Seeded, dict[int, ReplayResult], ReplayResult, ReplayResult, Sizes]:
    """Seeds through moto, checks the fake against moto on a short replay, then replays the full
    load once per cache TTL. Returns what was seeded, the replays by TTL, the two check replays, sizes."""
    import boto3
    from moto import mock_aws

    from apitokens.settings import Settings
    from apitokens.store.driver import create_client
    from apitokens_dev.template import table_create_arguments

    settings = Settings.from_env(lambda_environment("authorizer"))
    with mock_aws():
        moto_client = boto3.client("dynamodb", region_name="us-east-1")
        moto_client.create_table(**table_create_arguments(TABLE_NAME))
        seeded = seed(tokens, moto_client)

        check_tokens = seeded.tokens[:10]
        check_fake = FakeDynamo(TABLE_NAME)
        for item in seeded.items:
            check_fake.put(item)
        fake_client = create_client(settings)
        check_fake.attach(fake_client)
        check_seconds = 240.0
        on_fake = replay(
            fake_client, check_fake, check_tokens, authorizations=check_authorizations, seconds=check_seconds
        )
        on_moto = replay(
            create_client(settings), None, check_tokens, authorizations=check_authorizations, seconds=check_seconds
        )

    results: dict[int, ReplayResult] = {}
    last_fake = FakeDynamo(TABLE_NAME)
    for ttl in cache_ttls:
        fake = FakeDynamo(TABLE_NAME)
        for item in seeded.items:
            fake.put(item)
        client = create_client(settings)
        fake.attach(client)
        results[ttl] = replay(
            client, fake, seeded.tokens, authorizations=authorizations, seconds=seconds, cache_ttl=ttl
        )
        if ttl == 0:
            last_fake = fake
    return seeded, results, on_fake, on_moto, sizes(seeded, last_fake)
