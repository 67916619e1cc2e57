"""CloudFormation's custom resource protocol for Custom::ApiTokensCatalog: a Create, Update or
Delete request in, the catalog written or removed (apitokens.domain.catalogs, store.catalogs),
and the outcome PUT to the request's ResponseURL. A refused catalog fails the protected API's
deploy with the reason (naming the line at fault) and changes nothing.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import Any

from apitokens.domain import catalogs
from apitokens.domain.errors import DomainError
from apitokens.domain.scopes import CatalogError
from apitokens.store.catalogs import CatalogStore

PROPERTIES = frozenset({"ServiceToken", "Scopes", "Routes"})
# A failed Create's physical id: the Delete CloudFormation then sends removes nothing.
FAILED_CREATE_PREFIX = "failed-"


def catalog_id(event: Mapping[str, Any]) -> str:
    """A new catalog's id: its stack's name and the resource's logical id (unique and stable)."""
    stack_name = str(event.get("StackId", "")).split("/")[1:2] or ["stack"]
    return f"{stack_name[0]}.{event.get('LogicalResourceId', 'Catalog')}"


def _properties(event: Mapping[str, Any]) -> dict[str, Any]:
    properties = dict(event.get("ResourceProperties") or {})
    unknown = sorted(set(properties) - PROPERTIES)
    if unknown:
        raise CatalogError(f"unknown property {unknown[0]!r} (Custom::ApiTokensCatalog takes Scopes and Routes)")
    return properties


def apply(event: Mapping[str, Any], store: CatalogStore) -> tuple[str, str | None]:
    """Carries out the request: (physical id, None) or (physical id, why it failed)."""
    request_type = event.get("RequestType")
    physical_id = catalog_id(event) if request_type == "Create" else str(event.get("PhysicalResourceId", ""))
    try:
        if request_type == "Delete":
            if not physical_id.startswith(FAILED_CREATE_PREFIX):
                store.delete(physical_id)
            return physical_id, None
        properties = _properties(event)
        catalog = catalogs.check(physical_id, properties, store.others(physical_id))
        store.put(catalog, store.find(physical_id))
    except (CatalogError, DomainError) as error:
        failed_id = f"{FAILED_CREATE_PREFIX}{event.get('RequestId', '')}" if request_type == "Create" else physical_id
        return failed_id, str(error)
    return physical_id, None


def response_body(event: Mapping[str, Any], physical_id: str, reason: str | None) -> bytes:
    return json.dumps(
        {
            "Status": "FAILED" if reason else "SUCCESS",
            "Reason": reason or "catalog written",
            "PhysicalResourceId": physical_id,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
        }
    ).encode("utf-8")


def respond(event: Mapping[str, Any], physical_id: str, reason: str | None, timeout: float = 10.0) -> None:
    """PUTs the outcome to the request's pre-signed ResponseURL (an S3 URL CloudFormation made)."""
    url = str(event["ResponseURL"])
    if not url.startswith("https://"):
        raise ValueError("ResponseURL must be an https URL")
    body = response_body(event, physical_id, reason)
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310 - https only, checked above
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - https only, checked above
        answer.read()
