"""Reads template.yaml, the single source of the table definition, routes and functions, so that
tests and the local gateway cannot drift from what is deployed."""

from __future__ import annotations

import functools
import gc
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short-form tags (!Ref, !GetAtt, ...) as dicts."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@functools.cache
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    return document


def resource(name: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = (template or load_template())["Resources"]
    return dict(resources[name])


def table_create_arguments(table_name: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    """CreateTable arguments from the TokensTable resource (keys, attributes, billing)."""
    properties = resource("TokensTable", template)["Properties"]
    arguments = {
        "TableName": table_name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties["BillingMode"],
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return arguments


@dataclass(frozen=True)
class FunctionRoute:
    function: str  # logical id
    method: str
    path: str  # API Gateway resource path, e.g. /accounts/{accountSid}/apiTokens
    code_uri: Path
    handler: str  # module.function, relative to code_uri
    # False for a route declared with `Auth: {Authorizer: NONE}` or AWS_IAM: the gateway calls
    # no authorizer (for AWS_IAM it checks a SigV4 signature instead: `iam`).
    authorized: bool = True
    iam: bool = False


def _code(properties: dict[str, Any], root: Path = PROJECT_ROOT) -> tuple[Path, str]:
    return root / str(properties["CodeUri"]), str(properties["Handler"])


def api_routes(
    template: dict[str, Any] | None = None, root: Path = PROJECT_ROOT, kind: str = "Api"
) -> list[FunctionRoute]:
    """The routes of a template's functions: `Api` (REST API) or `HttpApi` events."""
    template = template or load_template()
    routes = []
    for logical_id, definition in template["Resources"].items():
        if definition.get("Type") != "AWS::Serverless::Function":
            continue
        properties = definition["Properties"]
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") != kind:
                continue
            code_uri, handler = _code(properties, root)
            authorizer = (event["Properties"].get("Auth") or {}).get("Authorizer")
            routes.append(
                FunctionRoute(
                    function=logical_id,
                    method=str(event["Properties"]["Method"]).upper(),
                    path=str(event["Properties"]["Path"]),
                    code_uri=code_uri,
                    handler=handler,
                    authorized=authorizer not in ("NONE", "AWS_IAM"),
                    iam=authorizer == "AWS_IAM",
                )
            )
    return routes


@dataclass(frozen=True)
class MockAnswer:
    """What an `x-amazon-apigateway-any-method` with a mock integration answers on its path."""

    path: str
    status: int
    headers: dict[str, str]
    body: str


def any_method_answers(template: dict[str, Any] | None = None) -> list[MockAnswer]:
    """The REST API's catch-all methods of its DefinitionBody (a 405 with Allow where a path
    has no route of the method): static answers, as API Gateway's mock integration gives."""
    template = template or load_template()
    answers = []
    for definition in template["Resources"].values():
        if definition.get("Type") != "AWS::Serverless::Api":
            continue
        paths = ((definition["Properties"].get("DefinitionBody") or {}).get("paths")) or {}
        for path, methods in paths.items():
            integration = (methods.get("x-amazon-apigateway-any-method") or {}).get("x-amazon-apigateway-integration")
            if not integration or integration.get("type") != "mock":
                continue
            response = integration["responses"]["default"]
            headers = {
                name.removeprefix("method.response.header."): str(value).strip("'")
                for name, value in (response.get("responseParameters") or {}).items()
            }
            body = str((response.get("responseTemplates") or {}).get("application/json", ""))
            answers.append(MockAnswer(str(path), int(response["statusCode"]), headers, body))
    return answers


def method_throttling(template: dict[str, Any] | None = None) -> dict[tuple[str, str], tuple[float, int]]:
    """(method, resource path) -> (rate per second, burst) from the API's MethodSettings, with
    parameters at their defaults."""
    template = template or load_template()
    limits: dict[tuple[str, str], tuple[float, int]] = {}
    for definition in template["Resources"].values():
        if definition.get("Type") != "AWS::Serverless::Api":
            continue
        for setting in definition["Properties"].get("MethodSettings") or []:
            # "/~1credentials~1revoke": a separator, then the resource path with "/" escaped as ~1.
            path = str(setting["ResourcePath"]).removeprefix("/").replace("~1", "/")
            rate = _parameter_value(setting.get("ThrottlingRateLimit"), template, {})
            burst = _parameter_value(setting.get("ThrottlingBurstLimit"), template, {})
            if rate is not None and burst is not None:
                limits[(str(setting["HttpMethod"]).upper(), path)] = (float(rate), int(burst))
    return limits


def default_authorizer(template: dict[str, Any] | None = None) -> tuple[str, Path, str]:
    """(logical id, code dir, handler) of the API's default authorizer function."""
    template = template or load_template()
    for definition in template["Resources"].values():
        if definition.get("Type") != "AWS::Serverless::Api":
            continue
        auth = definition["Properties"]["Auth"]
        authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
        logical_id = authorizer["FunctionArn"]["Fn::GetAtt"][0]
        code_uri, handler = _code(resource(logical_id, template)["Properties"])
        return logical_id, code_uri, handler
    raise LookupError("template.yaml declares no AWS::Serverless::Api")


def gateway_responses(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    for definition in template["Resources"].values():
        if definition.get("Type") == "AWS::Serverless::Api":
            responses: dict[str, dict[str, Any]] = definition["Properties"].get("GatewayResponses", {})
            return responses
    return {}


def stage_name(template: dict[str, Any] | None = None) -> str:
    template = template or load_template()
    for definition in template["Resources"].values():
        if definition.get("Type") == "AWS::Serverless::Api":
            return str(definition["Properties"]["StageName"])
    raise LookupError("template.yaml declares no AWS::Serverless::Api")


def load_module(code_uri: Path, handler: str) -> ModuleType:
    """Imports a function's handler module from its CodeUri as Lambda would, under a module name
    of its own (every function's module is called app.py). Module-level code (settings, clients)
    runs now, so call it with the environment in place."""
    module_file = handler.rpartition(".")[0]
    path = code_uri / f"{module_file.replace('.', '/')}.py"
    module_name = f"_apitokens_function_{code_uri.name}_{module_file}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        # The handler's init froze what exists (apitokens.startup), right for a Lambda worker,
        # which inits once; this process (tests, the local server) may load handlers again and
        # again, and its own objects must stay collectable.
        gc.unfreeze()
    return module


def load_handler(code_uri: Path, handler: str) -> Callable[..., Any]:
    """The handler callable of a function (see load_module)."""
    function: Callable[..., Any] = getattr(load_module(code_uri, handler), handler.rpartition(".")[2])
    return function


def function_limits(logical_id: str, template: dict[str, Any] | None = None) -> tuple[int, int]:
    """(MemorySize in MB, Timeout in seconds) of a function, its own values over Globals'."""
    template = template or load_template()
    defaults = (template.get("Globals") or {}).get("Function") or {}
    properties = resource(logical_id, template).get("Properties") or {}
    memory = properties.get("MemorySize", defaults.get("MemorySize", 128))
    timeout = properties.get("Timeout", defaults.get("Timeout", 3))
    return int(memory), int(timeout)


def variables_of(properties: dict[str, Any] | None) -> dict[str, Any]:
    variables: dict[str, Any] = ((properties or {}).get("Environment") or {}).get("Variables") or {}
    return variables


def function_environment(
    logical_id: str, template: dict[str, Any] | None = None, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """A function's environment variables (Globals', then its own) as deployed with these
    parameter overrides: literal values, and Refs to a parameter as its override, else its Default.
    Values that only exist in a deployed stack (a resource's Ref, Fn::*) are left out for the
    caller to provide."""
    template = template or load_template()
    overrides = overrides or {}
    parameters: dict[str, Any] = template.get("Parameters") or {}
    declared = {
        **variables_of((template.get("Globals") or {}).get("Function")),
        **variables_of(resource(logical_id, template).get("Properties")),
    }
    environment: dict[str, str] = {}
    for name, declared_value in declared.items():
        value = declared_value
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in overrides:
            value = overrides[value["Ref"]]
        elif isinstance(value, dict) and set(value) == {"Ref"} and "Default" in parameters.get(value["Ref"], {}):
            value = parameters[value["Ref"]]["Default"]
        if isinstance(value, bool):
            environment[name] = "true" if value else "false"  # as CloudFormation renders it
        elif isinstance(value, str | int | float):
            environment[name] = str(value)
    return environment


def dynamodb_clients(namespace: dict[str, Any]) -> list[Any]:
    """Every DynamoDB client a loaded function holds (boto3's, or the authorizer's
    HttpDynamoDBClient), however its objects wrap it (a repository,
    an idempotent creator, an authorizer): a short walk over the project's own objects, for tests
    and benchmarks that stub or fault those clients. Pass vars(module). It loads no botocore:
    without botocore loaded, no boto3 client exists."""
    from apitokens.store.dynamodb_http import HttpDynamoDBClient

    botocore_client = sys.modules.get("botocore.client")
    boto3_clients: tuple[type, ...] = (botocore_client.BaseClient,) if botocore_client is not None else ()

    found: dict[int, Any] = {}
    seen: set[int] = set()
    frontier: list[Any] = list(namespace.values())
    for _ in range(4):
        reachable: list[Any] = []
        for value in frontier:
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, boto3_clients):
                client: Any = value
                if client.meta.service_model.service_name == "dynamodb":
                    found[id(value)] = value
            elif isinstance(value, HttpDynamoDBClient):  # the authorizer's own
                found[id(value)] = value
            elif type(value).__module__.startswith("apitokens."):
                reachable.extend(getattr(value, "__dict__", {}).values())
                slots = getattr(type(value), "__slots__", ())
                reachable.extend(getattr(value, slot) for slot in slots if hasattr(value, slot))
        frontier = reachable
    return list(found.values())


@dataclass(frozen=True)
class ApiDefinition:
    """What the local gateway needs of one API of a template (REST or HTTP API)."""

    kind: str  # "rest" or "http"
    stage: str
    routes: list[FunctionRoute]
    # The authorizer's function: its logical id, or None when it is another stack's (imported).
    authorizer_function: str | None
    # Identity sources as (where, name): ("header", "Authorization"), ("context", "path")...
    identity: tuple[tuple[str, str], ...]
    cache_ttl: int
    simple_responses: bool
    gateway_responses: dict[str, dict[str, Any]]


def _parameter_value(value: Any, template: dict[str, Any], overrides: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        parameter = (template.get("Parameters") or {}).get(name, {})
        return overrides.get(name, parameter.get("Default"))
    return value


def api_definition(path: Path = TEMPLATE_PATH, overrides: dict[str, str] | None = None) -> ApiDefinition:
    """The one API (AWS::Serverless::Api or ::HttpApi) of the template at `path`, its default
    authorizer and identity sources; parameters take `overrides`, then their defaults."""
    template = load_template(path)
    overrides = overrides or {}
    for definition in template["Resources"].values():
        kind = {"AWS::Serverless::Api": "rest", "AWS::Serverless::HttpApi": "http"}.get(definition.get("Type"))
        if kind is None:
            continue
        properties = definition["Properties"]
        auth = properties["Auth"]
        authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
        arn = authorizer["FunctionArn"]
        identity_spec = authorizer.get("Identity") or {}
        identity = tuple(
            (where, str(name))
            for where, key in (("header", "Headers"), ("query", "QueryStrings"), ("context", "Context"))
            for name in identity_spec.get(key) or ()
        )
        ttl = _parameter_value(identity_spec.get("ReauthorizeEvery", 300 if kind == "rest" else 0), template, overrides)
        return ApiDefinition(
            kind=kind,
            stage=str(properties.get("StageName") or "$default"),
            routes=api_routes(template, path.parent, "Api" if kind == "rest" else "HttpApi"),
            authorizer_function=arn["Fn::GetAtt"][0] if isinstance(arn, dict) and "Fn::GetAtt" in arn else None,
            identity=identity or (("header", "Authorization"),),
            cache_ttl=int(ttl or 0),
            simple_responses=bool(authorizer.get("EnableSimpleResponses", False)),
            gateway_responses=dict(properties.get("GatewayResponses") or {}),
        )
    raise LookupError(f"{path} declares no AWS::Serverless::Api or AWS::Serverless::HttpApi")
