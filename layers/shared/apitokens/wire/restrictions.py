"""The wire types of a token's restrictions and annotations: allowedIps (CIDR blocks) and
metadata (string values handed to the backend)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from apitokens.domain import networks
from apitokens.domain.records import metadata_json

METADATA_MAX_ENTRIES = 20
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,40}$"
METADATA_VALUE_MAX_LENGTH = 1000
# The whole object as compact JSON, UTF-8: what the authorizer context carries.
METADATA_MAX_BYTES = 4096


def _metadata_size(value: dict[str, str]) -> dict[str, str]:
    size = len(metadata_json(value).encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {METADATA_MAX_BYTES}")
    return value


def _canonical_networks(value: list[str]) -> list[str]:
    blocks = list(networks.canonical(value))
    if len(set(blocks)) != len(blocks):
        raise ValueError("must not repeat a network")
    return blocks


MetadataKey = Annotated[str, StringConstraints(pattern=METADATA_KEY_PATTERN)]
MetadataValue = Annotated[str, Field(max_length=METADATA_VALUE_MAX_LENGTH)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(
        max_length=METADATA_MAX_ENTRIES,
        description=f"At most {METADATA_MAX_ENTRIES} string values, keys of 1-40 letters, digits, `_`, `-` or `.`, "
        f"values of at most {METADATA_VALUE_MAX_LENGTH} characters, {METADATA_MAX_BYTES} bytes in all as JSON. "
        "Handed to the backend by the authorizer (context `metadata`, a JSON string); visible to everyone who can "
        "read the account's tokens: never a secret.",
    ),
    AfterValidator(_metadata_size),
]
AllowedIps = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=networks.MAX_NETWORKS,
        description=f"1-{networks.MAX_NETWORKS} distinct CIDR blocks, IPv4 or IPv6 (a bare address is one host); "
        "the token works only from a source IP inside one of them. null: from anywhere.",
        json_schema_extra={"uniqueItems": True},
    ),
    AfterValidator(_canonical_networks),
]
