"""The authorizer's DynamoDB client: DynamoDB's JSON protocol over one kept-alive HTTPS
connection (store/http1.py), signed with Signature Version 4 (store/sigv4.py), on the standard
library.

It makes exactly the calls the authorizer makes (GetItem, UpdateItem, TransactWriteItems), with
the low-level boto3 client's method names, parameters and response shapes, so TokenRepository takes
either. Every other function keeps boto3 (store/driver.create_client). Hand-written for the
goal of the authorizer's cold start at most 0.40 of `import boto3; boto3.client("dynamodb")`
and its CPU per GetItem at most 0.5 of botocore's (docs/performance.md, "The authorizer's own
DynamoDB client"); everything else is as botocore does it, configured as create_client
configures it:
  retries     botocore's standard mode: at most 3 attempts; throttling error codes (and a 429
              of an unknown code), RequestTimeout codes, 500/502/503/504, connection failures
              and a DynamoDB crc32 mismatch are retried after rand(0, 1) x min(scale x 2^(n-1),
              20) s (scale 1 s when throttled, 25 ms otherwise; x-amz-retry-after honoured),
              under the same retry quota (500 units: 5 per throttling retry, 14 per other)
  timeouts    2 s to connect, 3 s per read, TCP keepalive on; a connection the server closed
              while idle is noticed before it is reused, and a new one opened
  endpoint    the explicit endpoint (DYNAMODB_ENDPOINT_URL), AWS_ENDPOINT_URL_DYNAMODB,
              AWS_ENDPOINT_URL, else the region's: FIPS and dual-stack as configured (endpoint)
  errors      a service error is DynamoDBServiceError with botocore's `response` shape (Error
              Code and Message, CancellationReasons); no answer is DynamoDBUnreachable; both are
              DynamoDBError, which store/driver.py maps to the same domain errors as botocore's
"""

from __future__ import annotations

import json
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from apitokens.settings import Credentials, Settings, aws_credentials
from apitokens.store.endpoint import dynamodb_endpoint
from apitokens.store.http1 import Http1Connection
from apitokens.store.sigv4 import Signer

API_VERSION = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
USER_AGENT = "apitokens-authorizer"

# store/driver.create_client's Config, the same figures.
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 3.0

