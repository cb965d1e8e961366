// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What the TaskManager needs from the NodeRegistry.
interface INodeRegistry {
    function tierForRequirement(uint32 minVram) external view returns (uint8);

    /// @return counts counts[t] = Available nodes in tiers t and above.
    function availableFromTier() external view returns (uint256[] memory counts);

    function take(uint8 tier, uint256 seed, uint256 taskId) external returns (address[3] memory);

    function release(address node, uint256 taskId) external;

    function penalize(address node, uint256 taskId, uint16 fineBps) external returns (uint256 fine);

    function slash(address node, uint256 taskId) external returns (uint256 amount);
}

/// @notice The callback the NodeRegistry makes when a node outside any task becomes Available.
interface ITaskDispatcher {
    function onNodeAvailable() external;
}
