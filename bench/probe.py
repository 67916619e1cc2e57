"""Runs in a fresh interpreter: which modules a handler's import loads, and, for the authorizer,
which it loads after one API-token authorization and after one JWT.

    probe.py OUTPUT.json baseline
    probe.py OUTPUT.json FUNCTION_DIR LAYER_DIR [INPUT.json]

The module count is taken right after the import, before this script imports anything else, so
the baseline (boto3 plus one DynamoDB client) and a handler are counted the same way. Results go
to a file because the handlers' logs own stdout.
"""

import sys

# The script's own directory (bench/) is not on a Lambda's path; drop it before importing.
del sys.path[0]
OUTPUT = sys.argv[1]
MODE = sys.argv[2]

if MODE == "baseline":
    import boto3

    boto3.client("dynamodb")
    app = None
else:
    sys.path[0:0] = [MODE, sys.argv[3]]
    import app  # type: ignore[no-redef,import-not-found]  # the function being measured, found at run time
AFTER_IMPORT = len(sys.modules)
IMPORTED = frozenset(sys.modules)

import json  # noqa: E402 - everything below runs after the snapshot on purpose
from typing import Any  # noqa: E402

WATCHED = ("pydantic", "jwt", "aws_xray_sdk", "aws_lambda_powertools", "cryptography", "boto3", "botocore")


def present(modules: frozenset[str] | set[str]) -> dict[str, bool]:
    return {name: name in modules for name in WATCHED}


result: dict[str, Any] = {"modules_after_import": AFTER_IMPORT, "after_import": present(IMPORTED)}
if app is not None and len(sys.argv) > 4:
    with open(sys.argv[4], encoding="utf-8") as stream:
        given = json.load(stream)
    from apitokens_dev.gateway import LambdaContext
    from apitokens_dev.template import dynamodb_clients

    def context() -> LambdaContext:
        return LambdaContext("apitokens-bench", "5d8f6f2b-0000-4000-8000-000000000000", 1024, 10)

    clients = dynamodb_clients(vars(app))
    result["clients"] = len(clients)
    # No lastUsedAt on the item: this authorization also takes the touch (TransactWriteItems).
    # The authorizer's own client gets them from its transport, with no botocore loaded.
    answers = [json.dumps({"Item": given["lookup_item"]}).encode(), b"{}"]
    clients[0]._send = lambda *_: (200, {}, answers.pop(0))
    decision = app.handler(given["token_event"], context())
    if answers:
        raise RuntimeError(f"{len(answers)} answers not used")
    result["token_decision"] = decision["policyDocument"]["Statement"][0]["Effect"]
    result["after_token"] = present(set(sys.modules))
    try:
        app.handler(given["jwt_event"], context())
        result["jwt_outcome"] = "allowed"
    except Exception as error:  # API Gateway's contract: a refusal is an exception
        result["jwt_outcome"] = str(error)
    result["after_jwt"] = present(set(sys.modules))

with open(OUTPUT, "w", encoding="utf-8") as stream:
    json.dump(result, stream)
