"""POST /secret-scanning/github: GitHub's secret-scanning partner endpoint (no authorizer).

The signature over the raw body is verified before anything is parsed; every reported token of
this deployment is revoked as leaked (descendants too) and GitHub gets its feedback list.
"""

from apitokens.startup import lambda_init

with lambda_init():  # no garbage collection during init (apitokens/startup.py)
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.metrics import MetricUnit

    from apitokens.domain import token_api
    from apitokens.domain.timeutil import format_timestamp, utcnow
    from apitokens.rules import leaks
    from apitokens.settings import get_settings
    from apitokens.wire.http import (
        body_bytes,
        create_public_app,
        json_response,
        lambda_handler,
        metrics,
        parse_body,
        repository,
        route,
    )
    from apitokens.wire.leak_models import MAX_GITHUB_REPORT_BYTES, GithubFeedback, GithubFeedbackList, GithubReport
    from apitokens.wire.models import build

    # Built at import (cold start), not on the first request: only this handler's models.
    build(GithubReport, GithubFeedbackList)
    app = create_public_app("github_secret_scanning", max_body_bytes=MAX_GITHUB_REPORT_BYTES)
    tokens = repository()
    github_keys = leaks.GithubKeys(get_settings().github_keys_url)


@route(app, token_api.GITHUB_SECRET_SCANNING)
def github_report() -> Response[str]:
    headers = app.current_event.headers
    github_keys.verify(body_bytes(app), headers.get(leaks.IDENTIFIER_HEADER), headers.get(leaks.SIGNATURE_HEADER))
    matches = parse_body(app, GithubReport).root
    findings = [leaks.Finding(match.token, match.type, match.source, match.url) for match in matches]
    verdicts = leaks.report(tokens, get_settings(), findings, format_timestamp(utcnow()))
    leaked = sum(verdict.label == "true_positive" for verdict in verdicts)
    metrics.add_metric(name="TokensReportedLeaked", unit=MetricUnit.Count, value=leaked)
    feedback = [GithubFeedback(token_hash=v.token_hash, token_type=v.token_type, label=v.label) for v in verdicts]
    return json_response(200, GithubFeedbackList(feedback))


handler = lambda_handler(app)
