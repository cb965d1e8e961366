// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice A FIFO of task ids as a doubly linked list, so a cancelled or expired task leaves
/// the middle of the queue in O(1). Id 0 means "none"; task ids start at 1.
library TaskQueue {
    struct Queue {
        uint256 head;
        uint256 tail;
        mapping(uint256 => uint256) next;
        mapping(uint256 => uint256) prev;
    }

    function push(Queue storage q, uint256 id) internal {
        uint256 tail = q.tail;
        if (tail == 0) {
            q.head = id;
        } else {
            q.next[tail] = id;
            q.prev[id] = tail;
        }
        q.tail = id;
    }

    /// @dev The caller guarantees `id` is in `q`.
    function remove(Queue storage q, uint256 id) internal {
        uint256 before = q.prev[id];
        uint256 after_ = q.next[id];
        if (before == 0) q.head = after_;
        else q.next[before] = after_;
        if (after_ == 0) q.tail = before;
        else q.prev[after_] = before;
        delete q.prev[id];
        delete q.next[id];
    }
}
