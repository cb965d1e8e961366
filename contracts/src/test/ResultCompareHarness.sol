// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TaskType} from "../HydrogenTypes.sol";
import {ResultCompare} from "../lib/ResultCompare.sol";

/// @notice TEST HELPER: exposes the ResultCompare library so tests can check it against an
/// independent Python implementation.
contract ResultCompareHarness {
    function agree(TaskType taskType, uint8 threshold, bytes memory a, bytes memory b)
        external
        pure
        returns (bool)
    {
        return ResultCompare.agree(taskType, threshold, a, b);
    }

    function isWellFormed(TaskType taskType, bytes memory result) external pure returns (bool) {
        return ResultCompare.isWellFormed(taskType, result);
    }

    function popcount64(uint64 x) external pure returns (uint256) {
        return ResultCompare.popcount64(x);
    }
}
