import sys

from apitokens.settings import Settings
from apitokens.tracing import enable_if_configured


def test_tracing_is_off_unless_configured() -> None:
    assert enable_if_configured(Settings(table_name="t")) is False


def test_tracing_on_patches_botocore_through_the_xray_sdk(monkeypatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "IGNORE_ERROR")
    assert enable_if_configured(Settings(table_name="t", enable_tracing=True)) is True
    assert "aws_xray_sdk" in sys.modules
