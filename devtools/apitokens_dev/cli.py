"""`apitokens`: the developer command line (serve, dev-jwt, dev-credentials, dev-leak-report, openapi, admin)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from apitokens.domain import ids
from apitokens.domain.scopes import known_scopes
from apitokens.settings import MAX_LOOKUP_COPIES, MAX_TOKENS_PER_ACCOUNT_RANGE, SettingsError, get_deployment
from apitokens_dev import devkeys

PARAMETER_OVERRIDES = "--parameter-overrides"


def _apply_parameter_overrides(items: list[str] | None) -> dict[str, str]:
    """The token stack's parameter overrides, set in this process's environment as the functions
    would have them (ParameterError or SettingsError naming a refused one)."""
    overrides: dict[str, str] = {}
    if items:
        from apitokens_dev import parameters  # the template's reader: the `local` extra

        overrides = parameters.parse(items)
        os.environ.update(parameters.overridden_environment(overrides))
    get_deployment.cache_clear()
    get_deployment()
    return overrides


def _account_fault(accounts: list[str]) -> str | None:
    """Checked once the parameter overrides apply: AccountIdPattern decides what an account is."""
    for value in accounts:
        if not ids.is_account_sid(value):
            return f"argument --account: {value!r} is not an account sid ({ids.account_sid_rule()})"
    return None


# The longest lifetime a token or a development JWT is given from the command line; leave
# --expires-in out for a token that never expires.
MAX_EXPIRES_IN_SECONDS = 100 * 365 * 24 * 3600


def _whole_number(low: int, high: int, unit: str, note: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, counted in `unit`; anything else is
    refused in one line that gives the range and its unit (argparse names the flag)."""

    def parse(value: str) -> int:
        try:
            number: int | None = int(value)
        except ValueError:  # not a number, or more digits than Python converts
            number = None
        if number is None or not low <= number <= high:
            counted = f" {unit}" if unit else ""
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}{counted}{note}")
        return number

    return parse


_expires_in = _whole_number(1, MAX_EXPIRES_IN_SECONDS, "seconds", " (100 years; leave the flag out for no expiry)")
_max_tokens = _whole_number(*MAX_TOKENS_PER_ACCOUNT_RANGE, "tokens", " (the stack's MaxTokensPerAccount)")
_port = _whole_number(0, 65535, "", " (a port; 0 for any free one)")
_ttl = _whole_number(0, 3600, "seconds", " (AuthorizerCacheTtl; 0 turns the cache off)")


class _OneLineParser(argparse.ArgumentParser):
    """Admin commands refuse bad arguments with one line (and exit 2), no usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _template(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value!r} is not a file (an API's SAM template)")
    return path


def _stack_parameters() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        PARAMETER_OVERRIDES,
        dest="parameter_overrides",
        nargs="+",
        default=None,
        metavar="KEY=VALUE",
        help="the token stack's parameters, as `sam deploy --parameter-overrides` takes them "
        "(e.g. TokenPrefix=acme AccountIdPattern='org_[A-Za-z0-9]{16}'); default: template.yaml's defaults",
    )
    return parent


_lookup_copies = _whole_number(1, MAX_LOOKUP_COPIES, "copies", " (the stack's LookupCopies)")


def _admin_target(parser: argparse.ArgumentParser) -> None:
    """Where an admin action writes: a deployed stack, or a table, or the local server's."""
    parser.add_argument(
        "--stack-name",
        metavar="NAME",
        help="the deployed stack: its table, TokenEnvironment, LookupCopies and MaxTokensPerAccount (flags given win)",
    )
    parser.add_argument("--table", help="table name (the stack output TokensTableName)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else your profile's)")
    parser.add_argument("--profile", help="AWS profile for credentials and region (default: AWS_PROFILE)")
    parser.add_argument("--dynamodb-endpoint", metavar="URL", help="e.g. the one `apitokens serve` prints")
    parser.add_argument(
        "--environment",
        choices=("live", "test"),
        default=None,
        help="token kind (default: the stack's TokenEnvironment, else live, or test with --dynamodb-endpoint)",
    )


