"""Run one faust worker of the streams app in this process, until SIGINT or SIGTERM."""

from __future__ import annotations

import faust
from faust.worker import Worker


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """What `faust -A ... worker -l <loglevel>` does, without the faust command line.

    Blocks until the worker stops; faust's Worker installs the signal handlers and stops the
    agents, commits offsets and flushes the producer on SIGTERM / SIGINT."""
    worker = Worker(app, loglevel=loglevel, redirect_stdouts=False)
    # At -l warning and above faust's terminal spinner sets the root logger to DEBUG so that
    # it turns on every record: each debug call of faust and aiokafka then builds a record
    # (about 8 per event, 6% of the worker's time measured by bench/streams.py). A worker
    # logs to a file or a collector, not to a terminal.
    worker.spinner = None
    worker.execute_from_commandline()
