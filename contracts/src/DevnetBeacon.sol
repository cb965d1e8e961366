// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice A minimal contract the devnet deploys to prove its build, deploy and transaction
/// path end to end: `hydrogen devnet smoke` calls `beat` and reads the event back.
contract DevnetBeacon {
    uint256 public beats;

    event Beat(address indexed from, uint256 indexed seq, bytes32 tag);

    function beat(bytes32 tag) external returns (uint256 seq) {
        seq = ++beats;
        emit Beat(msg.sender, seq, tag);
    }
}
