"""The functions' layers: the shared layer always, the X-Ray SDK's tracing layer only when
EnableTracing is true, and the shared layer does not carry what the tracing layer does."""

from __future__ import annotations

from pathlib import Path

from apitokens_dev.template import load_template, resource

ROOT = Path(__file__).resolve().parents[2]


def test_every_function_gets_the_shared_layer_and_the_tracing_layer_only_with_tracing_on() -> None:
    template = load_template()
    layers = template["Globals"]["Function"]["Layers"]
    assert {"Ref": "SharedLayer"} in layers
    assert {"Fn::If": ["TracingOn", {"Ref": "TracingLayer"}, {"Ref": "AWS::NoValue"}]} in layers
    assert template["Conditions"]["TracingOn"] == {"Fn::Equals": [{"Ref": "EnableTracing"}, "true"]}
    assert resource("TracingLayer")["Condition"] == "TracingOn"
    # No function replaces the global layers (which would drop the condition).
    for logical_id, properties in template["Resources"].items():
        if properties["Type"] == "AWS::Serverless::Function":
            assert "Layers" not in properties.get("Properties", {}), logical_id


def test_both_layers_are_built_by_their_makefiles_from_hashed_locks() -> None:
    for logical_id, directory in (("SharedLayer", "layers/shared"), ("TracingLayer", "layers/tracing")):
        layer = resource(logical_id)
        assert layer["Properties"]["ContentUri"] == f"{directory}/"
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        makefile = (ROOT / directory / "Makefile").read_text(encoding="utf-8")
        assert f"build-{logical_id}:" in makefile
        assert "--require-hashes -r requirements.txt" in makefile
        # The lock is complete without the runtime's packages: pip must not resolve them again.
        assert "--no-deps" in makefile
