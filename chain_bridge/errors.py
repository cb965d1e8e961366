"""Errors of the chain bridge.

ChainBridgeError
  ReorgTooDeepError     the chain forked below the oldest block we remember
  WindowGapError        a block that does not follow the window's last one
  JournalMismatchError  the tx journal belongs to another chain or topic layout
  ChainRpcError         the node failed a call the bridge cannot go on without
RequestRejected (ValueError)   a tx request the submitter will not send (DLQ + REJECTED)
  SignerKeyMissing      no key for the request's signer
  UnknownCallError      no such contract or function in the deployment
  BadCallArguments      arguments or value that do not fit the function's ABI
  BadRequestKey         the message key is not the request's checksummed signer
KeySourceError (ValueError)    a keystore file or mnemonic that cannot give a key
"""


class ChainBridgeError(RuntimeError):
    """The chain bridge cannot go on safely."""


class ReorgTooDeepError(ChainBridgeError):
    """The fork point lies below the window: events already published may be wrong."""


class WindowGapError(ChainBridgeError, ValueError):
    """A block whose number does not follow the window's last block."""


class JournalMismatchError(ChainBridgeError):
    """The tx journal does not fit this submitter: another chain, or not co-partitioned."""


class ChainRpcError(ChainBridgeError):
    """The node failed a call, or answered it with an error, that the bridge cannot go on
    without (a revert is no such error: the submitter reports it as an outcome)."""


class RequestRejected(ValueError):
    """A tx request that will never be sent; it goes to the DLQ with a REJECTED outcome."""


class SignerKeyMissing(RequestRejected):
    """The request names a signer whose key this submitter does not hold."""


class UnknownCallError(RequestRejected):
    """The request names a contract or function that the deployment does not have."""


class BadCallArguments(RequestRejected):
    """The request's arguments or value do not fit the function's ABI."""


class BadRequestKey(RequestRejected):
    """The message key is not the request's checksummed signer, so its nonces could split."""


class KeySourceError(ValueError):
    """A keystore file, its password or a mnemonic that cannot give a signing key."""
