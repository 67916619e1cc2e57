"""X-Ray tracing, opt-in (EnableTracing): importing the X-Ray SDK costs every cold start, so it
is loaded only when a deployment asks for traces."""

from __future__ import annotations

from apitokens.settings import Settings


def enable_if_configured(settings: Settings) -> bool:
    """Starts Powertools Tracer, which patches botocore so DynamoDB calls become subsegments."""
    if not settings.enable_tracing:
        return False
    from aws_lambda_powertools import Tracer

    Tracer(service=settings.service_name, auto_patch=True)
    return True
