"""lineage.cascade_batches: a cascade's descendants packed into transactions by the items each
deactivation writes (the token item, every lookup copy, one audit event), never past DynamoDB's
100 items, in the order given, none lost or repeated."""

from __future__ import annotations

import pytest

from apitokens.domain.records import Child
from apitokens.store.lineage import AUDIT_ITEMS_PER_CHANGE, TRANSACTION_ITEMS, cascade_batch_size, cascade_batches


def children(*copies: int) -> list[Child]:
    return [
        Child(sid=f"tok_{index:024d}", secret_digest=f"{index:064x}", lookup_copies=count)
        for index, count in enumerate(copies)
    ]


def items_of(batch: list[Child]) -> int:
    return sum(1 + child.lookup_copies + AUDIT_ITEMS_PER_CHANGE for child in batch)


@pytest.mark.parametrize("copies", [1, 8, 40])
def test_children_of_one_copy_count_fill_each_transaction_exactly_as_cascade_batch_size_says(copies: int) -> None:
    given = children(*[copies] * 25)
    batches = list(cascade_batches(given))
    per_batch = cascade_batch_size(copies)
    assert [len(batch) for batch in batches[:-1]] == [per_batch] * (len(batches) - 1)
    assert 0 < len(batches[-1]) <= per_batch
    assert [child for batch in batches for child in batch] == given


def test_mixed_copy_counts_are_packed_to_the_last_child_that_fits() -> None:
    # 1 + 40 + 1 = 42 items, 1 + 8 + 1 = 10, 1 + 1 + 1 = 3: 42 + 42 + 10 = 94, + 10 = 104 > 100.
    given = children(40, 40, 8, 8, 1, 1)
    batches = list(cascade_batches(given))
    assert [[child.lookup_copies for child in batch] for batch in batches] == [[40, 40, 8], [8, 1, 1]]
    assert [items_of(batch) for batch in batches] == [94, 16]


def test_a_transaction_is_filled_to_exactly_one_hundred_items() -> None:
    # Ten children of 8 copies are 100 items: one transaction, not two.
    assert [len(batch) for batch in cascade_batches(children(*[8] * 10))] == [10]
    assert [len(batch) for batch in cascade_batches(children(*[8] * 11))] == [10, 1]


def test_no_batch_passes_the_limit_and_none_is_empty() -> None:
    given = children(*[(index * 7) % 41 + 1 for index in range(200)])
    batches = list(cascade_batches(given))
    assert all(batch and items_of(batch) <= TRANSACTION_ITEMS for batch in batches)
    assert [child for batch in batches for child in batch] == given


def test_no_children_no_transaction() -> None:
    assert list(cascade_batches([])) == []
