"""The authorizer client's HTTP/1.1 connection (apitokens.store.http1) and its reading of
DynamoDB's answers (apitokens.store.dynamodb_http), against canned bytes from a loopback socket:
Content-Length and chunked bodies, interim 1xx answers, Connection: close, malformed answers
(a connection failure: retried), and the errors botocore's standard mode retries or not."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from apitokens.store.dynamodb_http import (
    DynamoDBServiceError,
    DynamoDBUnreachable,
    RetryQuota,
    is_retryable,
    is_throttling,
    service_error,
)
from apitokens.store.http1 import Http1Connection, MalformedResponse


@contextlib.contextmanager
def canned_server(*answers: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server answering the requests of one connection with `answers`, in order;
    yields its port and the requests it read."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            for answer in answers:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65_536)
                requests.append(request)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], requests
    finally:
        listener.close()
        thread.join(timeout=5)


def connection(port: int) -> Http1Connection:
    return Http1Connection("127.0.0.1", port, tls=False, connect_timeout=2, read_timeout=2)


def test_a_content_length_answer_and_the_request_sent() -> None:
    with canned_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Amz-Crc32: 1\r\n\r\n{}") as (port, requests):
        status, headers, body = connection(port).request("/", {"Host": "h", "X-Amz-Target": "t"}, b"{}")
    assert (status, headers["x-amz-crc32"], body) == (200, "1", b"{}")
    assert requests[0].startswith(b"POST / HTTP/1.1\r\nHost: h\r\nX-Amz-Target: t\r\nContent-Length: 2\r\n\r\n")


def test_a_chunked_answer_after_an_interim_one_on_a_kept_alive_connection() -> None:
    chunked = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{"a\r\n4\r\n": 1\r\n1\r\n}\r\n0\r\n\r\n'
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    with canned_server(interim + chunked, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as (port, _):
        client = connection(port)
        assert client.request("/", {}, b"") == (200, {"transfer-encoding": "chunked"}, b'{"a": 1}')
        assert client.request("/", {}, b"")[0] == 200
        assert client.opened == 1


def test_connection_close_is_honoured() -> None:
    with canned_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") as (port, _):
        client = connection(port)
        client.request("/", {}, b"")
    with canned_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as (port, _):
        client.port = port
        client.request("/", {}, b"")
    assert client.opened == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # closed without an answer
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_answer_is_a_connection_failure(answer: bytes) -> None:
    with canned_server(answer) as (port, _), pytest.raises(MalformedResponse) as raised:
        connection(port).request("/", {}, b"")
    assert isinstance(raised.value, OSError)  # the client's retried connection failures


def test_service_errors_as_botocore_parses_them() -> None:
    body = b'{"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException", "Message": "m", '
    body += b'"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}'
    error = service_error(400, {}, body)
    assert error.response == {
        "Error": {"Code": "TransactionCanceledException", "Message": "m"},
        "Message": "m",
        "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
    }
    assert service_error(502, {}, b"<html>bad gateway</html>").code == "502"
    assert service_error(400, {"x-amzn-errortype": "ThrottlingException:http://x"}, b"").code == "ThrottlingException"


@pytest.mark.parametrize(
    ("status", "code", "retried", "throttled"),
    [
        (400, "ThrottlingException", True, True),
        (400, "ProvisionedThroughputExceededException", True, True),
        (400, "RequestLimitExceeded", True, True),
        (400, "TransactionInProgressException", True, True),
        (429, "SomethingNew", True, True),
        (429, "ResourceNotFoundException", False, False),
        (500, "InternalServerError", True, False),
        (503, "ServiceUnavailable", True, False),
        (400, "RequestTimeout", True, False),
        (400, "ValidationException", False, False),
        (400, "AccessDeniedException", False, False),
        (400, "TransactionCanceledException", False, False),
        (400, "ConditionalCheckFailedException", False, False),
    ],
)
def test_what_is_retried_as_botocores_standard_mode(status: int, code: str, retried: bool, throttled: bool) -> None:
    error = service_error(status, {}, f'{{"__type": "x#{code}"}}'.encode())
    assert isinstance(error, DynamoDBServiceError)
    assert (is_retryable(error), is_throttling(error)) == (retried, throttled)
    assert is_retryable(DynamoDBUnreachable("timed out"))


def test_the_retry_quota_runs_out_and_refills() -> None:
    quota = RetryQuota()
    assert all(quota.acquire(14) for _ in range(35))  # 490 of 500
    assert not quota.acquire(14)
    quota.release(14)
    assert quota.acquire(14)


def self_signed_certificate(directory: Path) -> Path:
    """A certificate and key for localhost, in one PEM file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = directory / "localhost.pem"
    pem.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


def test_https_with_the_configured_ca_bundle_and_only_with_it(tmp_path: Path) -> None:
    pem = self_signed_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(pem)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            raw, _ = listener.accept()
            with contextlib.suppress(OSError), server_context.wrap_socket(raw, server_side=True) as connection:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += connection.recv(65_536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        trusting = Http1Connection("localhost", port, tls=True, ca_bundle=str(pem), connect_timeout=2, read_timeout=2)
        assert trusting.request("/", {"Host": "localhost"}, b"{}") == (200, {"content-length": "2"}, b"{}")
        untrusting = Http1Connection("localhost", port, tls=True, connect_timeout=2, read_timeout=2)
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusting.request("/", {"Host": "localhost"}, b"{}")
    finally:
        listener.close()
        thread.join(timeout=5)
