"""`apitokens serve --api TEMPLATE`: the Custom::ApiTokensCatalog resources of a protected API's
template, applied to the local table as CloudFormation applies them through the token stack's
catalog function (the same code: apitokens.wire.custom_resource), before the server answers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from apitokens_dev import template
from apitokens_dev.local_env import REGION, ServeError

CATALOG_TYPE = "Custom::ApiTokensCatalog"


def catalog_resources(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, properties) of each catalog resource of the template at `path`."""
    resources: dict[str, Any] = template.load_template(path).get("Resources") or {}
    return [
        (logical_id, dict(definition.get("Properties") or {}))
        for logical_id, definition in resources.items()
        if isinstance(definition, dict) and definition.get("Type") == CATALOG_TYPE
    ]


def apply_catalogs(paths: tuple[Path, ...], endpoint: str, table: str) -> int:
    """Writes every catalog of the templates at `paths` (a template's stack is named after its
    directory); ServeError naming the template, resource and fault of the first refused one.
    Returns how many were applied."""
    import boto3

    from apitokens.store.catalogs import CatalogStore
    from apitokens.wire.custom_resource import apply, catalog_id

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", REGION))
    store = CatalogStore(client, table)
    applied = 0
    for path in paths:
        stack = f"arn:aws:cloudformation:{REGION}:123456789012:stack/{path.resolve().parent.name}/local"
        for logical_id, properties in catalog_resources(path):
            event: dict[str, Any] = {"StackId": stack, "LogicalResourceId": logical_id, "RequestId": "local"}
            existing = store.find(catalog_id(event))
            event.update(
                RequestType="Update" if existing else "Create",
                PhysicalResourceId=catalog_id(event),
                ResourceProperties={name: value for name, value in properties.items() if name != "ServiceToken"},
            )
            _, reason = apply(event, store)
            if reason:
                raise ServeError(f"{path}: {logical_id}: {reason}")
            applied += 1
    return applied
