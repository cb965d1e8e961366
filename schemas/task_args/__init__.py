"""Task arguments: what a creator puts on the relay and every node runs, in the public Crynux
formats (a valid Crynux task is a valid Hydrogen task, with unknown fields refused).

    kind = TaskKind("SD")                    # or TaskKind(0), the contract's TaskType
    args = parse_task_args(kind, raw)        # SDTaskArgs | LLMTaskArgs, or TaskArgsInvalid
    args_hash(raw)                           # keccak256(raw): the task's argsHash on chain
    model_ids_of(args)                       # ["base:…", "lora:…"]: what a node must hold
    task_args_json_schema(kind)              # JSON Schema for apps (`hydrogen schemas task-args`)
"""

from schemas.task_args.errors import FieldError, TaskArgsInvalid
from schemas.task_args.kind import TaskKind
from schemas.task_args.llm import GenerationConfig, LLMTaskArgs, Message
from schemas.task_args.model_ids import model_id, model_ids_of
from schemas.task_args.parse import TaskArgs, args_hash, parse_task_args, task_args_json_schema
from schemas.task_args.sd import BaseModelRef, SDTaskArgs, TaskConfig
from schemas.task_args.sd_controlnet import ControlNet, Preprocess
from schemas.task_args.sd_scheduler import Scheduler

__all__ = [
    "BaseModelRef",
    "ControlNet",
    "FieldError",
    "GenerationConfig",
    "LLMTaskArgs",
    "Message",
    "Preprocess",
    "SDTaskArgs",
    "Scheduler",
    "TaskArgs",
    "TaskArgsInvalid",
    "TaskConfig",
    "TaskKind",
    "args_hash",
    "model_id",
    "model_ids_of",
    "parse_task_args",
    "task_args_json_schema",
]
