"""The local server's embedded database: moto's DynamoDB server in this process, with the
patches that give it DynamoDB's guarantees and costs (moto_patches), and a whole-table read for
the tests and benchmarks that look at everything."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from apitokens_dev.moto_patches import install_local_server_patches


@contextlib.contextmanager
def embedded_dynamodb() -> Iterator[str]:
    """moto's DynamoDB on a free loopback port, for as long as the block runs; yields its URL."""
    from moto.server import ThreadedMotoServer

    # moto's werkzeug server would log every request it answers.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    install_local_server_patches()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of the table, in key order: a Scan, for tests and benchmarks that look at the
    whole table (the service itself never scans)."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
