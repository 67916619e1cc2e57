"""The rules' ports in memory: a TokenStore, CredentialStore and EventStore without DynamoDB, so a
rule test runs without moto. It applies the domain's plans (domain/changes.py) as the store
does, with the store's checks on the token as read (active, not rolled, the account's limit);
the transactions and their conditions under concurrency are the moto tests' (tests/integration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from apitokens.domain import changes
from apitokens.domain.commands import UpdateToken
from apitokens.domain.errors import (
    ConcurrentModification,
    DomainError,
    TokenStateConflict,
    creator_refused,
    limit_reached,
    not_found,
)
from apitokens.domain.records import (
    LEAKED,
    PARENT_REVOKED,
    REVOKED,
    Child,
    Credential,
    EventPage,
    ExpiringToken,
    RecentClient,
    RevokedReason,
    TokenPage,
    TokenRecord,
    Usage,
    metadata_json,
)


@dataclass
class StoredToken:
    """A token as the table holds it: the record and what only the store sees."""

    record: TokenRecord
    digest: str
    has_children: bool = False
    rolled_to: str | None = None
    slot_released: bool = False
    slot_release_at: str | None = None
    recent_clients: tuple[RecentClient, ...] = ()
    expiry_notice: int | None = None
    leak: tuple[str, str] | None = None


@dataclass
class MemoryStore:
    """Every port of the rules but idempotency records (Powertools' own persistence)."""

    tokens: dict[tuple[str, str], StoredToken] = field(default_factory=dict)
    # (account, parent sid) -> child sid -> the edge
    edges: dict[tuple[str, str], dict[str, Child]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    # -- reads ---------------------------------------------------------------------------------

    def _stored(self, account_sid: str, token_sid: str) -> StoredToken:
        stored = self.tokens.get((account_sid, token_sid))
        if stored is None:
            raise not_found(account_sid, token_sid)
        return stored

    def _by_digest(self, secret_digest: str) -> StoredToken | None:
        return next((stored for stored in self.tokens.values() if stored.digest == secret_digest), None)

    def get(self, account_sid: str, token_sid: str) -> TokenRecord:
        return self._stored(account_sid, token_sid).record

    def list_page(self, account_sid: str, limit: int, starting_after: str | None) -> TokenPage:
        sids = sorted((sid for account, sid in self.tokens if account == account_sid), reverse=True)
        if starting_after is not None:
            sids = [sid for sid in sids if sid < starting_after]
        records = tuple(self.tokens[account_sid, sid].record for sid in sids[:limit])
        return TokenPage(records=records, has_more=len(sids) > limit)

    def usage(self, account_sid: str, token_sid: str) -> Usage:
        stored = self._stored(account_sid, token_sid)
        return Usage(stored.record.last_used_at, stored.recent_clients)

    def find_credential(self, secret_digest: str, copy: int | None = None) -> Credential | None:  # noqa: ARG002 - the port's signature: one copy here
        stored = self._by_digest(secret_digest)
        if stored is None:
            return None
        record = stored.record
        return Credential(
            account_sid=record.account_sid,
            token_sid=record.sid,
            scopes=record.scopes,
            expires_at=record.expires_at,
            is_active=record.is_active,
            last_used_at=record.last_used_at,
            recent_clients=stored.recent_clients,
            metadata=None if record.metadata is None else metadata_json(record.metadata),
            allowed_ips=record.allowed_ips,
        )

    def children(self, account_sid: str, parent_sid: str) -> Iterator[list[Child]]:
        yield list(self.edges.get((account_sid, parent_sid), {}).values())

    def ancestor_chain(self, account_sid: str, token_sid: str) -> changes.AncestorChain:
        """As the store reads it: the token and its ancestors up to a root or a deleted parent."""
        chain: changes.AncestorChain = []
        current: str | None = token_sid
        while current is not None and not changes.in_chain(current, chain):
            stored = self.tokens.get((account_sid, current))
            if stored is None:
                break
            chain.append((current, stored.record.parent_sid))
            current = stored.record.parent_sid
        return chain

    # -- a token's lifecycle -------------------------------------------------------------------

    def _add(self, record: TokenRecord, secret_digest: str, refused: DomainError | None = None) -> None:
        """The new token; a creating token must pass the store's creator guard (active, not
        rolled, living at least as long as the child), else `refused`."""
        if record.parent_sid is not None:
            parent = self.tokens.get((record.account_sid, record.parent_sid))
            if parent is None or not _may_create(parent, record):
                raise refused or ConcurrentModification("The token was changed by another request; retry.")
            parent.has_children = True
            child = Child(record.sid, secret_digest)
            self.edges.setdefault((record.account_sid, record.parent_sid), {})[record.sid] = child
        self.tokens[record.account_sid, record.sid] = StoredToken(record, secret_digest)

    def _take_slot(self, account_sid: str, max_tokens: int) -> None:
        if self.counts.get(account_sid, 0) >= max_tokens:
            raise limit_reached(max_tokens)
        self.counts[account_sid] = self.counts.get(account_sid, 0) + 1

    def create(self, record: TokenRecord, secret_digest: str, max_tokens: int) -> None:
        if record.parent_sid is not None:
            parent = self.tokens.get((record.account_sid, record.parent_sid))
            if parent is None or not _may_create(parent, record):
                raise creator_refused()
        self._take_slot(record.account_sid, max_tokens)
        self._add(record, secret_digest, creator_refused())
        self.events.append(changes.created_event(record))

    def update(
        self,
        account_sid: str,
        token_sid: str,
        change: UpdateToken,
        *,
        now: str,
        check: Callable[[TokenRecord], None] | None = None,
        end_grace: bool = False,
        keep_successor: bool = False,
    ) -> tuple[TokenRecord, bool]:
        stored = self._stored(account_sid, token_sid)
        if check is not None:
            check(stored.record)
        if end_grace and not change.is_active and stored.rolled_to is not None:
            self._end_grace(stored, now, keep_successor=keep_successor)
        if change.is_active and stored.record.revoked_reason == LEAKED:
            raise ConcurrentModification("The token was changed by another request; retry.")
        plan = changes.plan_update(stored.record, change, now)
        stored.record = plan.record
        if plan.event is not None:
            self.events.append(plan.event)
        return plan.record, stored.has_children

    def _deactivate(self, stored: StoredToken, reason: RevokedReason, now: str) -> None:
        record = stored.record
        stored.record = replace(
            record,
            is_active=False,
            revoked_reason=record.revoked_reason or reason,
            revoked_at=record.revoked_at or now,
        )

    def delete(
        self,
        account_sid: str,
        token_sid: str,
        now: str,
        *,
        end_grace: bool = False,
        keep_successor: bool = False,
        check: Callable[[TokenRecord], None] | None = None,
    ) -> None:
        stored = self._stored(account_sid, token_sid)
        if check is not None:
            check(stored.record)
        if end_grace and stored.rolled_to is not None:
            self._end_grace(stored, now, keep_successor=keep_successor)
        if stored.has_children:
            if stored.record.is_active:
                self._deactivate(stored, REVOKED, now)
                self.events.append(changes.deactivated_event(account_sid, token_sid, now))
            self.revoke_descendants(account_sid, token_sid, now)
        del self.tokens[account_sid, token_sid]
        self.events.append(changes.deleted_event(account_sid, token_sid, now))
        if not stored.slot_released:
            self.counts[account_sid] -= 1
        if stored.record.parent_sid is not None:
            self.edges.get((account_sid, stored.record.parent_sid), {}).pop(token_sid, None)

    def touch_last_used(
        self,
        credential: Credential,
        secret_digest: str,  # noqa: ARG002 - the port's signature: the memory store finds it by sid
        now: str,
        cutoff: str,
        *,
        recent_clients: tuple[RecentClient, ...] | None = None,
        new_ip_event: Mapping[str, Any] | None = None,
    ) -> None:
        stored = self._stored(credential.account_sid, credential.token_sid)
        last = stored.record.last_used_at
        if last is not None and last >= cutoff:
            raise ConcurrentModification("The token was changed by another request; retry.")
        stored.record = replace(stored.record, last_used_at=now)
        if recent_clients is not None:
            stored.recent_clients = recent_clients
        if new_ip_event is not None:
            self.events.append(dict(new_ip_event))

    # -- lineage -------------------------------------------------------------------------------

    def revoke_descendants(self, account_sid: str, root_sid: str, now: str) -> int:
        frontier, seen, written = [root_sid], {root_sid}, 0
        walked: set[str] = set()
        while frontier:
            parent_sid = frontier.pop(0)
            if parent_sid in walked:
                continue
            walked.add(parent_sid)
            for page in self.children(account_sid, parent_sid):
                step = changes.cascade_step(page, seen)
                frontier.extend(step.walk)
                for child in step.revoke:
                    stored = self.tokens.get((account_sid, child.sid))
                    if stored is not None and stored.record.is_active:
                        self._deactivate(stored, PARENT_REVOKED, now)
                        self.events.append(changes.cascade_event(account_sid, child.sid, parent_sid, now))
                        written += 1
                frontier.extend(child.sid for child in step.revoke)
        return written

    def move_children(self, account_sid: str, from_sid: str, to_sid: str, now: str) -> int:
        edges = self.edges.get((account_sid, from_sid), {})
        moving = changes.children_to_move(edges.values(), self.ancestor_chain(account_sid, to_sid))
        for child in moving:
            del edges[child.sid]
            self.edges.setdefault((account_sid, to_sid), {})[child.sid] = child
            if not child.moving:
                stored = self.tokens[account_sid, child.sid]
                stored.record = replace(stored.record, parent_sid=to_sid)
                self.events.append(changes.parent_moved_event(account_sid, child.sid, from_sid, to_sid, now))
        if moving:
            self.tokens[account_sid, to_sid].has_children = True
            self.edges.get((account_sid, to_sid), {}).pop(from_sid, None)
        return len(moving)

    def _end_grace(self, stored: StoredToken, now: str, *, keep_successor: bool) -> None:
        account_sid, old_sid, new_sid = stored.record.account_sid, stored.record.sid, stored.rolled_to
        assert new_sid is not None
        self.move_children(account_sid, old_sid, new_sid, now)
        if not keep_successor:
            return
        edge = self.edges.get((account_sid, old_sid), {}).pop(new_sid, None)
        if edge is None:
            return
        grandparent = stored.record.parent_sid
        chain = [] if grandparent is None else self.ancestor_chain(account_sid, grandparent)
        grandparent = changes.kept_successor_parent(new_sid, chain)
        successor = self.tokens[account_sid, new_sid]
        successor.record = replace(successor.record, parent_sid=grandparent)
        self.events.append(changes.parent_moved_event(account_sid, new_sid, old_sid, grandparent, now))
        if grandparent is not None:
            self.edges.setdefault((account_sid, grandparent), {})[new_sid] = edge
            self.tokens[account_sid, grandparent].has_children = True

    def roll(
        self,
        account_sid: str,
        token_sid: str,
        successor: Callable[[TokenRecord], TokenRecord],
        secret_digest: str,
        *,
        grace_end: str,
        max_tokens: int,
        now: str,
    ) -> tuple[TokenRecord, TokenRecord]:
        stored = self._stored(account_sid, token_sid)
        if stored.rolled_to is not None:
            self.move_children(account_sid, token_sid, stored.rolled_to, now)
            raise TokenStateConflict("This token was already rolled; roll the token that replaced it.")
        record = successor(stored.record)
        if record.parent_sid is not None and record.parent_sid != token_sid:
            changes.check_roll_lineage(token_sid, self.ancestor_chain(account_sid, record.parent_sid))
        plan = changes.plan_roll(stored.record, record, grace_end)
        if not stored.record.is_active:
            raise TokenStateConflict("This token is no longer active or was already rolled.")
        if not plan.slot_released:
            self._take_slot(account_sid, max_tokens)
        had_children = stored.has_children
        if record.parent_sid == token_sid:
            # A token rolling itself: its own update stands for the creator guard.
            stored.has_children = True
            self.edges.setdefault((account_sid, token_sid), {})[record.sid] = Child(record.sid, secret_digest)
            self.tokens[account_sid, record.sid] = StoredToken(record, secret_digest)
        else:
            self._add(record, secret_digest)
        if had_children:
            self.tokens[account_sid, record.sid].has_children = True
            moving = Child(token_sid, stored.digest, moving=True)
            self.edges.setdefault((account_sid, record.sid), {})[token_sid] = moving
        stored.record = replace(stored.record, expires_at=plan.old_expires, rolled_to=record.sid)
        stored.rolled_to = record.sid
        stored.slot_released = plan.slot_released
        stored.slot_release_at = None if plan.slot_released else plan.old_expires
        self.events.extend(plan.events)
        return stored.record, record

    def release_rolled_slots(self, account_sid: str, now: str) -> int:
        released = 0
        for (account, _), stored in self.tokens.items():
            release_at = stored.slot_release_at
            if account == account_sid and release_at is not None and release_at <= now and not stored.slot_released:
                stored.slot_released, stored.slot_release_at = True, None
                self.counts[account_sid] -= 1
                released += 1
        return released

    def revoke_leaked(self, secret_digest: str, now: str, source: str, url: str) -> Credential | None:
        credential = self.find_credential(secret_digest)
        stored = self._by_digest(secret_digest)
        if credential is None or stored is None:
            return None
        record = stored.record
        if record.revoked_reason != LEAKED:  # a repeated report writes nothing
            stored.record = replace(record, is_active=False, revoked_reason=LEAKED, revoked_at=record.revoked_at or now)
            stored.leak = stored.leak or (source, url)
            self.events.append(
                changes.leaked_event(
                    record.account_sid, record.sid, now, was_active=credential.is_active, source=source, url=url
                )
            )
        self.revoke_descendants(record.account_sid, record.sid, now)
        return credential

    # -- events and the expiry index -----------------------------------------------------------

    def list_events(
        self,
        account_sid: str,
        limit: int,
        starting_after: str | None = None,
        token_sid: str | None = None,
        event_type: str | None = None,
    ) -> EventPage:
        matching = sorted(
            (
                event
                for event in self.events
                if event["accountSid"] == account_sid
                and token_sid in (None, event["apiTokenSid"])
                and event_type in (None, event["type"])
                and (starting_after is None or event["sid"] < starting_after)
            ),
            key=lambda event: event["sid"],
            reverse=True,
        )
        return EventPage(records=tuple(matching[:limit]), has_more=len(matching) > limit)

    def expiring_on(self, day: str) -> tuple[list[ExpiringToken], int, int]:
        found = [
            ExpiringToken(
                stored.record.account_sid,
                stored.record.sid,
                stored.record.expires_at,
                stored.record.is_active,
                stored.expiry_notice,
            )
            for stored in self.tokens.values()
            if stored.record.expires_at is not None
            and stored.record.expires_at.startswith(day)
            and stored.rolled_to is None
            and stored.expiry_notice != 0
        ]
        return found, len(found), 1

    def record_expiry_notice(self, token: ExpiringToken, days_left: int, document: Mapping[str, Any]) -> bool:
        stored = self.tokens.get((token.account_sid, token.sid))
        if stored is None or stored.record.expires_at != token.expires_at:
            return False
        if stored.expiry_notice is not None and stored.expiry_notice <= days_left:
            return False
        stored.expiry_notice = days_left
        self.events.append(dict(document))
        return True

    def event_types(self, token_sid: str) -> list[str]:
        """The types of a token's events, oldest first."""
        return [event["type"] for event in self.events if event["apiTokenSid"] == token_sid]


def _may_create(parent: StoredToken, child: TokenRecord) -> bool:
    """The store's creator guard (store/items.creator_guard) on the creator as it is now."""
    expires = parent.record.expires_at
    outlives = expires is None or (child.expires_at is not None and expires >= child.expires_at)
    return parent.record.is_active and parent.rolled_to is None and outlives
