"""Errors of the chain bridge.

ChainBridgeError
  ReorgTooDeepError     the chain forked below the oldest block we remember
  WindowGapError        a block that does not follow the window's last one
"""


class ChainBridgeError(RuntimeError):
    """The chain bridge cannot go on safely."""


class ReorgTooDeepError(ChainBridgeError):
    """The fork point lies below the window: events already published may be wrong."""


class WindowGapError(ChainBridgeError, ValueError):
    """A block whose number does not follow the window's last block."""
