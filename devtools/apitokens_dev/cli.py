"""`apitokens`: the developer command line (serve, dev-jwt, openapi)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from apitokens import ids
from apitokens.scopes import ALL_SCOPES
from apitokens_dev import devkeys


def _account(value: str) -> str:
    if not ids.is_account_sid(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an account sid (acc_ + 24 or 27 letters and digits)")
    return value


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of seconds") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 (any free port) and 65535")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitokens", description="apitokens developer tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=devkeys.STATE_DIR,
        help="where the development signing key is kept (default: .apitokens in the current directory)",
    )

    serve = commands.add_parser(
        "serve",
        parents=[state],
        help="run the API locally (http://127.0.0.1:3000/v1)",
        description="Serve the API through the real authorizer and handlers of template.yaml, backed by an "
        "embedded DynamoDB unless --dynamodb-endpoint is given. Stop with Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=3000, help="port to listen on, 0 for any free one (default: 3000)")
    serve.add_argument(
        "--dynamodb-endpoint",
        metavar="URL",
        help="use this DynamoDB (DynamoDB Local, e.g. http://127.0.0.1:8000, or an AWS endpoint) instead of the "
        "embedded one; the table is created if missing",
    )
    serve.add_argument("--table", default="apitokens-local", help="table name (default: apitokens-local)")

    dev_jwt = commands.add_parser(
        "dev-jwt",
        parents=[state],
        help="print a development user JWT that `apitokens serve` accepts",
        description="Print (on the last line) a user JWT signed with the development key of --state-dir, "
        "accepted by `apitokens serve` run from the same directory.",
    )
    dev_jwt.add_argument(
        "--account",
        dest="accounts",
        action="append",
        type=_account,
        required=True,
        metavar="ACC",
        help="an account the user may act on (repeat for several)",
    )
    dev_jwt.add_argument(
        "--expires-in",
        type=_positive,
        default=devkeys.DEFAULT_EXPIRES_IN,
        metavar="SECONDS",
        help=f"lifetime (default: {devkeys.DEFAULT_EXPIRES_IN})",
    )
    dev_jwt.add_argument(
        "--scope",
        action="append",
        metavar="SCOPES",
        help='space-separated scopes, e.g. "tokens:read tokens:write" (default: every scope)',
    )
    dev_jwt.add_argument("--subject", default=devkeys.DEFAULT_SUBJECT, help="the `sub` claim (default: user_dev)")

    openapi = commands.add_parser("openapi", help="print the OpenAPI document of the API (JSON)")
    openapi.add_argument(
        "--server-url",
        metavar="URL",
        help="the API's base URL in the document's servers, e.g. the stack output ApiUrl "
        "(default: http://127.0.0.1:3000/v1, what `apitokens serve` listens on)",
    )
    return parser


def _scope(parser: argparse.ArgumentParser, values: list[str] | None) -> str | None:
    if values is None:
        return None
    requested = [scope for value in values for scope in value.split()]
    unknown = sorted(set(requested) - ALL_SCOPES)
    if unknown:
        parser.error(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(sorted(ALL_SCOPES))})")
    return " ".join(dict.fromkeys(requested))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "openapi":
        from apitokens_dev.openapi import DEFAULT_SERVER_URL, build_openapi

        print(json.dumps(build_openapi(arguments.server_url or DEFAULT_SERVER_URL), indent=2))
        return 0
    if arguments.command == "dev-jwt":
        scope = _scope(parser, arguments.scope)
        key = devkeys.load_or_create_key(arguments.state_dir)
        token = devkeys.mint_jwt(
            key, arguments.accounts, scope=scope, subject=arguments.subject, expires_in=arguments.expires_in
        )
        print(token)
        return 0

    from apitokens_dev.server import ServeError, serve

    try:
        return serve(
            host=arguments.host,
            port=arguments.port,
            dynamodb_endpoint=arguments.dynamodb_endpoint,
            table=arguments.table,
            state_dir=arguments.state_dir,
        )
    except ServeError as error:
        print(f"apitokens serve: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting up
        return 0


if __name__ == "__main__":
    sys.exit(main())
