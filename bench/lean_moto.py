"""moto for the benchmark's data at scale: the same answers, at a cost that follows the request.

moto's DynamoDB backs up the whole table for each item of a TransactWriteItems and reads every
item of a partition for a Query, so with 100,000 items or a 1,000-descendant cascade its
bookkeeping, not the requests, would decide the benchmark's time and memory. lean_moto() keeps
moto's own code for every answer and changes only that bookkeeping (apitokens_dev.moto_patches:
the local server's patches, and a Query that reads only its prefix). What the benchmark counts,
requests, items and capacity units, does not change.
"""

from __future__ import annotations


def lean_moto() -> None:
    """moto made to cost what the benchmark's requests cost, not what the table holds (idempotent)."""
    from apitokens_dev import moto_patches

    moto_patches.stop_moto_dynamodb_instance_tracking()
    moto_patches.drop_empty_moto_partitions()
    moto_patches.roll_back_moto_transactions_by_item()
    moto_patches.queries_read_only_their_prefix()
