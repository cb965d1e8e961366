"""Run one faust worker of the streams app in this process, until SIGINT or SIGTERM."""

from __future__ import annotations

import faust
from faust.worker import Worker


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """What `faust -A ... worker -l <loglevel>` does, without the faust command line.

    Blocks until the worker stops; faust's Worker installs the signal handlers and stops the
    agents, commits offsets and flushes the producer on SIGTERM / SIGINT."""
    worker = Worker(app, loglevel=loglevel, redirect_stdouts=False)
    worker.execute_from_commandline()
