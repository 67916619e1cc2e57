"""The single table's consistency rules, and snapshots of it to compare before and after."""

from __future__ import annotations

from collections import Counter
from typing import Any

from apitokens.store import keys
from tests.harness.lambdas import scan_table


def _value(item: dict[str, Any], name: str) -> Any:
    """An attribute as a plain value; absent and NULL are both None."""
    attribute = item.get(name)
    if attribute is None or "NULL" in attribute:
        return None
    kind, value = next(iter(attribute.items()))
    if kind == "L":
        return tuple(_value({"v": entry}, "v") for entry in value)
    return value


def token_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item["SK"]["S"].startswith(keys.TOKEN_SK_PREFIX)]


def consistency_problems(items: list[dict[str, Any]]) -> list[str]:
    """What breaks the single-table invariants: every token item has its lookup item (and the
    other way round), both agree on what the authorizer reads, and each account's META
    tokenCount is its number of token items. An empty list means consistent."""
    problems: list[str] = []
    tokens = {_value(item, "secretDigest"): item for item in token_items(items)}
    lookups = {item["PK"]["S"].removeprefix("SECRET#"): item for item in items if item["PK"]["S"].startswith("SECRET#")}
    problems += _lookup_copy_problems(lookups)
    for digest, token in tokens.items():
        sid = _value(token, "sid")
        lookup = lookups.get(digest)
        if lookup is None:
            problems.append(f"token {sid} has no lookup item")
            continue
        for name in ("accountSid", "scopes", "expiresAt", "isActive", "lastUsedAt"):
            if _value(token, name) != _value(lookup, name):
                problems.append(f"token {sid} and its lookup item disagree on {name}")
        if _value(lookup, "tokenSid") != sid:
            problems.append(f"lookup item of {sid} names {_value(lookup, 'tokenSid')}")
    for digest, lookup in lookups.items():
        if digest not in tokens:
            problems.append(f"lookup item of {_value(lookup, 'tokenSid')} has no token item")
    return problems + _count_problems(items, tokens)


def _lookup_copy_problems(lookups: dict[str, dict[str, Any]]) -> list[str]:
    """Lookup copies (SECRET#<digest>#<i>) must hold exactly what copy 0 holds; the copies are
    taken out of `lookups`, which keeps copy 0 of each token."""
    problems: list[str] = []
    for name, copy in list(lookups.items()):
        digest, _, index = name.partition("#")
        if index:
            del lookups[name]
            original = lookups.get(digest)
            same = original is not None and all(
                _value(copy, field) == _value(original, field) for field in ("tokenSid", "isActive", "expiresAt")
            )
            if not same:
                problems.append(f"lookup copy {index} of {_value(copy, 'tokenSid')} differs from copy 0")
    return problems


def _count_problems(items: list[dict[str, Any]], tokens: dict[Any, dict[str, Any]]) -> list[str]:
    """Each account's META tokenCount must be its number of token items."""
    counts = {
        item["PK"]["S"].removeprefix("ACCOUNT#"): int(item["tokenCount"]["N"])
        for item in items
        if item["SK"]["S"] == keys.ACCOUNT_META_SK
    }
    per_account = Counter(_value(token, "accountSid") for token in tokens.values())
    return [
        f"{account}: tokenCount {counts.get(account)} but {per_account[account]} token items"
        for account in sorted(set(per_account) | set(counts))
        if counts.get(account, 0) != per_account[account]
    ]


def snapshot(client: Any) -> list[dict[str, Any]]:
    return sorted(scan_table(client), key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """What differs between two snapshots, item by item (empty: nothing changed)."""
    old = {(item["PK"]["S"], item["SK"]["S"]): item for item in before}
    new = {(item["PK"]["S"], item["SK"]["S"]): item for item in after}
    described = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            described.append(f"added {key}")
        elif key not in new:
            described.append(f"removed {key}")
        elif old[key] != new[key]:
            names = sorted(
                name for name in old[key].keys() | new[key].keys() if old[key].get(name) != new[key].get(name)
            )
            described.append(f"changed {key}: {', '.join(names)}")
    return described
