"""The authorizer's own DynamoDB client against botocore's, over real HTTP to a local stub that
answers at once: the CPU each spends per GetItem (building, signing, sending, reading and
parsing one request), and the authorizer's whole warm request with each.

Runs as its own interpreter (`python bench/client.py OUTPUT.json`, started by run.py); the stub
is another process (`python bench/client.py --serve PORT_FILE ITEM_FILE`), a keep-alive HTTP/1.1
server answering every request with the same GetItem answer, so none of its work is on the
measured thread's CPU clock. Batches of the candidate and of the baseline alternate; a figure is
the median over batches of the time per call, on the thread's CPU clock (the figure) and on the
wall clock (beside it).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import AUTHORIZER, BENCH, PYTHON, CountingSink, Figure, lambda_context, lambda_environment
from scale import event_for
from warm import Timing, with_authorization

if TYPE_CHECKING:
    from apitokens.domain.records import TokenRecord

ACCOUNT_SID = "acc_abc123def456ghi789jkl012"
TOKEN_SID = "tok_abc123def456ghi789jkl012"


def serve(port_file: str, item_file: str) -> None:
    """The stub: every POST answered 200 with ITEM_FILE's GetItem answer, connections kept alive."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = Path(item_file).read_bytes()

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)  # one thread per kept-alive connection
    Path(port_file).write_text(str(server.server_address[1]), encoding="utf-8")
    server.serve_forever()


@contextlib.contextmanager
def stub_endpoint(answer: dict[str, Any]) -> Iterator[str]:
    """The stub in its own process while the block runs; yields its URL."""
    with tempfile.TemporaryDirectory() as scratch:
        port_file, item_file = Path(scratch) / "port", Path(scratch) / "item.json"
        item_file.write_text(json.dumps(answer), encoding="utf-8")
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file), str(item_file)])
        try:
            for _ in range(600):
                if port_file.exists() and port_file.read_text(encoding="utf-8"):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text(encoding='utf-8')}"
        finally:
            child.kill()
            child.wait()


def alternate(candidate: Callable[[], Any], baseline: Callable[[], Any], *, batches: int, batch_size: int) -> Timing:
    """Median CPU and wall time per call of each, in alternating batches (the first pair is warm-up)."""
    timing = Timing()
    for index in range(batches + 1):
        pair = [(candidate, timing.candidate_ns, timing.candidate_wall_ns)]
        pair.append((baseline, timing.baseline_ns, timing.baseline_wall_ns))
        if index % 2:
            pair.reverse()
        for function, results, wall_results in pair:
            gc.collect()
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            for _ in range(batch_size):
                function()
            elapsed_cpu, elapsed = time.thread_time_ns() - started_cpu, time.perf_counter_ns() - started
            if index:
                results.append(elapsed_cpu / batch_size)
                wall_results.append(elapsed / batch_size)
    return timing


def bench_record() -> TokenRecord:
    """The token whose lookup item the benches answer with: active, never expiring, tokens:read."""
    from apitokens.domain.records import TokenRecord

    return TokenRecord(
        sid=TOKEN_SID,
        account_sid=ACCOUNT_SID,
        name="bench",
        description=None,
        scopes=("tokens:read",),
        expires_at=None,
        is_active=True,
        created_at="2026-01-01T00:00:00.000Z",
    )


def lookup_answer(token: str) -> dict[str, Any]:
    """The GetItem answer for the token's lookup item, used a moment ago (no lastUsedAt write)."""
    from apitokens.domain import tokens
    from apitokens.store.items import lookup_item

    item = lookup_item(bench_record(), tokens.digest(token))
    # Far ahead: the steady state, where a request never writes lastUsedAt.
    item["lastUsedAt"] = {"S": "2999-01-01T00:00:00.000Z"}
    return {"Item": item}


