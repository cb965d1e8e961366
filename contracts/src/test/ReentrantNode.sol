// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice TEST HELPER, never deployed by the network: a node run by a contract whose receive
/// function tries to withdraw again while a withdrawal is paying it. Its operator drives it
/// through `exec`; the counters record each re-entry attempt and its failure.
contract ReentrantNode {
    address public immutable operator;
    address public target;
    uint256 public reentryAttempts;
    uint256 public reentryFailures;
    bytes public lastRevertData;
    uint256 public received;

    error NotOperator(address caller);
    error CallFailed(bytes data);

    constructor() {
        operator = msg.sender;
    }

    /// @notice Calls `to` as this contract (join, commit, disclose, withdraw...).
    function exec(address to, bytes calldata data) external payable returns (bytes memory ret) {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        bool ok;
        (ok, ret) = to.call{value: msg.value}(data);
        if (!ok) revert CallFailed(ret);
    }

    /// @notice From now on, every payment received re-enters `target.withdraw()`.
    function arm(address target_) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        target = target_;
    }

    receive() external payable {
        received += msg.value;
        if (target == address(0)) return;
        reentryAttempts += 1;
        (bool ok, bytes memory ret) = target.call(abi.encodeWithSignature("withdraw()"));
        if (!ok) {
            reentryFailures += 1;
            lastRevertData = ret;
        }
    }
}
