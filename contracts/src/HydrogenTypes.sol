// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Shared by NodeRegistry, TaskManager and the off-chain readers that decode their events; the
// numeric values are part of the ABI, so new members go at the end.

enum TaskType {
    SD,
    LLM
}

enum NodeStatus {
    None,
    Available,
    Busy,
    Paused,
    PendingPause,
    PendingQuit,
    Quit,
    Slashed
}

enum TaskStatus {
    None,
    Queued,
    Running,
    Disclosing,
    Validated,
    Completed,
    Aborted,
    Cancelled
}

enum AbortReason {
    None,
    Timeout,
    NoConsensus,
    ArgsInvalid,
    UploadTimeout,
    CreatorCancelled
}

/// @notice Why a node was dismissed from a task before it ended.
enum Fault {
    Outvoted,
    MissedCommit,
    MissedDisclose,
    MissedUpload
}
