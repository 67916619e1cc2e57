"""Leak response: tokens reported by GitHub secret scanning or by anyone who found one.

A reported value that is one of this deployment's tokens is deactivated with revokedReason
"leaked" and its descendants with it (the LineageStore port's revoke_leaked); anything else (another
environment's prefix, a bad checksum, an unknown or deleted token) is a false positive, never an
error. GitHub's reports are signed: ECDSA P-256 with SHA-256 over the raw body, by the key named
in Github-Public-Key-Identifier, from GitHub's published key list (GITHUB_KEYS_URL), cached and
refetched on an unknown identifier at most once a minute.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from apitokens.domain import tokens
from apitokens.domain.errors import CREDENTIALS_REFUSED, StoreUnavailable, Unauthenticated
from apitokens.settings import Settings

if TYPE_CHECKING:
    from apitokens.rules.ports import LineageStore

IDENTIFIER_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
REFETCH_INTERVAL_SECONDS = 60
Label = Literal["true_positive", "false_positive"]


@dataclass(frozen=True, slots=True)
class Finding:
    token: str
    token_type: str
    source: str
    url: str


@dataclass(frozen=True, slots=True)
class Verdict:
    token_hash: str
    token_type: str
    label: Label


def report(repository: LineageStore, settings: Settings, findings: Iterable[Finding], now: str) -> list[Verdict]:
    """Revokes every reported token of this deployment as leaked; a verdict per finding.
    Any string may be named (it matches nothing unless it is a token of this deployment); a token
    already revoked as leaked is not written again, so the same report again writes nothing."""
    verdicts = []
    for finding in findings:
        label: Label = "false_positive"
        secret_digest = tokens.digest(finding.token)
        # Offline first: another environment's token or a non-token costs no read.
        if (
            tokens.is_well_formed(finding.token, settings.token_prefix)
            and repository.revoke_leaked(secret_digest, now, finding.source, finding.url) is not None
        ):
            label = "true_positive"
        verdicts.append(Verdict(secret_digest, finding.token_type, label))
    return verdicts


Fetch = Callable[[str], bytes]


def _fetch(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ValueError("GITHUB_KEYS_URL must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Accept": "application/json", "User-Agent": "apitokens"}
    )
    with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 - scheme checked above
        body: bytes = response.read(1024 * 1024)
        return body


class GithubKeys:
    """GitHub's secret-scanning public keys by identifier, cached for the life of the function
    instance; an unknown identifier refetches the list, at most once per REFETCH_INTERVAL_SECONDS
    (the endpoint is rate-limited, and a stream of bogus identifiers must not hammer it)."""

    def __init__(self, url: str, fetch: Fetch = _fetch, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key(self, identifier: str) -> Any:
        with self._lock:
            if identifier not in self._keys and self._may_refetch():
                self._refresh()
            return self._keys.get(identifier)

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS

    def _refresh(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        self._fetched_at = self._clock()
        try:
            document = json.loads(self._fetch(self._url))
            entries = list(document["public_keys"])
        except Exception as error:  # an outage of the key list: nothing can be verified now
            raise StoreUnavailable("GitHub's public keys could not be fetched; retry shortly.") from error
        keys: dict[str, Any] = {}
        for entry in entries:
            try:  # an entry GitHub's format does not describe is skipped, not fatal
                identifier, key = str(entry["key_identifier"]), load_pem_public_key(str(entry["key"]).encode("ascii"))
            except (KeyError, TypeError, ValueError):
                continue
            if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
                keys[identifier] = key
        self._keys = keys

    def verify(self, raw_body: bytes, identifier: str | None, signature: str | None) -> None:
        """Raises Unauthenticated unless `signature` (base64 DER) signs exactly `raw_body`."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        if not identifier or not signature or len(identifier) > 256 or len(signature) > 1024:
            raise Unauthenticated(CREDENTIALS_REFUSED)
        try:
            der = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise Unauthenticated(CREDENTIALS_REFUSED) from None
        key = self.key(identifier)
        if key is None:
            raise Unauthenticated(CREDENTIALS_REFUSED)
        try:
            key.verify(der, raw_body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            raise Unauthenticated(CREDENTIALS_REFUSED) from None
