"""The development identity provider: one ES256 signing key kept in `.apitokens/`, its JWKS, and
user JWTs signed with it.

`apitokens serve` publishes the JWKS and points the real authorizer (apitokens.auth.jwt_auth, through
PyJWKClient) at it, so a JWT from `apitokens dev-jwt` run in the same directory is verified by
exactly the code that verifies identity-provider JWTs in AWS.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from apitokens.domain import ids
from apitokens.domain.scopes import known_scopes
from apitokens.settings import get_deployment

STATE_DIR = Path(".apitokens")
KEY_FILE = "dev-signing-key.pem"
ALGORITHM = "ES256"
# Fixed rather than derived from the server's address, so a JWT minted by `dev-jwt` is accepted
# by `serve` whichever host and port either was given.
ISSUER = "apitokens-local"
AUDIENCE = "apitokens"
ACCOUNTS_CLAIM = "accounts"
DEFAULT_SUBJECT = "user_dev"
DEFAULT_EXPIRES_IN = 12 * 3600
EXAMPLE_ACCOUNT = "acc_abc123def456ghi789jkl012"
# re's own parser: the deployment's AccountIdPattern (checked at start to hold only literals,
# classes, groups, alternatives, bounded repeats and anchors) walked to make an example of it.
_REGEX_PARSER: Any = importlib.import_module("re._parser")


def _example_of(parsed: Any) -> str:
    parts: list[str] = []
    for opcode, argument in parsed:
        if opcode is _REGEX_PARSER.LITERAL:
            parts.append(chr(argument))
        elif opcode is _REGEX_PARSER.IN:
            first_opcode, first = argument[0]
            parts.append(chr(first if first_opcode is _REGEX_PARSER.LITERAL else first[0]))
        elif opcode in (_REGEX_PARSER.MAX_REPEAT, _REGEX_PARSER.MIN_REPEAT, _REGEX_PARSER.POSSESSIVE_REPEAT):
            parts.append(_example_of(argument[2]) * argument[0])  # each repeat at its least
        elif opcode is _REGEX_PARSER.SUBPATTERN:
            parts.append(_example_of(argument[-1]))
        elif opcode is _REGEX_PARSER.ATOMIC_GROUP:
            parts.append(_example_of(argument))
        elif opcode is _REGEX_PARSER.BRANCH:
            parts.append(_example_of(argument[1][0]))
    return "".join(parts)


def example_account() -> str:
    """An account the deployment's AccountIdPattern accepts: EXAMPLE_ACCOUNT by default."""
    pattern = ids.account_sid_pattern()
    if pattern.fullmatch(EXAMPLE_ACCOUNT):
        return EXAMPLE_ACCOUNT
    example = _example_of(_REGEX_PARSER.parse(pattern.pattern))
    if not pattern.fullmatch(example):
        raise ValueError(f"no example account for AccountIdPattern {pattern.pattern!r}: name one with --account")
    return example


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise TypeError("the development signing key is not an EC P-256 key; delete it to make a new one")
    return key


def load_or_create_key(state_dir: Path = STATE_DIR, key_file: str = KEY_FILE) -> ec.EllipticCurvePrivateKey:
    """The signing key of `state_dir`, made on first use (directory 0700, key file 0600)."""
    path = state_dir / key_file
    try:
        return _private_key(path.read_bytes())
    except FileNotFoundError:
        pass
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _private_key(_create_once(state_dir, key_file, pem))


def _create_once(state_dir: Path, name: str, content: bytes) -> bytes:
    """The content of `state_dir/name`, written with `content` unless it exists (0600)."""
    path = state_dir / name
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        # Outside this repository (whose .gitignore lists .apitokens/) the keys must not be committed either.
        ignore.write_text("*\n", encoding="utf-8")
    # Written in full to a private temporary file, then linked into place: a `serve` and a
    # `dev-jwt` started together can neither read a half-written key nor end up with two keys.
    descriptor, temporary = tempfile.mkstemp(dir=state_dir, prefix=".key-")  # mkstemp makes it 0600
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return path.read_bytes()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    """The public key as a JWK with kid = its RFC 7638 thumbprint."""
    fields: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    members = {name: str(fields[name]) for name in ("crv", "kty", "x", "y")}
    thumbprint = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii"))
    return {**members, "kid": _b64url(thumbprint.digest()), "use": "sig", "alg": ALGORITHM}


