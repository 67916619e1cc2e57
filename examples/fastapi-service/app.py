"""A service of your own behind apitokens, with no API Gateway in front: FastAPI, guarded by the
verify route through apitokens_client (clients/python).

    export APITOKENS_URL=http://127.0.0.1:3000/v1        # the apitokens base URL (stack output ApiUrl)
    eval "$(.venv/bin/apitokens dev-credentials)"          # locally; in AWS the role's own credentials
    .venv/bin/uvicorn --app-dir examples/fastapi-service app:app --port 8000
    curl -s localhost:8000/accounts/acc_.../metrics/summary -H "Authorization: Bearer at_test_..."

A token holding metrics:read on the account of the path gets 200; a token without the scope, or
for another account, 403; no token or a refused one, 401; apitokens unreachable, 503.
"""

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from apitokens_client import Verification
from apitokens_client.fastapi import install, require_scope

app = FastAPI(title="metrics service (apitokens example)")
install(app)


@app.get("/accounts/{accountSid}/metrics/summary")
def metrics_summary(token: Annotated[Verification, Depends(require_scope("metrics:read"))]) -> dict[str, Any]:
    # The guard has checked the path's account: it is the token's.
    return {"accountSid": token.account_sid, "requests": 0, "errors": 0, "servedFor": token.token_sid}
