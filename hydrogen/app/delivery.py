"""The app's results from the relay, each checked against the result the chain validated,
and the receipt written beside them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydrogen.app.chain import AppChain
from hydrogen.app.errors import ResultRejected
from hydrogen.app.receipt import (
    ResultCheck,
    answer_text,
    build_receipt,
    check_document,
    check_image,
    expected_results,
    receipt_name,
    result_names,
)
from hydrogen.app.task_view import TaskView, transactions
from relay_api.client import RelayClient, RelayHTTPError
from schemas.task_args import TaskKind

NOT_DELIVERED = 409  # the relay's answer while the delivering node's upload is checked
RETRY_S = 0.25


@dataclass(frozen=True)
class Delivered:
    checks: list[ResultCheck]
    answer: str | None  # an LLM task's answer text

    @property
    def problems(self) -> list[str]:
        return [c.problem for c in self.checks if c.problem]


def fetch_results(
    relay: RelayClient,
    view: TaskView,
    threshold: int,
    out_dir: Path | None,
    *,
    wait_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Delivered:
    """Download every result of a validated task (waiting up to `wait_s` for the relay to
    deliver it), write each into `out_dir` when given, and check it."""
    result = view.result
    if result is None:
        reason = f" ({view.abort_reason})" if view.abort_reason else ""
        raise ResultRejected(f"task {view.task_id} is {view.status}{reason}: it has no result")
    expected = expected_results(view.kind, result)
    names = result_names(view.task_id, view.kind, len(expected))
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    checks = []
    data = b""
    for index, (want, name) in enumerate(zip(expected, names, strict=True)):
        data = _download(relay, view.task_id, index, clock() + wait_s, clock)
        file = None
        if out_dir is not None:
            path = out_dir / name
            path.write_bytes(data)
            file = str(path)
        if view.kind == "SD":
            checks.append(check_image(index, data, want, threshold, file))
        else:
            checks.append(check_document(data, want, file))
    answer = None
    if view.kind != "SD" and checks[0].ok:
        try:
            answer = answer_text(data)
        except ValueError as exc:
            raise ResultRejected(f"task {view.task_id}: {exc}") from exc
    return Delivered(checks, answer)


@dataclass(frozen=True)
class Outcome:
    """An ended task's receipt, its checked results (None: it has none), and where the
    receipt was written (None: nowhere)."""

    receipt: dict[str, Any]
    delivered: Delivered | None
    receipt_path: Path | None


def conclude(
    chain: AppChain,
    relay: RelayClient,
    relay_url: str,
    view: TaskView,
    *,
    timings_s: Mapping[str, float],
    timings_source: str,
    model_ids: Sequence[str] = (),
    out_dir: Path | None = None,
) -> Outcome:
    """Fetch and check the results of an ended task (if it has any), read the transactions
    that moved it from its events, and write the receipt into `out_dir`."""
    delivered = None
    if view.result is not None:
        threshold = chain.threshold(TaskKind(view.kind))
        delivered = fetch_results(relay, view, threshold, out_dir)
    events = chain.events(view.task_id)
    if not model_ids:
        created = next((e for e in events if e.name == "TaskCreated"), None)
        model_ids = list(created.args.get("modelIds", ())) if created else []
    receipt = build_receipt(
        view=view,
        chain_id=chain.chain_id(),
        task_manager=chain.manager.address,
        relay_url=relay_url,
        transactions=transactions(events),
        timings_s=timings_s,
        timings_source=timings_source,
        checks=delivered.checks if delivered else [],
        model_ids=model_ids,
        answer=delivered.answer if delivered else None,
    )
    path = write_receipt(out_dir, receipt) if out_dir is not None else None
    return Outcome(receipt, delivered, path)


def write_receipt(out_dir: Path, receipt: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / receipt_name(int(receipt["task_id"]))
    path.write_text(json.dumps(receipt, indent=1) + "\n")
    return path


def _download(
    relay: RelayClient, task_id: int, index: int, deadline: float, clock: Callable[[], float]
) -> bytes:
    while True:
        try:
            data = relay.download_result(task_id, index)
        except RelayHTTPError as exc:
            # The chain may say Completed a moment before the relay's delivery row commits.
            if exc.status != NOT_DELIVERED or clock() > deadline:
                raise
            time.sleep(RETRY_S)
            continue
        assert isinstance(data, bytes)
        return data
