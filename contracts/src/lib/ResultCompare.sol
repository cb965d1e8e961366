// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TaskType} from "../HydrogenTypes.sol";

/// @notice Result formats and the agreement rule between two disclosed results.
///
/// A result is one of:
///  - SD: the concatenation of one 8-byte perceptual hash per image (1 to MAX_IMAGES images);
///  - LLM: the 32-byte sha256 of the canonical output;
///  - an error report: exactly one non-zero byte, the error code. No valid result is one byte
///    long, so an error report hides in a commitment like any result and is told apart only
///    when disclosed.
library ResultCompare {
    uint256 internal constant PHASH_BYTES = 8;
    // Crynux caps num_images at 10; the margin keeps a compare of the largest result cheap.
    uint256 internal constant MAX_IMAGES = 32;
    uint256 internal constant LLM_RESULT_BYTES = 32;

    /// @return code the error code of an error report, 0 for a result.
    function errorCode(bytes memory result) internal pure returns (uint8 code) {
        return result.length == 1 ? uint8(result[0]) : 0;
    }

    function isWellFormed(TaskType taskType, bytes memory result) internal pure returns (bool) {
        uint256 len = result.length;
        if (len == 1) return result[0] != 0;
        if (taskType == TaskType.LLM) return len == LLM_RESULT_BYTES;
        return len != 0 && len % PHASH_BYTES == 0 && len <= PHASH_BYTES * MAX_IMAGES;
    }

    /// @notice SD results agree when they hold as many images and every image's Hamming distance
    /// is at most `threshold` bits; LLM results and error reports agree only when equal.
    function agree(TaskType taskType, uint8 threshold, bytes memory a, bytes memory b)
        internal
        pure
        returns (bool)
    {
        if (a.length != b.length) return false;
        if (taskType == TaskType.LLM || a.length == 1) return keccak256(a) == keccak256(b);
        for (uint256 i = 0; i < a.length; i += PHASH_BYTES) {
            if (popcount64(_word64(a, i) ^ _word64(b, i)) > threshold) return false;
        }
        return true;
    }

    /// @dev SWAR popcount: a fixed handful of operations instead of a loop over 64 bits.
    function popcount64(uint64 x) internal pure returns (uint256) {
        unchecked {
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return uint256((x * 0x0101010101010101) >> 56);
        }
    }

    /// @dev The big-endian 8 bytes of `data` at `offset`; callers keep offset + 8 <= length.
    function _word64(bytes memory data, uint256 offset) private pure returns (uint64 w) {
        assembly ("memory-safe") {
            w := shr(192, mload(add(add(data, 32), offset)))
        }
    }
}
