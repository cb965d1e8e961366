"""The recent blocks the ingest has published, checked link by link (pure: no I/O).

The window remembers the last `size` published blocks (number, hash, parent hash). Each new
block must name the window's last hash as its parent; if it does not, the chain reorganized,
and the fork point is the highest remembered block that the chain still has. Everything
published above the fork point must be retracted. A fork below the window cannot be
repaired from what we remember and stops the bridge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chain_bridge.errors import ReorgTooDeepError, WindowGapError


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str


@dataclass(frozen=True)
class Extends:
    """The block follows the window: publish it."""

    window: BlockWindow


@dataclass(frozen=True)
class Forked:
    """The block does not follow the window: find the fork point, retract, re-read."""

    block: BlockRef


@dataclass(frozen=True)
class Rewound:
    """The window after a reorg: `fork_point` is the last block still canonical (None when
    the window is rewound to empty), `dropped` the blocks whose events must be retracted,
    oldest first."""

    window: BlockWindow
    fork_point: BlockRef | None
    dropped: tuple[BlockRef, ...]


@dataclass(frozen=True)
class BlockWindow:
    size: int
    blocks: tuple[BlockRef, ...] = ()
    # True while no published block has fallen out of the window: then a fork below the
    # oldest block is below everything we published, and rewinding to empty is safe.
    complete: bool = True

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"window size must be >= 1, got {self.size}")

    @classmethod
    def of(cls, size: int, blocks: Iterable[BlockRef]) -> BlockWindow:
        window = cls(size)
        for block in blocks:
            step = window.offer(block)
            if not isinstance(step, Extends):
                raise WindowGapError(
                    f"block {block.number} does not link to block {block.number - 1}"
                )
            window = step.window
        return window

    @property
    def last(self) -> BlockRef | None:
        return self.blocks[-1] if self.blocks else None

    @property
    def next_number(self) -> int | None:
        return self.last.number + 1 if self.last else None

    def offer(self, block: BlockRef) -> Extends | Forked:
        """Whether `block` extends the window (the returned window holds it) or forks from it."""
        last = self.last
        if last is not None and block.number != last.number + 1:
            raise WindowGapError(f"expected block {last.number + 1}, got block {block.number}")
        if last is not None and block.parent_hash != last.hash:
            return Forked(block)
        blocks = (*self.blocks, block)
        complete = self.complete and len(blocks) <= self.size
        return Extends(BlockWindow(self.size, blocks[-self.size :], complete))

    def numbers_to_check(self) -> list[int]:
        """The remembered block numbers, newest first: where to look for the fork point."""
        return [b.number for b in reversed(self.blocks)]

    def rewind(self, canonical: Mapping[int, str]) -> Rewound:
        """Rewind to the highest block whose hash the chain still has.

        `canonical` maps block numbers to the chain's current hash at that height, for (at
        least) the window's blocks down to the fork point. With no common block at all, the
        fork is below the window: fine if the window still holds every block we published
        (rewind to empty), fatal otherwise.
        """
        for i in range(len(self.blocks) - 1, -1, -1):
            block = self.blocks[i]
            if canonical.get(block.number) == block.hash:
                kept = BlockWindow(self.size, self.blocks[: i + 1], self.complete)
                return Rewound(kept, block, self.blocks[i + 1 :])
        if self.complete:
            return Rewound(BlockWindow(self.size, (), True), None, self.blocks)
        oldest = self.blocks[0]
        raise ReorgTooDeepError(
            f"the chain forked below block {oldest.number} (hash {oldest.hash}), the oldest of the "
            f"{len(self.blocks)} blocks remembered; events published from there on may be wrong. "
            "Widen the window or raise the confirmation depth, and re-ingest from a block below the fork."
        )