def _admin_parser(commands: Any) -> None:
    admin = commands.add_parser(
        "admin",
        help="create, revoke or find a token directly in a table (the first token, without an identity provider)",
        description="Write to a deployed stack's table with your AWS credentials, or to `apitokens serve`'s "
        "(the endpoint and table it prints).",
    )
    actions = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION", parser_class=_OneLineParser)
    target = argparse.ArgumentParser(add_help=False, parents=[_stack_parameters()])
    _admin_target(target)
    create = actions.add_parser("create-token", parents=[target], help="create a token; its value is the last line")
    create.add_argument("--account", required=True, metavar="ACC")
    create.add_argument("--scope", dest="scopes", action="append", required=True, metavar="SCOPE")
    create.add_argument("--name", required=True)
    create.add_argument("--expires-in", type=_expires_in, metavar="SECONDS")
    create.add_argument(
        "--max-tokens-per-account",
        type=_max_tokens,
        metavar="N",
        help="the stack's MaxTokensPerAccount (default: the stack's, else 100)",
    )
    create.add_argument(
        "--lookup-copies",
        type=_lookup_copies,
        metavar="N",
        help="the stack's LookupCopies (default: the stack's, else 8)",
    )
    revoke = actions.add_parser("revoke", parents=[target], help="deactivate a token")
    revoke.add_argument("--account", required=True, metavar="ACC")
    revoke.add_argument("--token-sid", required=True, metavar="SID")
    find = actions.add_parser(
        "find-token",
        parents=[target],
        help="which token a found value is (account, sid, state); the value is never printed",
    )
    find.add_argument("value", metavar="VALUE", help="the token value found, or - to read it from standard input")


