"""Why a job could not give a result, as the one-byte error code a node commits instead.

InferenceError                  a job failed in a way the node reports on chain (`.code`)
  ArgsUnavailable               the relay would not give the arguments (after retries)
  ArgsHashMismatch              keccak256(args) differs from the task's argsHash
  ArgsUnsupported               valid Crynux arguments this node cannot run (e.g. a
                                preprocessor it does not implement)
  ModelUnavailable              a model is not in the cache while offline, or not found
    DownloadFailed              a download broke, or its size or sha256 is wrong
  OutOfMemory                   the device ran out of memory
  RunFailed                     the model raised anything else

Invalid arguments (`schemas.task_args.TaskArgsInvalid`) report ARGS_INVALID. The codes go into
`InferenceResult.error_code`; the saga commits `bytes([code])`, and the contract aborts a task
as ArgsInvalid when two nodes report the same code. So a code must depend on the task, never on
the node's luck: honest nodes that hit the same problem must say the same number.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    ARGS_INVALID = 1
    ARGS_HASH_MISMATCH = 2
    ARGS_UNSUPPORTED = 3
    ARGS_UNAVAILABLE = 4
    MODEL_UNAVAILABLE = 5
    OUT_OF_MEMORY = 6
    RUN_FAILED = 7


class InferenceError(Exception):
    """A job failed; `code` is what the node reports instead of a result."""

    code: ErrorCode = ErrorCode.RUN_FAILED


class ArgsUnavailable(InferenceError):
    code = ErrorCode.ARGS_UNAVAILABLE


class ArgsHashMismatch(InferenceError):
    code = ErrorCode.ARGS_HASH_MISMATCH


class ArgsUnsupported(InferenceError):
    code = ErrorCode.ARGS_UNSUPPORTED


class ModelUnavailable(InferenceError):
    code = ErrorCode.MODEL_UNAVAILABLE


class DownloadFailed(ModelUnavailable):
    pass


class OutOfMemory(InferenceError):
    code = ErrorCode.OUT_OF_MEMORY


class RunFailed(InferenceError):
    code = ErrorCode.RUN_FAILED
