"""Audit events, usage and the expiry sweep over real HTTP through `apitokens serve`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.harness import ACCOUNT, LocalServer, cli


def test_audit_events_and_usage_over_http(server: LocalServer, jwt: str) -> None:
    created = server.create_token(jwt, name="audited", scopes=["tokens:read"])
    sid = created["sid"]
    token_call = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens", token=created["token"])
    assert token_call.status == 200
    usage = server.request("GET", f"/accounts/{ACCOUNT}/apiTokens/{sid}/usage", token=jwt)
    assert usage.status == 200
    assert usage.body["lastUsedAt"] is not None
    assert [client["ip"] for client in usage.body["recentClients"]] == ["127.0.0.1"]
    listed = server.request("GET", f"/accounts/{ACCOUNT}/auditEvents?apiTokenSid={sid}", token=jwt)
    assert listed.status == 200
    assert [event["type"] for event in listed.body["records"]] == ["token.used_from_new_ip", "token.created"]
    assert created["token"] not in listed.text
    # The token itself may read them (tokens:read).
    assert server.request("GET", f"/accounts/{ACCOUNT}/auditEvents", token=created["token"]).status == 200
    bad = server.request("GET", f"/accounts/{ACCOUNT}/auditEvents?type=token.nope", token=jwt)
    assert bad.status == 400
    assert bad.body["error"]["code"] == "invalid_request"
    assert server.request("GET", f"/accounts/{ACCOUNT}/auditEvents?startingAfter=evt_x", token=jwt).status == 400


def test_run_scheduled_expiry_against_the_local_server(server: LocalServer, jwt: str) -> None:
    expires_at = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    created = server.create_token(jwt, name="expiring", scopes=["tokens:read"], expiresAt=expires_at)
    later = (datetime.now(UTC) + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = cli("run-scheduled", "expiry", "--now", later, cwd=server.workdir)
    assert json.loads(run.stdout.strip().splitlines()[-1])["expiring"] >= 1
    query = f"/accounts/{ACCOUNT}/auditEvents?apiTokenSid={created['sid']}&type=token.expiring"
    [warning] = server.request("GET", query, token=jwt).body["records"]
    assert warning["daysLeft"] == 6
    again = cli("run-scheduled", "expiry", "--now", later, cwd=server.workdir)
    assert json.loads(again.stdout.strip().splitlines()[-1])["expiring"] == 0
    refused = cli("run-scheduled", "expiry", "--now", "yesterday", cwd=server.workdir, check=False)
    assert refused.returncode == 2
