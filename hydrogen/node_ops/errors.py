"""Errors of the node operator commands.

NodeOpsError
  NodeInputError (ValueError)  an operator's value that cannot go into a request; names it
  EndpointError                no Kafka, chain or deployment to talk to, or the wrong one
  ChainReadError               the chain did not answer a registry read
  KafkaIoError                 a request could not be published, or outcomes not read
  ProjectionUnavailable        Postgres is unreachable or has no `nodes` table (not fatal)
"""

from __future__ import annotations


class NodeOpsError(RuntimeError):
    """A node command cannot go on; the message says why and with which value."""


class NodeInputError(NodeOpsError, ValueError):
    """A value the operator gave that no request may carry.

    `param` is the option it came from (for click to point at), `value` the value itself.
    """

    def __init__(self, param: str, value: object, reason: str) -> None:
        super().__init__(f"{param} {value!r}: {reason}")
        self.param = param
        self.value = value
        self.reason = reason


class EndpointError(NodeOpsError):
    """No Kafka bootstrap, RPC URL or deployment record to use, or one that does not fit."""


class ChainReadError(NodeOpsError):
    """A read of the registry failed: the node is down, or the address holds no registry."""


class KafkaIoError(NodeOpsError):
    """Publishing a request or reading outcomes failed."""


class ProjectionUnavailable(NodeOpsError):
    """The read model cannot be asked; `node status` shows the chain's view alone."""
