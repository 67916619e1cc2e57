"""The authorizer's API-token path loads no AWS SDK, no pydantic and no PyJWT: a fresh
interpreter imports its handler as Lambda does and authorizes an API token over real HTTP
(moto's server), then lists what it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.harness import PROJECT_ROOT, TEST_ENVIRONMENT, Functions, authorizer_event, moto_server_url

AUTHORIZE_AND_LIST_MODULES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app

decision = app.handler(json.loads(sys.argv[2]), None)
print(json.dumps({"principalId": decision["principalId"], "modules": sorted(sys.modules)}))
"""


def authorize_in_a_fresh_interpreter(event: dict[str, Any]) -> dict[str, Any]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "DYNAMODB_"))},
        **TEST_ENVIRONMENT,
        "DYNAMODB_ENDPOINT_URL": moto_server_url(),
    }
    function_dir = PROJECT_ROOT / "functions" / "authorizer"
    completed = subprocess.run(
        [sys.executable, "-c", AUTHORIZE_AND_LIST_MODULES, str(function_dir), json.dumps(event)],
        env=environment,
        capture_output=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(completed.stdout.decode().splitlines()[-1])
    return result


def test_authorizing_an_api_token_loads_no_aws_sdk(functions: Functions) -> None:
    created = functions.create(scopes=["tokens:read"]).body
    result = authorize_in_a_fresh_interpreter(authorizer_event(f"Bearer {created['token']}"))
    assert result["principalId"] == created["sid"]  # the read (and the lastUsedAt write) happened
    loaded = {name.partition(".")[0] for name in result["modules"]}
    assert not loaded & {"boto3", "botocore", "s3transfer", "urllib3", "pydantic", "jwt"}
