// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice Money leaves the contract only through `withdraw`, called by its owner.
///
/// Paying inside a task transition would let one recipient that reverts (a contract without a
/// receive function, or a hostile one) block the transition for everybody else in the task,
/// and would hand control to foreign code in the middle of a state change. So transitions
/// only credit; the recipient pulls, with the credit zeroed before the transfer and the
/// function guarded against re-entry.
abstract contract PullPayments is ReentrancyGuard {
    mapping(address => uint256) public owed;
    uint256 public totalOwed;

    event Credited(address indexed account, uint256 indexed taskId, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error NothingToWithdraw(address account);
    error TransferFailed(address to, uint256 amount);

    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = owed[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        owed[msg.sender] = 0;
        totalOwed -= amount;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    function _credit(address account, uint256 taskId, uint256 amount) internal {
        if (amount == 0) return;
        owed[account] += amount;
        totalOwed += amount;
        emit Credited(account, taskId, amount);
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
