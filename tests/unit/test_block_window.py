from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain_bridge.errors import ReorgTooDeepError, WindowGapError
from chain_bridge.window import BlockRef, BlockWindow, Extends, Forked


def chain(
    length: int, branch: str = "a", start: int = 0, parent: str = "genesis"
) -> list[BlockRef]:
    blocks = []
    for n in range(start, start + length):
        block = BlockRef(n, f"{branch}{n}", parent)
        blocks.append(block)
        parent = block.hash
    return blocks


def test_a_linked_block_extends_the_window_and_old_blocks_fall_out() -> None:
    window = BlockWindow.of(3, chain(5))
    assert [b.number for b in window.blocks] == [2, 3, 4]
    step = window.offer(BlockRef(5, "a5", "a4"))
    assert isinstance(step, Extends)
    assert step.window.last == BlockRef(5, "a5", "a4")
    assert [b.number for b in step.window.blocks] == [3, 4, 5]


def test_a_block_with_another_parent_is_a_fork() -> None:
    window = BlockWindow.of(4, chain(5))
    assert window.offer(BlockRef(5, "b5", "b4")) == Forked(BlockRef(5, "b5", "b4"))


def test_a_block_out_of_sequence_is_refused_with_both_numbers() -> None:
    with pytest.raises(WindowGapError, match="expected block 5, got block 7"):
        BlockWindow.of(4, chain(5)).offer(BlockRef(7, "a7", "a6"))


def test_rewind_finds_the_fork_point_and_the_blocks_to_retract() -> None:
    window = BlockWindow.of(10, chain(8))
    fork = chain(8, "a")[:5] + chain(3, "b", start=5, parent="a4")
    rewound = window.rewind({b.number: b.hash for b in fork})
    assert rewound.fork_point == BlockRef(4, "a4", "a3")
    assert [b.hash for b in rewound.dropped] == ["a5", "a6", "a7"]
    assert rewound.window.last == rewound.fork_point


def test_a_fork_below_the_window_stops_with_the_oldest_block_named() -> None:
    window = BlockWindow.of(3, chain(8))
    other = {b.number: b.hash for b in chain(8, "b")}
    with pytest.raises(ReorgTooDeepError, match=r"forked below block 5 \(hash a5\)"):
        window.rewind(other)


def test_a_fork_below_a_window_that_holds_everything_published_rewinds_to_empty() -> None:
    window = BlockWindow.of(10, chain(3, start=100, parent="x99"))
    rewound = window.rewind({b.number: b.hash for b in chain(3, "b", start=100)})
    assert rewound.fork_point is None
    assert [b.hash for b in rewound.dropped] == ["a100", "a101", "a102"]
    assert rewound.window.blocks == ()


def test_a_bad_size_is_named() -> None:
    with pytest.raises(ValueError, match="got 0"):
        BlockWindow(0)


@given(
    length=st.integers(1, 40),
    size=st.integers(1, 16),
    depth=st.integers(1, 45),
)
def test_any_reorg_rewinds_to_the_true_fork_point_or_stops(
    length: int, size: int, depth: int
) -> None:
    depth = min(depth, length)  # blocks replaced, counted from the head
    old = chain(length, "a")
    window = BlockWindow.of(size, old)
    keep = length - depth
    parent = old[keep - 1].hash if keep else "genesis"
    new = old[:keep] + chain(depth + 1, "b", start=keep, parent=parent)

    assert isinstance(window.offer(new[length]), Forked)
    canonical = {b.number: b.hash for b in new}
    if depth >= size and length > size:  # the fork point fell out of the window
        with pytest.raises(ReorgTooDeepError):
            window.rewind(canonical)
        return
    rewound = window.rewind(canonical)
    assert rewound.fork_point == (old[keep - 1] if keep else None)
    assert rewound.dropped == tuple(old[keep:])
    # Replaying the new branch from the fork point extends the window again, link by link.
    w = rewound.window
    for block in new[keep:]:
        step = w.offer(block)
        assert isinstance(step, Extends)
        w = step.window
    assert w.last == new[-1]
