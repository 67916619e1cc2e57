"""The JSON shapes of the leak-report routes, which API Gateway serves without the authorizer:
GitHub's secret-scanning partner report and its feedback, and POST /credentials/revoke.

Apart from the token models (models.py) so that the token handlers' cold start does not build
classes only these two handlers use (docs/performance.md, "Cold start").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from apitokens.wire.models import RequestModel, ResponseModel

MAX_REPORTED = 1000
# The largest GitHub report taken: MAX_REPORTED matches, each with a URL of ordinary length (about
# 1 KiB a match). Well inside API Gateway's 10 MB payload and Lambda's 6 MB synchronous invocation.
MAX_GITHUB_REPORT_BYTES = 1024 * 1024
MAX_REVOKE_REQUEST = 100
_Reported = Annotated[str, Field(min_length=1, max_length=1024)]


class GithubMatch(RequestModel):
    """One match of GitHub's secret-scanning partner report."""

    token: _Reported
    type: Annotated[str, Field(max_length=256)]
    url: Annotated[str, Field(max_length=4096)]
    source: Annotated[str, Field(max_length=256)]


def _distinct_tokens(value: list[Any]) -> list[Any]:
    values = [item if isinstance(item, str) else item.token for item in value]
    if len(set(values)) != len(values):
        raise ValueError("must not name the same token twice")
    return value


class GithubReport(RootModel[list[GithubMatch]]):
    model_config = ConfigDict(strict=True)

    root: Annotated[list[GithubMatch], Field(min_length=1, max_length=MAX_REPORTED), AfterValidator(_distinct_tokens)]


class GithubFeedback(BaseModel):
    """GitHub's optional feedback for one match: the token's SHA-256, never the token itself."""

    token_hash: str
    token_type: str
    label: Literal["true_positive", "false_positive"]


class GithubFeedbackList(RootModel[list[GithubFeedback]]):
    pass


class RevokeCredentialsRequest(RequestModel):
    """POST /credentials/revoke: tokens someone found."""

    tokens: Annotated[
        list[_Reported], Field(min_length=1, max_length=MAX_REVOKE_REQUEST), AfterValidator(_distinct_tokens)
    ]


class RevokeCredentialsAccepted(ResponseModel):
    """The one answer to every acceptable report, whatever the tokens were (no validity oracle)."""

    message: str = "Thank you. Any of these tokens that is valid here is now revoked."
