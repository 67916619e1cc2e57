"""A client of the apitokens verify route (POST {base}/apiTokens/verify), authorized by IAM.

Every request is signed with SigV4 (service execute-api) by botocore, with the credentials of
the default AWS chain (environment, profile, container or instance role) unless others are
given, and sent over a pool of kept-alive connections with connect and read timeouts. Throttling
(429), server errors (5xx) and connection failures are retried with exponential backoff; when
the service still cannot answer, ServiceUnavailable is raised: a caller never reads a failure
as an allowed token.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session, get_session

SERVICE = "execute-api"
DEFAULT_REGION = "us-east-1"
URL_VARIABLE = "APITOKENS_URL"
# The region of an API Gateway URL: https://{api}.execute-api.{region}.amazonaws.com/...
_REGION_OF_URL = re.compile(r"^https://[^/]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?:/|$)")
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# The most a Retry-After may make a caller wait between two attempts.
_MAX_RETRY_AFTER_SECONDS = 5.0


class ApiTokensError(Exception):
    """Base of the client's errors: never an answer about the token."""


class ServiceUnavailable(ApiTokensError):
    """The verify route could not be reached or did not answer (after the retries): the token's
    state is unknown, and must be treated as refused."""


class NoCredentials(ApiTokensError):
    """No AWS credentials were found to sign the request with."""


class RequestRefused(ApiTokensError):
    """The service refused the request itself (a 4xx other than 429): a bad question (400) or a
    signature it does not accept (403). `status`, `code` and `message` are its answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Verification:
    """The service's answer. An inactive token (unknown, malformed, revoked, expired, leaked)
    has `active` False and nothing else; `allowed` is None when no question was asked."""

    active: bool
    account_sid: str | None = None
    token_sid: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    expires_at: str | None = None
    allowed: bool | None = None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Verification:
        if document.get("active") is not True:
            return cls(active=False)
        return cls(
            active=True,
            account_sid=document["accountSid"],
            token_sid=document["tokenSid"],
            scopes=frozenset(document["scopes"]),
            expires_at=document.get("expiresAt"),
            allowed=document.get("allowed"),
        )


def _retry_after(value: str | None) -> float | None:
    """The wait a Retry-After of seconds asks for, capped; None when it asks for none."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value), _MAX_RETRY_AFTER_SECONDS)


def region_of(base_url: str, session: Session) -> str:
    """The region to sign for: the API's own (from an execute-api URL), else the configured one."""
    match = _REGION_OF_URL.match(base_url)
    if match:
        return match.group(1)
    return str(session.get_config_variable("region") or DEFAULT_REGION)


class ApiTokensClient:
    """Verifies tokens through one apitokens deployment. Thread-safe; make one per process."""

    def __init__(
        self,
        base_url: str,
        *,
        region: str | None = None,
        session: Session | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        max_attempts: int = 3,
        backoff_seconds: float = 0.1,
        max_connections: int = 10,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = base_url.rstrip("/") + "/apiTokens/verify"
        self._session = session or get_session()
        self.region = region or region_of(base_url, self._session)
        self._max_attempts = max_attempts
        self._backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._pool = urllib3.PoolManager(
            maxsize=max_connections,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,  # retried below, each attempt signed afresh
        )

    @classmethod
    def from_environment(cls, **options: Any) -> ApiTokensClient:
        """A client of the deployment at $APITOKENS_URL (its base URL, e.g. .../v1)."""
        base_url = os.environ.get(URL_VARIABLE, "").strip()
        if not base_url:
            raise ApiTokensError(f"{URL_VARIABLE} is not set: the apitokens base URL, e.g. https://.../v1")
        return cls(base_url, **options)

    def verify(
        self,
        token: str,
        *,
        method: str | None = None,
        path: str | None = None,
        required_scope: str | None = None,
        account_sid: str | None = None,
    ) -> Verification:
        """Whether `token` is active, and, with `method` + `path` (a request path without the
        stage) or `required_scope` + `account_sid`, whether it may do that."""
        question = {"method": method, "path": path, "requiredScope": required_scope, "accountSid": account_sid}
        body = json.dumps({"token": token, **{k: v for k, v in question.items() if v is not None}}).encode("utf-8")
        return Verification.from_json(self._post(body))

    def close(self) -> None:
        self._pool.clear()

    def _post(self, body: bytes) -> dict[str, Any]:
        failure, wait = "no attempt was made", None
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(self._backoff(attempt) if wait is None else wait)
            try:
                response = self._pool.request("POST", self.url, body=body, headers=self._signed_headers(body))
            except urllib3.exceptions.HTTPError as error:
                failure, wait = type(error).__name__, None
                continue
            if response.status in _RETRIED_STATUSES:
                failure, wait = f"HTTP {response.status}", _retry_after(response.headers.get("Retry-After"))
                continue
            return self._answer(response)
        raise ServiceUnavailable(
            f"apitokens at {self.url} did not answer after {self._max_attempts} attempts ({failure})"
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, self._backoff_seconds * 2 ** (attempt - 1))  # noqa: S311 - jitter, not a secret

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        credentials = self._session.get_credentials()
        if credentials is None:
            raise NoCredentials("no AWS credentials found (environment, profile, container or instance role)")
        request = AWSRequest(method="POST", url=self.url, data=body, headers={"Content-Type": "application/json"})
        # Frozen: a refreshable role's keys cannot change between the signature's parts.
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())

    @staticmethod
    def _answer(response: urllib3.BaseHTTPResponse) -> dict[str, Any]:
        try:
            document = json.loads(response.data)
        except ValueError:
            document = None
        if response.status == 200 and isinstance(document, dict):
            return document
        error = document.get("error") if isinstance(document, dict) else None
        if not isinstance(error, dict):
            error = {}
        raise RequestRefused(
            response.status, str(error.get("code", "unknown")), str(error.get("message", "unexpected answer"))
        )
