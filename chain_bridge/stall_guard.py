"""End the process when a Kafka call that must return does not.

librdkafka's transactional calls take a timeout, but after a broker restart
`send_offsets_to_transaction` can block past it for good (librdkafka issues #5456, #5511).
A bridge process stuck there still holds its partitions, so no transaction of its signers (or
no chain event) moves again, and nothing notices. A dead process is restarted by whatever
supervises it and recovers from what it committed (the journal, the cursor): so past the
deadline the guard ends the process, loudly.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

EXIT_STALLED = 70  # EX_SOFTWARE


def _die(what: str) -> None:
    log.critical("%s: stalled past its deadline; exiting so the process is restarted", what)
    logging.shutdown()
    os._exit(EXIT_STALLED)


@contextmanager
def stall_guard(
    what: str, seconds: float, on_stall: Callable[[str], None] = _die
) -> Iterator[None]:
    """Run the block; if it has not returned after `seconds`, call `on_stall(what)` (which
    by default ends the process) from a watchdog thread."""
    timer = threading.Timer(seconds, on_stall, args=(what,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
