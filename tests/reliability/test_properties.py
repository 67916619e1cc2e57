"""Property-based tests: the token format, sid order, pagination and the route/scope policy hold
for every input hypothesis can think of, not only for the examples the other tests picked.

Example counts come from conftest.examples() (the derandomized "ci" profile by default).
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from apitokens.auth import policy
from apitokens.domain import base62, ids, tokens
from apitokens.domain.errors import Forbidden, InsufficientScope
from apitokens.domain.principal import Principal, PrincipalType
from apitokens.domain.scopes import ALL_SCOPES, ROUTES, Route
from apitokens_dev import iam
from tests.harness import ACCOUNT, API_ARN, OTHER_ACCOUNT, Functions, method_arn
from tests.reliability.conftest import Stack, examples

# -- the token format ----------------------------------------------------------------------------

BODY_LENGTH = tokens.TOKEN_LENGTH - tokens.CHECKSUM_LENGTH
# Base62 and the characters a token sits next to (separators, quotes, whitespace, controls)...
NEAR_MISSES = base62.ALPHABET + "_-+/=.:;,~'\"` \t\r\n\x00\x7f"
# ...and any code point at all (letters of other scripts, digits of other systems, emoji).
WIDE_CHARACTERS = st.one_of(st.sampled_from(NEAR_MISSES), st.characters())
prefixes = st.sampled_from(tokens.PREFIXES)


@st.composite
def token_values(draw: st.DrawFn) -> str:
    """A well-formed token built as tokens.generate builds one, its secret chosen by hypothesis."""
    body = draw(prefixes) + draw(
        st.text(alphabet=base62.ALPHABET, min_size=tokens.SECRET_LENGTH, max_size=tokens.SECRET_LENGTH)
    )
    return body + tokens.checksum(body)


def accepted_anywhere(value: str) -> bool:
    return any(tokens.is_well_formed(value, prefix) for prefix in tokens.PREFIXES)


@examples(200)
@given(token_values())
def test_well_formed_tokens_round_trip(value: str) -> None:
    prefix = value[: len("at_live_")]
    other = next(candidate for candidate in tokens.PREFIXES if candidate != prefix)
    assert len(value) == tokens.TOKEN_LENGTH
    assert tokens.looks_like_token(value, "at")
    assert tokens.is_well_formed(value, prefix)
    assert not tokens.is_well_formed(value, other)  # a test stage refuses live tokens and vice versa
    digest = tokens.digest(value)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == tokens.digest(value)
    assert value[len(prefix) :] not in digest


@examples(500)
@given(token_values(), st.data())
def test_any_one_character_substitution_is_refused(value: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(value) - 1), label="position")
    replacement = data.draw(WIDE_CHARACTERS.filter(lambda char: char != value[position]), label="replacement")
    mutated = value[:position] + replacement + value[position + 1 :]
    assert not accepted_anywhere(mutated)


@examples(200)
@given(token_values(), st.data())
def test_truncated_and_extended_tokens_are_refused(value: str, data: st.DataObject) -> None:
    truncated = value[: data.draw(st.integers(0, len(value) - 1), label="kept")]
    extended = value + data.draw(st.text(WIDE_CHARACTERS, min_size=1, max_size=8), label="suffix")
    prepended = data.draw(st.text(WIDE_CHARACTERS, min_size=1, max_size=8), label="before") + value
    for mutated in (truncated, extended, prepended):
        assert not accepted_anywhere(mutated), mutated


@examples(300)
@given(token_values(), st.data())
def test_typos_insertions_deletions_and_swaps_are_refused(value: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(value) - 1), label="position")
    inserted = value[:position] + data.draw(WIDE_CHARACTERS, label="inserted") + value[position:]
    deleted = value[:position] + value[position + 1 :]
    assert not accepted_anywhere(inserted)
    assert not accepted_anywhere(deleted)
    swap = data.draw(st.integers(0, len(value) - 2), label="swap")
    assume(value[swap] != value[swap + 1])
    swapped = value[:swap] + value[swap + 1] + value[swap] + value[swap + 2 :]
    assert not accepted_anywhere(swapped)


SAMPLE = 20_000


def test_no_collisions_among_many_generated_tokens() -> None:
    values = [tokens.generate(tokens.PREFIXES[index % 2]) for index in range(SAMPLE)]
    assert all(accepted_anywhere(value) for value in values)
    assert len(set(values)) == SAMPLE
    assert len({value[len("at_live_") : BODY_LENGTH] for value in values}) == SAMPLE  # secrets alone
    assert len({tokens.digest(value) for value in values}) == SAMPLE


def test_no_collisions_among_many_sids_of_one_instance() -> None:
    sids = [ids.new_token_sid() for _ in range(SAMPLE)]
    assert len(set(sids)) == SAMPLE
    assert sids == sorted(sids)
    assert all(ids.is_token_sid(sid) and len(sid) == 28 for sid in sids)


def test_no_collisions_among_sids_of_many_instances_in_one_millisecond() -> None:
    # Concurrent Lambda instances share no state: only the random part keeps their sids apart.
    now_ms = 1_765_000_000_000
    sids = {ids._MonotonicSidFactory().new(now_ms) for _ in range(SAMPLE)}
    assert len(sids) == SAMPLE


# -- sid order -----------------------------------------------------------------------------------


def sid_millis(sid: str) -> int:
    return base62.decode(sid[len(ids.TOKEN_SID_PREFIX) : len(ids.TOKEN_SID_PREFIX) + 9])


def fresh_base() -> int:
    """A millisecond later than any the process-wide sid state has used: the module keeps counting
    from its last sid when given an earlier one, so each example starts above that."""
    return sid_millis(ids.new_token_sid()) + 1


@examples(100)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=60))
def test_sids_of_non_decreasing_times_are_unique_and_sorted(steps: list[int]) -> None:
    base = fresh_base()
    times = [base + sum(steps[: index + 1]) for index in range(len(steps))]  # repeats: same millisecond
    sids = [ids.new_token_sid(now_ms=now) for now in times]
    assert all(ids.is_token_sid(sid) and len(sid) == 28 for sid in sids)
    assert len(set(sids)) == len(sids)
    assert sids == sorted(sids)  # generation order is sort order: "newest first" is a descending Query
    assert [sid_millis(sid) for sid in sids] == times  # the sid carries its millisecond


@examples(100)
@given(st.lists(st.integers(0, 200), min_size=1, max_size=60))
def test_sids_keep_generation_order_whatever_the_clock_does(offsets: list[int]) -> None:
    base = fresh_base()
    times = [base + offset for offset in offsets]  # any order: the clock may step back
    sids = [ids.new_token_sid(now_ms=now) for now in times]
    assert len(set(sids)) == len(sids)
    assert sids == sorted(sids)
    # An earlier millisecond than one already used continues counting from the latest one.
    assert [sid_millis(sid) for sid in sids] == [max(times[: index + 1]) for index in range(len(times))]


@examples(100)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=40))
def test_sids_of_a_later_millisecond_sort_after_whichever_instance_made_them(events: list[tuple[int, int]]) -> None:
    # Three Lambda instances, each with its own sid state, on one (non-decreasing) clock.
    instances = [ids._MonotonicSidFactory() for _ in range(3)]
    now = 1_765_000_000_000
    made: list[tuple[int, str]] = []
    for instance, step in events:
        now += step
        made.append((now, instances[instance].new(now)))
    assert len({sid for _, sid in made}) == len(made)
    for earlier_time, earlier in made:
        for later_time, later in made:
            if earlier_time < later_time:
                assert earlier < later


# -- pagination ----------------------------------------------------------------------------------


# The edges, whatever hypothesis draws: one token per page, a full last page, one token over.
@example(count=40, page_size=1, others=3, delete_each_cursor=True)
@example(count=30, page_size=15, others=0, delete_each_cursor=False)
@example(count=16, page_size=15, others=1, delete_each_cursor=True)
@examples(25)
@given(
    count=st.integers(0, 40),
    page_size=st.integers(1, 15),
    others=st.integers(0, 3),
    delete_each_cursor=st.booleans(),
)
def test_paging_visits_every_token_once_newest_first(
    stack: Stack, count: int, page_size: int, others: int, delete_each_cursor: bool
) -> None:
    stack.reset()  # each example starts from an empty table of its own
    event("no tokens" if count == 0 else "last page full" if count % page_size == 0 else "last page partial")
    event(f"{max(1, math.ceil(count / page_size))} pages" if count <= page_size * 2 else "3 or more pages")
    functions = stack.functions
    created = []
    for index in range(count):
        reply = functions.create(ACCOUNT, name=f"t{index}")
        assert reply.status == 201, reply.body
        created.append(reply.body["sid"])
        if index < others:  # another account's tokens, interleaved: never listed here
            assert functions.create(OTHER_ACCOUNT).status == 201

    pages, more = _list_every_page(functions, page_size, delete_each_cursor, most_pages=count + 2)
    visited = [sid for page in pages for sid in page]
    assert visited == list(reversed(created))  # each token once, newest first
    assert visited == sorted(created, reverse=True)
    assert len(pages) == max(1, math.ceil(count / page_size))
    assert all(len(page) == page_size for page in pages[:-1])
    assert more == [True] * (len(pages) - 1) + [False]


def _list_every_page(
    functions: Functions, page_size: int, delete_each_cursor: bool, most_pages: int
) -> tuple[list[list[str]], list[bool]]:
    """The account's token sids page by page, and each page's hasMore, following startingAfter
    (at most `most_pages` pages: a cursor that never ends the listing fails the test, not the run)."""
    pages: list[list[str]] = []
    more: list[bool] = []
    cursor: str | None = None
    while len(pages) < most_pages:
        query = {"limit": str(page_size)} if cursor is None else {"limit": str(page_size), "startingAfter": cursor}
        reply = functions.list(ACCOUNT, query=query)
        assert reply.status == 200, reply.body
        assert {record["accountSid"] for record in reply.body["records"]} <= {ACCOUNT}
        pages.append([record["sid"] for record in reply.body["records"]])
        more.append(reply.body["hasMore"])
        if not reply.body["hasMore"]:
            break
        cursor = pages[-1][-1]
        if delete_each_cursor:  # startingAfter is a position: a deleted sid still continues
            assert functions.delete(cursor, ACCOUNT).status == 200
    return pages, more


# -- the route/scope policy ----------------------------------------------------------------------

# Account sids of 24 and 27 characters, two of them prefixes of longer ones.
ACCOUNTS = (
    ACCOUNT,
    ACCOUNT + "xyz",
    OTHER_ACCOUNT,
    "acc_ABCDEFGHIJKLMNOPQRSTUVWX",
    "acc_ABCDEFGHIJKLMNOPQRSTUVWX012",
)
OTHER_METHODS = ("PATCH", "HEAD", "OPTIONS")


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    kind: PrincipalType = "token" if draw(st.booleans()) else "user"
    sid = draw(st.from_regex(ids.TOKEN_SID_PATTERN, fullmatch=True))
    return Principal(
        type=kind,
        id=sid if kind == "token" else "user_" + sid[4:],
        account_sids=draw(st.frozensets(st.sampled_from(ACCOUNTS))),
        scopes=draw(st.frozensets(st.sampled_from(sorted(ALL_SCOPES)))),
        token_sid=sid if kind == "token" else None,
    )


@examples(200)
def handlers_allow(principal: Principal, method: str, resource: str, account: str) -> bool:
    """What the handlers' re-check (policy.check_route) decides, as a boolean."""
    try:
        policy.check_route(principal, method, resource, account)
    except Forbidden:
        return False
    return True