def measure(batches: int, batch_size: int) -> dict[str, Any]:
    import boto3
    from warm import load_function

    from apitokens.domain import tokens
    from apitokens.settings import get_settings
    from apitokens.store import keys
    from apitokens.store.driver import create_client
    from apitokens.store.dynamodb_http import HttpDynamoDBClient
    from apitokens_dev.template import dynamodb_clients

    settings = get_settings()
    token = tokens.generate(settings.token_prefix)
    request: dict[str, Any] = {
        "TableName": settings.table_name,
        "Key": keys.secret_key(tokens.digest(token)),
        "ConsistentRead": True,
    }
    context = lambda_context()
    event = with_authorization(event_for("authorizer_api_token", ACCOUNT_SID), f"Bearer {token}")
    with stub_endpoint(lookup_answer(token)) as url:
        os.environ["DYNAMODB_ENDPOINT_URL"] = url
        get_settings.cache_clear()
        own = HttpDynamoDBClient.from_settings(get_settings())
        botocore_client = create_client(get_settings())
        # The authorizer as deployed (its own client), and as before it (a boto3 client).
        authorizer, namespace = load_function(AUTHORIZER)
        (authorizer_client,) = dynamodb_clients(namespace)
        boto3_authorizer, boto3_namespace = load_function(AUTHORIZER)
        boto3_namespace["authorizer"]._repository.table.client = boto3.client(
            "dynamodb", region_name=settings.aws_region, endpoint_url=url, config=botocore_client.meta.config
        )
        if authorizer(event, context)["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            raise RuntimeError("the authorizer did not allow the stub's token")
        if own.get_item(**request)["Item"] != botocore_client.get_item(**request)["Item"]:
            raise RuntimeError("the two clients read different items")
        gc.collect()
        gc.freeze()
        return {
            "get_item": asdict(
                alternate(
                    lambda: own.get_item(**request),
                    lambda: botocore_client.get_item(**request),
                    batches=batches,
                    batch_size=batch_size,
                )
            ),
            "authorizer": asdict(
                alternate(
                    lambda: authorizer(event, context),
                    lambda: boto3_authorizer(event, context),
                    batches=batches,
                    batch_size=batch_size,
                )
            ),
            "connections_opened": authorizer_client.connections_opened + own.connections_opened,
        }


def run(batches: int, batch_size: int) -> dict[str, Any]:
    """This module in its own interpreter (a heap like a Lambda worker's); its result."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "client.json"
        argv = [PYTHON, __file__, str(output), "--batches", str(batches), "--batch-size", str(batch_size)]
        completed = subprocess.run(argv, cwd=BENCH.parent, capture_output=True, check=False)
        if completed.returncode != 0:
            raise RuntimeError(f"client timings failed:\n{completed.stderr.decode(errors='replace')}")
        result: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        return result


def figures(result: dict[str, Any], goal: float) -> tuple[list[Figure], list[str]]:
    """The table's rows of this measurement, and its notes."""
    get_item, authorizer = Timing(**result["get_item"]), Timing(**result["authorizer"])
    rows = [
        Figure(
            "authorizer client CPU per GetItem",
            get_item.candidate / 1000,
            get_item.baseline / 1000,
            "us",
            goal,
            "store/dynamodb_http vs botocore (boto3 client, the functions' Config), same GetItem, "
            "over HTTP to a local stub answering at once; the thread's CPU clock",
        )
    ]
    notes = [
        "The authorizer's own DynamoDB client vs botocore, over HTTP to a local stub (CPU | wall per call):",
        f"  GetItem: {get_item.candidate / 1000:.1f} us vs {get_item.baseline / 1000:.1f} us "
        f"(x{get_item.ratio:.3f} | x{get_item.wall_ratio:.3f})",
        f"  the authorizer's whole API-token request, own client vs a boto3 client: "
        f"{authorizer.candidate / 1000:.1f} us vs {authorizer.baseline / 1000:.1f} us "
        f"(x{authorizer.ratio:.3f} | x{authorizer.wall_ratio:.3f})",
        f"  connections opened over both runs: {result['connections_opened']} (kept alive)",
    ]
    return rows, notes


def cold_notes(cases: dict[str, Any]) -> list[str]:
    """The authorizer's cold start against the bare interpreter as well as against the baseline."""
    interpreter, baseline, authorizer = cases["interpreter"], cases["baseline"], cases[AUTHORIZER]
    return [
        f"Authorizer cold start {authorizer.wall:.1f} ms: x{authorizer.wall / interpreter.wall:.2f} the bare "
        f"interpreter ({interpreter.wall:.1f} ms), x{authorizer.wall / baseline.wall:.3f} boto3 + one DynamoDB "
        f"client ({baseline.wall:.1f} ms); CPU x{authorizer.cpu / interpreter.cpu:.2f} | "
        f"x{authorizer.cpu / baseline.cpu:.3f}"
    ]


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description="the authorizer's client vs botocore; started by bench/run.py")
    parser.add_argument("output")
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--batch-size", type=int, default=200)
    arguments = parser.parse_args()
    os.environ.update(lambda_environment(AUTHORIZER))
    sink = CountingSink()
    with contextlib.redirect_stdout(sink):  # the authorizer's log lines, as Lambda's stdout
        result = measure(arguments.batches, arguments.batch_size)
    sink.close()
    Path(arguments.output).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