# botocore.retries.standard: the error codes it treats as throttling, and as transient.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# The codes DynamoDB's model declares for these operations: a 429 of any other code is throttling.
MODELED_CODES = frozenset(
    {
        "ConditionalCheckFailedException",
        "IdempotentParameterMismatchException",
        "InternalServerError",
        "ItemCollectionSizeLimitExceededException",
        "ProvisionedThroughputExceededException",
        "ReplicatedWriteConflictException",
        "RequestLimitExceeded",
        "ResourceNotFoundException",
        "ThrottlingException",
        "TransactionCanceledException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
THROTTLING_BACKOFF_SCALE = 1.0
BACKOFF_SCALE = 0.025
MAX_BACKOFF_SECONDS = 20.0
RETRY_AFTER_MAX_ADDITIONAL_SECONDS = 5.0
QUOTA_CAPACITY = 500
QUOTA_THROTTLING_RETRY_COST = 5
QUOTA_RETRY_COST = 14
QUOTA_NO_RETRY_INCREMENT = 1


class DynamoDBError(Exception):
    """What the client raises once its retries are spent."""

    response: dict[str, Any]


class DynamoDBServiceError(DynamoDBError):
    """DynamoDB answered with an error; `response` is botocore's parsed shape of it."""

    def __init__(self, code: str, message: str, status: int, response: dict[str, Any]) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code = code
        self.status = status
        self.response = response


class DynamoDBUnreachable(DynamoDBError):
    """No usable answer: the connection failed, timed out or was dropped, or the answer's
    checksum did not match."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.response = {}


def service_error(status: int, headers: Mapping[str, str], payload: bytes) -> DynamoDBServiceError:
    """The error of a non-2xx answer, parsed as botocore parses DynamoDB's JSON errors."""
    try:
        body = json.loads(payload) if payload else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    error_type = str(body.get("__type") or headers.get("x-amzn-errortype", "") or status)
    code = error_type.rpartition("#")[2].partition(":")[0]
    message = str(body.get("message") or body.get("Message") or "")
    response = {key: value for key, value in body.items() if key != "__type"}
    response["Error"] = {"Code": code, "Message": message}
    return DynamoDBServiceError(code, message, status, response)


def is_throttling(error: DynamoDBError) -> bool:
    if not isinstance(error, DynamoDBServiceError):
        return False
    return error.code in THROTTLING_CODES or (error.status == 429 and error.code not in MODELED_CODES)


def is_retryable(error: DynamoDBError) -> bool:
    """botocore's standard-mode conditions (the attempt count aside)."""
    if not isinstance(error, DynamoDBServiceError):
        return True  # connection failures, timeouts, crc32 mismatches
    return is_throttling(error) or error.code in TRANSIENT_CODES or error.status in TRANSIENT_STATUSES


class RetryQuota:
    """botocore's retry quota: a retry spends capacity, a success gives some back."""

    def __init__(self) -> None:
        self._available = QUOTA_CAPACITY
        self._lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        with self._lock:
            if amount > self._available:
                return False
            self._available -= amount
            return True

    def release(self, amount: int) -> None:
        with self._lock:
            self._available = min(QUOTA_CAPACITY, self._available + amount)


class HttpDynamoDBClient:
    """GetItem, UpdateItem and TransactWriteItems over one kept-alive connection."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: Credentials,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        ca_bundle: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint_url!r}")
        self.endpoint_url = endpoint_url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port_default = 443 if self._https else 80
        self._port = parts.port or self._port_default
        # As signed and sent: the endpoint's host, and its port unless the scheme's default.
        self._host_header = self._host if parts.port in (None, self._port_default) else f"{self._host}:{parts.port}"
        self._path = parts.path or "/"
        self._signer = Signer(credentials, region, "dynamodb")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._max_attempts = max_attempts
        # Public, as the timeouts: a test sets them on the authorizer's client.
        self.sleep = sleep
        self.jitter = jitter
        self.quota = RetryQuota()
        self._connection = Http1Connection(
            self._host,
            self._port,
            tls=self._https,
            ca_bundle=ca_bundle,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpDynamoDBClient:
        return cls(
            dynamodb_endpoint(settings),
            settings.aws_region,
            aws_credentials(),
            ca_bundle=settings.aws_ca_bundle,
        )

    # -- the operations ------------------------------------------------------------------------

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self.call("GetItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self.call("UpdateItem", params)

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        return self.call("TransactWriteItems", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self.call("Query", params)

    # -- one call, its attempts ----------------------------------------------------------------

    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One operation: attempts under botocore's standard retry rules; the parsed answer, or
        the last attempt's DynamoDBError."""
        payload = json.dumps(params, separators=(",", ":")).encode()
        target = f"{API_VERSION}.{operation}"
        attempt = 1
        spent = 0
        while True:
            outcome, retry_after = self._attempt(target, payload)
            if not isinstance(outcome, DynamoDBError):
                self.quota.release(spent or QUOTA_NO_RETRY_INCREMENT)
                return outcome
            failure = outcome
            if attempt >= self._max_attempts or not is_retryable(failure):
                raise failure
            throttled = is_throttling(failure)
            cost = QUOTA_THROTTLING_RETRY_COST if throttled else QUOTA_RETRY_COST
            if not self.quota.acquire(cost):
                raise failure
            spent = cost
            self.sleep(self._delay(attempt, throttled, retry_after))
            attempt += 1

    def _delay(self, attempt: int, throttled: bool, retry_after: float | None) -> float:
        scale = THROTTLING_BACKOFF_SCALE if throttled else BACKOFF_SCALE
        delay = self.jitter() * min(scale * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        if retry_after is not None:
            return max(delay, min(retry_after, delay + RETRY_AFTER_MAX_ADDITIONAL_SECONDS))
        return delay

    def _attempt(self, target: str, payload: bytes) -> tuple[dict[str, Any] | DynamoDBError, float | None]:
        """One signed request: (the parsed answer or the error, the server's retry-after in s)."""
        try:
            status, headers, body = self._exchange(target, payload)
        except OSError as error:  # refused, reset, timed out, TLS, closed early, malformed
            return DynamoDBUnreachable(f"{type(error).__name__} talking to DynamoDB"), None
        checksum = headers.get("x-amz-crc32")
        if checksum is not None and checksum.isdigit() and zlib.crc32(body) != int(checksum):
            return DynamoDBUnreachable("DynamoDB's answer failed its crc32 check"), None
        if 200 <= status < 300:
            parsed: dict[str, Any] = json.loads(body) if body else {}
            return parsed, None
        retry_after = headers.get("x-amz-retry-after")
        seconds = int(retry_after) / 1000 if retry_after is not None and retry_after.isdigit() else None
        return service_error(status, headers, body), seconds

    def _exchange(self, target: str, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        return self._send(self._signed_headers(target, payload), payload)

    def _signed_headers(self, target: str, payload: bytes) -> dict[str, str]:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        credentials = self._signer.credentials
        headers = {
            "Host": self._host_header,
            "Content-Type": CONTENT_TYPE,
            "X-Amz-Date": amz_date,
            "X-Amz-Target": target,
        }
        if credentials.session_token:
            headers["X-Amz-Security-Token"] = credentials.session_token
        headers["Authorization"] = self._signer.authorization(
            "POST", self._path, (), headers.items(), payload, amz_date=amz_date
        )
        headers["User-Agent"] = USER_AGENT
        return headers

    def _send(self, headers: Mapping[str, str], payload: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request on the kept-alive connection: (status, lower-cased headers, body)."""
        with self._lock:
            self._connection.connect_timeout = self.connect_timeout
            self._connection.read_timeout = self.read_timeout
            return self._connection.request(self._path, headers, payload)

    @property
    def connections_opened(self) -> int:
        """How many connections it opened: a test reads it to see a reconnect."""
        return self._connection.opened

    def close(self) -> None:
        with self._lock:
            self._connection.close()
