"""mongoeco's change outbox, at a cost that fits what listens to it.

Every write to a file adds a row to mongoeco's change outbox, and after every write the client's
change-stream hub is handed the rows it has not seen. While no change stream listens, a row is a
gap (``kind = 'gap'``, no payload): a stream resumed from before it learns that it missed changes.
The wire server has no change streams at all (``$changeStream`` is an unsupported stage), so every
write Tienda makes is a gap. Two costs of a gap, measured with py-spy on the server and with the
server's CPU time per ``update_one`` of an order:

- **its fingerprint** (``gap_fingerprints_without_documents``). To check that a retried operation
  records the same change, each row keeps a SHA-256 of the change encoded as JSON, the written
  document included: the whole document encoded on every insert and update only to be hashed (an
  update that SQLite applies in place encodes nothing else). A gap's fingerprint is now taken over
  the change without its document (operation, namespace, ``_id``), which a retried write repeats
  by definition; a gap stores no payload either way. Rows recorded for a listening stream
  (``kind = 'event'``) keep their full fingerprint.
- **its delivery** (``gap_deliveries_batched``). Handing rows to the hub takes a lease on the
  consumer (an UPDATE and a commit), a heartbeat thread started and joined, a checkpoint per row
  (an UPDATE and a commit), a compaction (DELETEs and a commit) and the lease's release (one more
  commit): about a fifth of the server's CPU per ``update_one``, and more as the outbox fills.
  While the hub has no stream and no journal (``should_publish_events()`` is false), the rows are
  now handed over once every ``GAP_DELIVERY_EVERY`` writes instead of after each (in the engines'
  shared adapter, so the memory engine's test servers batch their hand-overs too); a write while a
  stream listens, and the opening of a stream, hand over everything pending first, so a stream
  sees the same events and the same gaps, in the same order, as without the fix. The outbox holds
  at most that many rows more between compactions.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

GAP_DELIVERY_EVERY = 256


def install_gap_fingerprints() -> None:
    from mongoeco.core.operation_context import ChangePublicationPolicy
    from mongoeco.engines import sqlite as sqlite_engine

    original = sqlite_engine._sqlite_append_change

    @functools.wraps(original)
    def append_change(conn: Any, *, context: Any, full_document: Any = None, **options: Any) -> int | None:
        if context is not None and context.publication is ChangePublicationPolicy.RECORD_GAP:
            full_document = None  # a gap stores no payload: the document would only be hashed
        return original(conn, context=context, full_document=full_document, **options)

    sqlite_engine._sqlite_append_change = append_change


def install_batched_gap_deliveries() -> None:
    from mongoeco._change_streams import cursor
    from mongoeco.engines.adapter import EngineSpiAdapter

    original_dispatch = EngineSpiAdapter.dispatch_committed_changes
    original_offset = cursor.resolve_change_stream_offset
    # hub -> (an adapter that can hand its rows over, writes not handed over yet)
    pending: weakref.WeakKeyDictionary[Any, tuple[Any, int]] = weakref.WeakKeyDictionary()

    def hand_over(hub: Any) -> None:
        adapter, _writes = pending.pop(hub, (None, 0))
        if adapter is not None:
            original_dispatch(adapter, hub)

    @functools.wraps(original_dispatch)
    def dispatch_committed_changes(self: Any, sink: Any) -> None:
        listening = getattr(sink, "should_publish_events", None)
        if sink is not None and callable(listening) and not listening():
            _adapter, writes = pending.get(sink, (self, 0))
            if writes + 1 < GAP_DELIVERY_EVERY:
                pending[sink] = (self, writes + 1)
                return
        pending.pop(sink, None)
        original_dispatch(self, sink)

    @functools.wraps(original_offset)
    def resolve_change_stream_offset(hub: Any, **options: Any) -> Any:
        hand_over(hub)  # a new stream's position comes after every change written so far
        return original_offset(hub, **options)

    EngineSpiAdapter.dispatch_committed_changes = dispatch_committed_changes
    cursor.resolve_change_stream_offset = resolve_change_stream_offset