def _run_admin(arguments: argparse.Namespace) -> int:
    from apitokens_dev import admin, admin_aws

    prog = f"apitokens admin {arguments.admin_command}"
    try:
        target = admin_aws.target_from(arguments)
        if arguments.admin_command == "create-token":
            admin.create_token(
                target,
                arguments.account,
                arguments.scopes,
                arguments.name,
                expires_in=arguments.expires_in,
                out=sys.stdout,
            )
        elif arguments.admin_command == "find-token":
            value = sys.stdin.readline().strip() if arguments.value == "-" else arguments.value
            admin.find_token(target, value, sys.stdout)
        else:
            admin.revoke(target, arguments.account, arguments.token_sid, sys.stdout)
    except admin.AdminError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _installed_version() -> str:
    """The release this command belongs to: pyproject.toml's version, as pip installed it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("apitokens")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitokens", description="apitokens developer tools.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=devkeys.STATE_DIR,
        help="where the development signing key is kept (default: .apitokens in the current directory)",
    )

    stack_parameters = _stack_parameters()
    serve = commands.add_parser(
        "serve",
        parents=[state, stack_parameters],
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
    serve.add_argument(
        "--api",
        dest="apis",
        action="append",
        type=_template,
        default=[],
        metavar="TEMPLATE",
        help="also serve this API's routes (an AWS::Serverless::HttpApi template, e.g. "
        "examples/metrics-api/template.yaml) behind the same authorizer; repeatable",
    )
    serve.add_argument(
        "--authorizer-cache-ttl",
        type=_ttl,
        default=None,
        metavar="SECONDS",
        help="AuthorizerCacheTtl (default: the template's, 0): above 0 the authorizer's answers are cached",
    )

    dev_jwt = commands.add_parser(
        "dev-jwt",
        parents=[state, stack_parameters],
        help="print a development user JWT that `apitokens serve` accepts",
        description="Print (on the last line) a user JWT signed with the development key of --state-dir, "
        "accepted by `apitokens serve` run from the same directory.",
    )
    dev_jwt.add_argument(
        "--account",
        dest="accounts",
        action="append",
        required=True,
        metavar="ACC",
        help="an account the user may act on (repeat for several)",
    )
    dev_jwt.add_argument(
        "--expires-in",
        type=_expires_in,
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

    commands.add_parser(
        "dev-credentials",
        parents=[state],
        help="print the development AWS credentials that `apitokens serve` accepts on IAM-authorized routes",
        description="Print, as shell export lines, the development AWS access key of --state-dir: SigV4 "
        "signatures made with it (service execute-api, region us-east-1) are what `apitokens serve` run from "
        'the same directory accepts on POST /v1/apiTokens/verify. Use: eval "$(apitokens dev-credentials)".',
    )

    leak = commands.add_parser(
        "dev-leak-report",
        parents=[state, stack_parameters],
        help="print a GitHub secret-scanning report, signed with the development key, for curl",
        description="Print the headers and body of a GitHub secret-scanning report naming TOKEN..., signed "
        "with the development GitHub key of --state-dir, which `apitokens serve` run from the same directory "
        "accepts at POST /v1/secret-scanning/github; then a curl line that sends it.",
    )
    leak.add_argument("tokens", nargs="+", metavar="TOKEN", help="a token value found somewhere")
    leak.add_argument("--url", default="", help="where it was found (the report's url)")
    leak.add_argument(
        "--base-url",
        default="http://127.0.0.1:3000/v1",
        help="the API, with or without its stage /v1 (default: http://127.0.0.1:3000/v1)",
    )

    scheduled = commands.add_parser(
        "run-scheduled",
        parents=[state],
        help="run a scheduled function once against the local server's table",
        description="Run a scheduled function of template.yaml once, against the DynamoDB and table of "
        "`apitokens serve` run from the same directory (or --dynamodb-endpoint/--table).",
    )
    scheduled.add_argument("job", choices=["expiry"], help="expiry: the daily expiry warnings sweep")
    scheduled.add_argument("--now", metavar="ISO", help="the time to run at (default: now), e.g. 2030-12-01T00:00:00Z")
    scheduled.add_argument("--dynamodb-endpoint", metavar="URL", help="default: the local server's")
    scheduled.add_argument("--table", help="default: the local server's")

    openapi = commands.add_parser("openapi", help="print the OpenAPI document of the API (JSON)")
    openapi.add_argument(
        "--server-url",
        metavar="URL",
        help="the API's base URL in the document's servers, e.g. the stack output ApiUrl "
        "(default: http://127.0.0.1:3000/v1, what `apitokens serve` listens on)",
    )
    _admin_parser(commands)
    return parser


def _scope(parser: argparse.ArgumentParser, values: list[str] | None) -> str | None:
    if values is None:
        return None
    requested = [scope for value in values for scope in value.split()]
    known = known_scopes()
    unknown = sorted(set(requested) - known)
    if unknown:
        parser.error(f"unknown scope(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return " ".join(dict.fromkeys(requested))


def _with_stage(base_url: str) -> str:
    """The API's base URL with its stage (template.yaml's StageName), whether given with it or not."""
    from apitokens_dev.template import stage_name

    base = base_url.rstrip("/")
    stage = stage_name()
    return base if urlsplit(base).path.rpartition("/")[2] == stage else f"{base}/{stage}"


def _dev_leak_report(arguments: argparse.Namespace) -> int:
    headers, body = devkeys.github_report(devkeys.github_key(arguments.state_dir), arguments.tokens, arguments.url)
    for name, value in headers.items():
        print(f"{name}: {value}")
    print()
    print(body.decode("utf-8"))
    print()
    options = " ".join(f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items())
    url = f"{_with_stage(arguments.base_url)}/secret-scanning/github"
    print(f"curl -s -X POST {shlex.quote(url)} {options} --data-binary {shlex.quote(body.decode('utf-8'))}")
    return 0


# The commands that take the token stack's parameters (--parameter-overrides).
_WITH_STACK_PARAMETERS = ("serve", "dev-jwt", "admin", "dev-leak-report")


def _refusal(arguments: argparse.Namespace) -> str | None:
    """The one-line refusal of a parameter override or an account the deployment refuses."""
    if arguments.command not in _WITH_STACK_PARAMETERS:
        return None
    try:
        arguments.stack_overrides = _apply_parameter_overrides(arguments.parameter_overrides)
    except (ValueError, SettingsError) as error:  # parameters.ParameterError is a ValueError
        return str(error)
    account = getattr(arguments, "account", None)
    return _account_fault(getattr(arguments, "accounts", None) or ([account] if account is not None else []))


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one return per command
    parser = _parser()
    arguments = parser.parse_args(argv)
    refusal = _refusal(arguments)
    if refusal is not None:
        command = " ".join(filter(None, (arguments.command, getattr(arguments, "admin_command", None))))
        print(f"apitokens {command}: error: {refusal}", file=sys.stderr)
        return 2
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

    if arguments.command == "dev-credentials":
        access_key, secret = devkeys.dev_credentials(arguments.state_dir)
        print(f"export AWS_ACCESS_KEY_ID={access_key}")
        print(f"export AWS_SECRET_ACCESS_KEY={secret}")
        print(f"export AWS_REGION={devkeys.DEV_CREDENTIALS_REGION}")
        return 0
    if arguments.command == "admin":
        return _run_admin(arguments)
    if arguments.command == "dev-leak-report":
        return _dev_leak_report(arguments)

    if arguments.command == "run-scheduled":
        from apitokens_dev.scheduled import run_expiry

        try:
            print(
                json.dumps(run_expiry(arguments.state_dir, arguments.now, arguments.dynamodb_endpoint, arguments.table))
            )
        except ValueError as error:
            print(f"apitokens run-scheduled: error: {error}", file=sys.stderr)
            return 2
        return 0

    from apitokens_dev.server import ServeError, serve

    try:
        return serve(
            host=arguments.host,
            port=arguments.port,
            dynamodb_endpoint=arguments.dynamodb_endpoint,
            table=arguments.table,
            state_dir=arguments.state_dir,
            apis=tuple(arguments.apis),
            authorizer_cache_ttl=arguments.authorizer_cache_ttl,
            parameter_overrides=arguments.stack_overrides,
        )
    except ServeError as error:
        print(f"apitokens serve: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting up
        return 0


if __name__ == "__main__":
    sys.exit(main())
