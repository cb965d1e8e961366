"""A task's status as `hydrogen task status` shows it: the chain's view, the phases its events
went through (timed by block), the transactions that moved it, and what the relay reports.

Pure: the values in, a JSON-ready dict or lines of text out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hydrogen.app.fee import format_wei
from hydrogen.app.progress import summary
from hydrogen.app.task_view import ChainEvent, TaskView, progress_from_events, transactions


def status_document(
    view: TaskView,
    events: Sequence[ChainEvent],
    relay: Mapping[str, Any] | None,
    relay_error: str | None,
) -> dict[str, Any]:
    progress = progress_from_events(events)
    return {
        **view.as_json(),
        "phases": [str(s.phase) for s in progress.spans],
        "timings_s": progress.timings(),
        "timings_source": "block-times",
        "transactions": transactions(events),
        "relay": dict(relay) if relay is not None else None,
        "relay_error": relay_error,
    }


def status_lines(
    view: TaskView,
    events: Sequence[ChainEvent],
    relay: Mapping[str, Any] | None,
    relay_error: str | None,
) -> list[str]:
    reason = f" ({view.abort_reason})" if view.abort_reason else ""
    lines = [
        f"task {view.task_id}: {view.kind}, {view.status}{reason}",
        f"  creator    {view.creator}",
        f"  fee        {format_wei(view.fee_wei)}",
        f"  args hash  0x{view.args_hash.hex()}",
    ]
    for m in view.members:
        disclosed = "disclosed" if m.disclosed else "not disclosed"
        delivers = " (delivers)" if m.node == view.result_node else ""
        lines.append(f"  node       {m.node} commit #{m.commit_order or '-'} {disclosed}{delivers}")
    if view.result:
        lines.append(f"  result     0x{view.result.hex()}")
    lines.append(f"  phases     {summary(progress_from_events(events))} (block times)")
    for name, tx in transactions(events).items():
        if isinstance(tx, list):
            lines += [f"  tx {name:<10} {item['tx']}  {item['node']}" for item in tx]
        elif tx:
            lines.append(f"  tx {name:<10} {tx}")
    if relay is not None:
        images = relay.get("delivered_images")
        delivered = f", {images} result(s) delivered" if images is not None else ""
        lines.append(f"  relay      {relay.get('status')}{delivered}")
    else:
        lines.append(f"  relay      not reachable: {relay_error}")
    return lines
