"""A cheating node's GPU consumer, for the drills: the real consumer (`inference.bootstrap`), whose
engine runs every SD task with another seed than the task's. Its images are real images of the
prompt, so its p-hashes are well formed, but they are not the task's images: commit-reveal must
outvote and slash it.

Run as a program, configured like `hydrogen inference run` (HYDROGEN_INFERENCE_* variables:
node keys, group, relay, models); runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from hydrogen.cli.signals import stop_on_signals
from inference.bootstrap import build_engine, run_consumer
from inference.outputs import EngineOutput
from inference.ports import Runner
from inference.settings import InferenceSettings
from schemas.task_args import SDTaskArgs, TaskArgs
from schemas.task_args.sd import SEED_LIMIT

SEED_SHIFT = 1_000_003

log = logging.getLogger("cheating_consumer")


class OtherSeed:
    """Runs SD tasks with the seed moved by SEED_SHIFT; anything else as asked."""

    def __init__(self, engine: Runner) -> None:
        self._engine = engine

    def run(self, args: TaskArgs) -> EngineOutput:
        if isinstance(args, SDTaskArgs):
            config = args.task_config
            seed = (config.seed + SEED_SHIFT) % SEED_LIMIT
            log.info("cheating: seed %d instead of %d", seed, config.seed)
            args = args.model_copy(update={"task_config": config.model_copy(update={"seed": seed})})
        return self._engine.run(args)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = InferenceSettings()
    run_consumer(settings, stop_on_signals(), runner=OtherSeed(build_engine(settings)))


if __name__ == "__main__":
    main()