@given(
    principal=principals(),
    requested=st.sampled_from(ROUTES),
    requested_account=st.sampled_from(ACCOUNTS),
    token_sid=st.from_regex(ids.TOKEN_SID_PATTERN, fullmatch=True),
)
def test_policy_allows_exactly_the_routes_of_the_principals_scopes_and_accounts(
    principal: Principal, requested: Route, requested_account: str, token_sid: str
) -> None:
    # The authorizer answers for the one request it saw: that request's ARN exactly, nothing else.
    requested_arn = method_arn(requested, requested_account, token_sid)
    decision = policy.iam_policy(principal, requested_arn, requested.method, requested.resource)
    document = decision["policyDocument"]
    for route in ROUTES:
        for account in ACCOUNTS:
            expected = route.scope in principal.scopes and account in principal.account_sids
            arn = method_arn(route, account, token_sid)
            assert handlers_allow(principal, route.method, route.resource, account) is expected
            assert iam.is_allowed(document, arn) is (expected and arn == requested_arn), (route, account)
            # Nothing opens another API or stage.
            assert not iam.is_allowed(document, arn.replace(API_ARN, API_ARN[: -len("/v1")] + "/v2"))
            assert not iam.is_allowed(document, arn.replace("a1b2c3d4e5", "zzzzzzzzzz"))
            if expected:
                policy.check_route(principal, route.method, route.resource, account)
            elif account not in principal.account_sids:
                with pytest.raises(Forbidden) as refused:
                    policy.check_route(principal, route.method, route.resource, account)
                assert not isinstance(refused.value, InsufficientScope)
            else:
                with pytest.raises(InsufficientScope, match=re.escape(route.scope)):
                    policy.check_route(principal, route.method, route.resource, account)
        for method in OTHER_METHODS:  # methods that are no route are never allowed
            assert not handlers_allow(principal, method, route.resource, requested_account)
            assert not iam.is_allowed(
                document, method_arn(route, requested_account, token_sid).replace(f"/{route.method}/", f"/{method}/")
            )
    # What the handlers re-check is what the authorizer decided on, for the request's account.
    if iam.is_allowed(document, requested_arn):
        context_principal = Principal.from_context(decision["context"])
        assert context_principal.account_sids == {requested_account}
        assert context_principal.scopes == principal.scopes
    assert decision["principalId"] == principal.id