def jwks(key: ec.EllipticCurvePrivateKey) -> dict[str, list[dict[str, str]]]:
    return {"keys": [public_jwk(key)]}


def mint_jwt(
    key: ec.EllipticCurvePrivateKey,
    accounts: Iterable[str],
    *,
    scope: str | None = None,
    subject: str = DEFAULT_SUBJECT,
    expires_in: int = DEFAULT_EXPIRES_IN,
    now: float | None = None,
) -> str:
    """A user JWT as an identity provider would issue it: `accounts` lists the accounts the user
    may act on; without `scope` the user has every scope the deployment knows on them, written
    (each after JwtScopePrefix) into the `scope` claim
    (the authorizer grants no scope to a JWT without it: JWT_ABSENT_SCOPE_CLAIM's default)."""
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + expires_in,
        "jti": secrets.token_hex(8),
        ACCOUNTS_CLAIM: list(accounts),
    }
    names = sorted(known_scopes()) if scope is None else scope.split()
    # As the identity provider writes them: with the deployment's JwtScopePrefix, if any.
    claims["scope"] = " ".join(get_deployment().jwt_scope_prefix + name for name in names)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": public_jwk(key)["kid"], "typ": "JWT"})


# -- GitHub secret scanning, as the local server plays it ------------------------------------

GITHUB_KEY_FILE = "dev-github-scanning-key.pem"
GITHUB_KEYS_PATH = "/dev/github/secret-scanning-keys"
GITHUB_TOKEN_TYPE = "apitokens_test_token"


def github_key(state_dir: Path = STATE_DIR) -> ec.EllipticCurvePrivateKey:
    """The development stand-in for GitHub's secret-scanning signing key, beside the JWT key."""
    return load_or_create_key(state_dir, GITHUB_KEY_FILE)


def github_key_identifier(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def github_public_keys(key: ec.EllipticCurvePrivateKey) -> dict[str, list[dict[str, Any]]]:
    """The key list in the shape of https://api.github.com/meta/public_keys/secret_scanning."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "public_keys": [{"key_identifier": github_key_identifier(key), "key": pem.decode("ascii"), "is_current": True}]
    }


def github_report(
    key: ec.EllipticCurvePrivateKey, tokens: Iterable[str], url: str = "", source: str = "content"
) -> tuple[dict[str, str], bytes]:
    """A secret-scanning report as GitHub sends it: (headers, raw body), signed over the body."""
    from cryptography.hazmat.primitives import hashes

    body = json.dumps(
        [{"token": token, "type": GITHUB_TOKEN_TYPE, "url": url, "source": source} for token in tokens]
    ).encode("utf-8")
    signature = key.sign(body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "Content-Type": "application/json",
        "Github-Public-Key-Identifier": github_key_identifier(key),
        "Github-Public-Key-Signature": base64.b64encode(signature).decode("ascii"),
    }
    return headers, body


# -- AWS credentials for the IAM-authorized routes, as the local server checks them ------------

CREDENTIALS_FILE = "dev-aws-credentials.json"
# The region the local server's AWS_IAM routes verify signatures for (its API's).
DEV_CREDENTIALS_REGION = "us-east-1"
_ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def dev_credentials(state_dir: Path = STATE_DIR) -> tuple[str, str]:
    """(access key id, secret access key) that `apitokens serve` accepts in SigV4 signatures on
    its AWS_IAM routes, made on first use beside the signing keys; shaped as AWS's long-term
    user keys (AKIA + 16 characters, a 40-character secret)."""
    generated = {
        "accessKeyId": "AKIA" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16)),
        "secretAccessKey": base64.b64encode(secrets.token_bytes(30)).decode("ascii"),
    }
    stored = json.loads(_create_once(state_dir, CREDENTIALS_FILE, json.dumps(generated).encode("utf-8")))
    return str(stored["accessKeyId"]), str(stored["secretAccessKey"])
