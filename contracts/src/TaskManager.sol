// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {AbortReason, Fault, TaskStatus, TaskType} from "./HydrogenTypes.sol";
import {INodeRegistry, ITaskDispatcher} from "./interfaces/INodeRegistry.sol";
import {PullPayments} from "./lib/PullPayments.sol";
import {ResultCompare} from "./lib/ResultCompare.sol";
import {TaskQueue} from "./lib/TaskQueue.sol";

/// @notice Tasks from creation to payment: queue, random selection of 3 nodes, commit-reveal,
/// consensus, delivery confirmed by the relay, payment, deadlines.
///
/// Lifecycle: Queued -> Running (commit) -> Disclosing -> Validated (upload) -> Completed, or
/// Aborted(reason) / Cancelled. Each live phase has one deadline (`Task.deadline`); after it
/// anybody may call `expire`.
///
/// Randomness: the selection seed is keccak(prevrandao, previous blockhash, taskId, nonce). A
/// block proposer can bias it (by withholding a block), which costs them the block reward;
/// in exchange it needs no oracle and no extra round trip. Colluding with a proposer to land a
/// chosen node is the attack left open; a VRF is the upgrade path if stakes make it pay.
///
/// Money: fees stay in this contract until the task ends, then are credited (pull payment)
/// to the agreeing nodes or back to the creator. Fees are never sent to the incentive pool:
/// for every task, fee = payouts + refund.
contract TaskManager is ITaskDispatcher, Ownable, PullPayments {
    using TaskQueue for TaskQueue.Queue;

    uint256 public constant NODES_PER_TASK = 3;
    uint16 public constant MAX_FINE_BPS = 10_000;

    struct Timeouts {
        uint32 queue;
        uint32 commit;
        uint32 disclose;
        uint32 upload;
    }

    struct Member {
        address node;
        uint8 commitOrder; // 1 = first to commit, 0 = not committed
        uint8 errorCode; // of a disclosed error report
        bool disclosed;
        bool active; // still in the task: selected and neither dismissed nor released
    }

    struct Task {
        address creator;
        TaskType taskType;
        TaskStatus status;
        AbortReason abortReason;
        uint8 vramTier;
        uint8 commits;
        uint8 resultSlot;
        uint32 minVram;
        uint128 fee;
        uint64 createdAt;
        uint64 deadline;
        bytes32 argsHash;
        Member[3] members;
        bytes32[3] commitments;
        bytes[3] results;
    }

    INodeRegistry public immutable registry;
    address public relay;
    uint16 public missFineBps;
    uint256 public taskCount;
    uint256 public queuedCount;
    uint256 public totalEscrowed;
    uint256 private _selectionNonce;

    mapping(TaskType => uint8) public threshold;
    mapping(TaskType => Timeouts) public timeouts;
    mapping(uint256 => Task) private _tasks;
    mapping(uint256 => TaskQueue.Queue) private _queues; // one per VRAM tier

    event RelaySet(address indexed relay);
    event ThresholdSet(TaskType indexed taskType, uint8 threshold);
    event TimeoutsSet(TaskType indexed taskType, Timeouts timeouts);
    event MissFineSet(uint16 fineBps);

    event TaskCreated(
        uint256 indexed taskId,
        address indexed creator,
        TaskType taskType,
        bytes32 argsHash,
        string[] modelIds,
        uint32 minVram,
        uint8 vramTier,
        uint256 fee,
        Timeouts timeouts
    );
    event TaskQueued(uint256 indexed taskId, uint64 queueDeadline);
    event TaskStarted(uint256 indexed taskId, address[3] nodes, uint64 commitDeadline, uint256 seed);
    event NodeSelected(uint256 indexed taskId, address indexed node, uint8 slot);
    event CommitmentSubmitted(
        uint256 indexed taskId, address indexed node, bytes32 commitment, uint8 commitOrder
    );
    event DisclosureOpened(uint256 indexed taskId, address[] nodes, uint64 discloseDeadline);
    event ResultDisclosed(
        uint256 indexed taskId, address indexed node, bytes result, uint8 errorCode
    );
    event TaskValidated(
        uint256 indexed taskId,
        address indexed resultNode,
        bytes result,
        address[] agreeingNodes,
        uint64 uploadDeadline
    );
    /// @notice The delivering node missed its upload; `resultNode`, another agreeing node,
    /// delivers the same validated result by the new deadline.
    event DeliveryReassigned(
        uint256 indexed taskId, address indexed resultNode, uint64 uploadDeadline
    );
    event NodePenalized(uint256 indexed taskId, address indexed node, Fault fault, uint256 amount);
    event TaskCompleted(
        uint256 indexed taskId, address indexed resultNode, address[] nodes, uint256[] payouts
    );
    event TaskAborted(uint256 indexed taskId, AbortReason reason, uint256 refund);
    event TaskCancelled(uint256 indexed taskId, address indexed creator, uint256 refund);
    event TaskExpired(uint256 indexed taskId, TaskStatus phase, uint64 deadline);

    error FeeRequired();
    error FeeTooLarge(uint256 fee);
    error EmptyArgsHash();
    error UnknownTask(uint256 taskId);
    error WrongTaskStatus(uint256 taskId, TaskStatus status);
    error NotSelectedNode(uint256 taskId, address caller);
    error NotCreator(uint256 taskId, address caller);
    error NotRelay(address caller);
    error NotRegistry(address caller);
    error DeadlinePassed(uint256 taskId, uint64 deadline);
    error DeadlineNotReached(uint256 taskId, uint64 deadline);
    error EmptyCommitment(uint256 taskId);
    error AlreadyCommitted(uint256 taskId, address node);
    error DuplicateCommitment(uint256 taskId, bytes32 commitment);
    error AlreadyDisclosed(uint256 taskId, address node);
    error CommitmentMismatch(uint256 taskId, address node);
    error MalformedResult(uint256 taskId, address node, uint256 length);
    error NothingToExpire(uint256 taskId, TaskStatus status);
    error FineTooLarge(uint16 fineBps);
    error InvalidTimeouts();

    modifier onlyRelay() {
        if (msg.sender != relay) revert NotRelay(msg.sender);
        _;
    }

    constructor(address owner_, INodeRegistry registry_, address relay_) Ownable(owner_) {
        registry = registry_;
        relay = relay_;
        emit RelaySet(relay_);
    }

    // ---- owner ----

    function setRelay(address relay_) external onlyOwner {
        relay = relay_;
        emit RelaySet(relay_);
    }

    /// @notice Most bits two images' p-hashes may differ by and still agree. Ignored for LLM,
    /// whose results must be equal. Applies to tasks validated from now on.
    function setThreshold(TaskType taskType, uint8 bits) external onlyOwner {
        threshold[taskType] = bits;
        emit ThresholdSet(taskType, bits);
    }

    /// @notice Phase lengths in seconds for tasks created from now on.
    function setTimeouts(TaskType taskType, Timeouts calldata t) external onlyOwner {
        if (t.queue == 0 || t.commit == 0 || t.disclose == 0 || t.upload == 0) {
            revert InvalidTimeouts();
        }
        timeouts[taskType] = t;
        emit TimeoutsSet(taskType, t);
    }

    function setMissFine(uint16 fineBps) external onlyOwner {
        if (fineBps > MAX_FINE_BPS) revert FineTooLarge(fineBps);
        missFineBps = fineBps;
        emit MissFineSet(fineBps);
    }

    // ---- applications ----

    /// @param minVram GB of VRAM each node needs; rounded up to the registry's tier floors.
    function createTask(
        TaskType taskType,
        bytes32 argsHash,
        string[] calldata modelIds,
        uint32 minVram
    ) external payable returns (uint256 taskId) {
        if (msg.value == 0) revert FeeRequired();
        if (msg.value > type(uint128).max) revert FeeTooLarge(msg.value);
        if (argsHash == bytes32(0)) revert EmptyArgsHash();
        uint8 tier = registry.tierForRequirement(minVram);
        Timeouts memory tt = timeouts[taskType];
        if (tt.commit == 0) revert InvalidTimeouts();

        taskId = ++taskCount;
        Task storage t = _tasks[taskId];
        t.creator = msg.sender;
        t.taskType = taskType;
        t.vramTier = tier;
        t.minVram = minVram;
        t.fee = uint128(msg.value);
        t.createdAt = uint64(block.timestamp);
        t.argsHash = argsHash;
        totalEscrowed += msg.value;
        emit TaskCreated(
            taskId, msg.sender, taskType, argsHash, modelIds, minVram, tier, msg.value, tt
        );

        // Tasks already waiting go first: a new task starts at once only when none waits.
        if (queuedCount == 0 && registry.availableFromTier()[tier] >= NODES_PER_TASK) {
            _start(taskId, t);
        } else {
            t.status = TaskStatus.Queued;
            t.deadline = uint64(block.timestamp) + tt.queue;
            _queues[tier].push(taskId);
            ++queuedCount;
            emit TaskQueued(taskId, t.deadline);
            _dispatchOne();
        }
    }

    /// @notice The creator takes back a task no node has started, with its whole fee.
    function cancelTask(uint256 taskId) external {
        Task storage t = _task(taskId);
        if (msg.sender != t.creator) revert NotCreator(taskId, msg.sender);
        if (t.status != TaskStatus.Queued) revert WrongTaskStatus(taskId, t.status);
        _unqueue(taskId, t);
        t.status = TaskStatus.Cancelled;
        t.abortReason = AbortReason.CreatorCancelled;
        uint256 refund = _refund(taskId, t);
        emit TaskCancelled(taskId, t.creator, refund);
    }

    // ---- nodes ----

    /// @param commitment keccak256(abi.encodePacked(result, nonce)), nonce a fresh bytes32; an
    /// error report (one byte, the code) is committed the same way.
    function submitCommitment(uint256 taskId, bytes32 commitment) external {
        Task storage t = _task(taskId);
        _requirePhase(taskId, t, TaskStatus.Running);
        uint256 slot = _slotOf(taskId, t, msg.sender);
        Member storage m = t.members[slot];
        if (m.commitOrder != 0) revert AlreadyCommitted(taskId, msg.sender);
        if (commitment == bytes32(0)) revert EmptyCommitment(taskId);
        // A copied commitment would let a lazy node replay another's disclosure.
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            if (t.commitments[i] == commitment) revert DuplicateCommitment(taskId, commitment);
        }
        t.commitments[slot] = commitment;
        m.commitOrder = ++t.commits;
        emit CommitmentSubmitted(taskId, msg.sender, commitment, m.commitOrder);
        if (t.commits == NODES_PER_TASK) _openDisclosure(taskId, t);
    }

    function disclose(uint256 taskId, bytes calldata result, bytes32 nonce) external {
        Task storage t = _task(taskId);
        _requirePhase(taskId, t, TaskStatus.Disclosing);
        uint256 slot = _slotOf(taskId, t, msg.sender);
        Member storage m = t.members[slot];
        if (m.disclosed) revert AlreadyDisclosed(taskId, msg.sender);
        if (keccak256(abi.encodePacked(result, nonce)) != t.commitments[slot]) {
            revert CommitmentMismatch(taskId, msg.sender);
        }
        if (!ResultCompare.isWellFormed(t.taskType, result)) {
            revert MalformedResult(taskId, msg.sender, result.length);
        }
        m.disclosed = true;
        m.errorCode = ResultCompare.errorCode(result);
        t.results[slot] = result;
        emit ResultDisclosed(taskId, msg.sender, result, m.errorCode);
        if (_count(t, true, false) == _count(t, true, true)) _settle(taskId, t);
    }

    // ---- relay ----

    /// @notice The relay checked that the result node's uploaded images hash to the validated
    /// result: the agreeing nodes are paid and go back to work.
    function confirmUpload(uint256 taskId) external onlyRelay {
        Task storage t = _task(taskId);
        _requirePhase(taskId, t, TaskStatus.Validated);
        t.status = TaskStatus.Completed;
        totalEscrowed -= t.fee;

        uint256 n = _count(t, true, false);
        address[] memory nodes = new address[](n);
        uint256[] memory payouts = new uint256[](n);
        uint256 share = t.fee / n;
        uint256 j;
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            Member storage m = t.members[i];
            if (!m.active) continue;
            // The wei left over by the division goes to the node that did the upload.
            uint256 pay = i == t.resultSlot ? t.fee - share * (n - 1) : share;
            nodes[j] = m.node;
            payouts[j++] = pay;
            _credit(m.node, taskId, pay);
        }
        emit TaskCompleted(taskId, t.members[t.resultSlot].node, nodes, payouts);
        _releaseActive(taskId, t);
    }

    // ---- anybody ----

    /// @notice Ends the current phase after its deadline. Nodes that missed their step are
    /// dismissed and penalized; the task goes on with the others when it can, else it aborts
    /// with a refund.
    function expire(uint256 taskId) external {
        Task storage t = _task(taskId);
        TaskStatus phase = t.status;
        bool live = phase == TaskStatus.Queued || phase == TaskStatus.Running
            || phase == TaskStatus.Disclosing || phase == TaskStatus.Validated;
        if (!live) revert NothingToExpire(taskId, phase);
        if (block.timestamp <= t.deadline) revert DeadlineNotReached(taskId, t.deadline);
        emit TaskExpired(taskId, phase, t.deadline);

        if (phase == TaskStatus.Queued) {
            _unqueue(taskId, t);
            _abort(taskId, t, AbortReason.Timeout);
        } else if (phase == TaskStatus.Running) {
            for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
                if (t.members[i].commitOrder == 0) _dismiss(taskId, t, i, Fault.MissedCommit, 0);
            }
            if (t.commits >= 2) _openDisclosure(taskId, t);
            else _abort(taskId, t, AbortReason.Timeout);
        } else if (phase == TaskStatus.Disclosing) {
            for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
                Member storage m = t.members[i];
                if (m.active && !m.disclosed) {
                    _dismiss(taskId, t, i, Fault.MissedDisclose, missFineBps);
                }
            }
            _settle(taskId, t);
        } else {
            // The other agreeing nodes hold the same images: the next fastest delivers, and
            // the task aborts only when none is left.
            _dismiss(taskId, t, t.resultSlot, Fault.MissedUpload, missFineBps);
            uint256 next = _fastestActive(t);
            if (next == NODES_PER_TASK) {
                _abort(taskId, t, AbortReason.UploadTimeout);
            } else {
                _assignDelivery(t, next);
                emit DeliveryReassigned(taskId, t.members[next].node, t.deadline);
            }
        }
    }

    /// @notice Starts up to `max` queued tasks that have enough Available nodes. Dispatch also
    /// happens by itself whenever nodes free up; this is for anyone who wants it sooner.
    function dispatchQueued(uint256 max) external returns (uint256 started) {
        while (started < max && _dispatchOne()) ++started;
    }

    function onNodeAvailable() external {
        if (msg.sender != address(registry)) revert NotRegistry(msg.sender);
        _dispatchOne();
    }

    // ---- views ----

    struct TaskView {
        address creator;
        TaskType taskType;
        TaskStatus status;
        AbortReason abortReason;
        uint8 vramTier;
        uint32 minVram;
        uint256 fee;
        uint64 createdAt;
        uint64 deadline;
        bytes32 argsHash;
        address resultNode;
        Member[3] members;
        bytes32[3] commitments;
        bytes[3] results;
    }

    function getTask(uint256 taskId) external view returns (TaskView memory v) {
        Task storage t = _task(taskId);
        v.creator = t.creator;
        v.taskType = t.taskType;
        v.status = t.status;
        v.abortReason = t.abortReason;
        v.vramTier = t.vramTier;
        v.minVram = t.minVram;
        v.fee = t.fee;
        v.createdAt = t.createdAt;
        v.deadline = t.deadline;
        v.argsHash = t.argsHash;
        if (t.status == TaskStatus.Validated || t.status == TaskStatus.Completed) {
            v.resultNode = t.members[t.resultSlot].node;
        }
        v.members = t.members;
        v.commitments = t.commitments;
        v.results = t.results;
    }

    function queueHead(uint8 tier) external view returns (uint256) {
        return _queues[tier].head;
    }

    // ---- internals: phases ----

    function _start(uint256 taskId, Task storage t) private {
        uint256 seed = uint256(
            keccak256(
                abi.encode(block.prevrandao, blockhash(block.number - 1), taskId, ++_selectionNonce)
            )
        );
        address[3] memory nodes = registry.take(t.vramTier, seed, taskId);
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            t.members[i] = Member(nodes[i], 0, 0, false, true);
            emit NodeSelected(taskId, nodes[i], uint8(i));
        }
        t.status = TaskStatus.Running;
        t.deadline = uint64(block.timestamp) + timeouts[t.taskType].commit;
        emit TaskStarted(taskId, nodes, t.deadline, seed);
    }

    function _openDisclosure(uint256 taskId, Task storage t) private {
        t.status = TaskStatus.Disclosing;
        t.deadline = uint64(block.timestamp) + timeouts[t.taskType].disclose;
        emit DisclosureOpened(taskId, _activeNodes(t), t.deadline);
    }

    /// @notice Compares the disclosed results pairwise. A node agreeing with at least one other
    /// is in the majority: with a tolerance, A~B and B~C need not give A~C, and in that case
    /// nobody is shown to be wrong, so nobody is slashed. A disclosed result agreeing with none
    /// while two others agree is the cheat. Agreeing error reports abort the task (the args
    /// were invalid); agreeing results validate it.
    function _settle(uint256 taskId, Task storage t) private {
        uint256 agreeing = _agreementMask(t);
        if (agreeing == 0) {
            _abort(
                taskId,
                t,
                _count(t, true, true) >= 2 ? AbortReason.NoConsensus : AbortReason.Timeout
            );
            return;
        }
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            if (t.members[i].active && agreeing & (1 << i) == 0) {
                _dismiss(taskId, t, i, Fault.Outvoted, 0);
            }
        }
        uint256 first = _fastestActive(t); // only agreeing nodes are left active
        if (t.members[first].errorCode != 0) {
            _abort(taskId, t, AbortReason.ArgsInvalid);
            return;
        }
        _assignDelivery(t, first);
        t.status = TaskStatus.Validated;
        emit TaskValidated(
            taskId, t.members[first].node, t.results[first], _activeNodes(t), t.deadline
        );
    }

    /// @dev The active node that committed first, or NODES_PER_TASK when none is active.
    function _fastestActive(Task storage t) private view returns (uint256 fastest) {
        fastest = NODES_PER_TASK;
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            Member storage m = t.members[i];
            if (!m.active) continue;
            if (fastest == NODES_PER_TASK || m.commitOrder < t.members[fastest].commitOrder) {
                fastest = i;
            }
        }
    }

    function _assignDelivery(Task storage t, uint256 slot) private {
        t.resultSlot = uint8(slot);
        t.deadline = uint64(block.timestamp) + timeouts[t.taskType].upload;
    }

    function _agreementMask(Task storage t) private view returns (uint256 mask) {
        uint8 bits = threshold[t.taskType];
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            if (!t.members[i].active || !t.members[i].disclosed) continue;
            for (uint256 j = i + 1; j < NODES_PER_TASK; ++j) {
                if (!t.members[j].active || !t.members[j].disclosed) continue;
                if (ResultCompare.agree(t.taskType, bits, t.results[i], t.results[j])) {
                    mask |= (1 << i) | (1 << j);
                }
            }
        }
    }

    function _abort(uint256 taskId, Task storage t, AbortReason reason) private {
        t.status = TaskStatus.Aborted;
        t.abortReason = reason;
        uint256 refund = _refund(taskId, t);
        emit TaskAborted(taskId, reason, refund);
        _releaseActive(taskId, t);
    }

    // ---- internals: nodes ----

    /// @dev Takes the node out of the task. An outvoted node is slashed; one that missed a
    /// deadline is fined `fineBps` and paused (see NodeRegistry.penalize).
    function _dismiss(uint256 taskId, Task storage t, uint256 slot, Fault fault, uint16 fineBps)
        private
    {
        Member storage m = t.members[slot];
        m.active = false;
        uint256 amount = fault == Fault.Outvoted
            ? registry.slash(m.node, taskId)
            : registry.penalize(m.node, taskId, fineBps);
        emit NodePenalized(taskId, m.node, fault, amount);
    }

    /// @dev Frees every node still in the task, then lets queued tasks have them.
    function _releaseActive(uint256 taskId, Task storage t) private {
        uint256 freed;
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            Member storage m = t.members[i];
            if (!m.active) continue;
            m.active = false;
            registry.release(m.node, taskId);
            ++freed;
        }
        // Three freed nodes can start at most one task of 3, unless they join nodes that
        // were already free; one attempt per freed node bounds the gas either way.
        for (; freed > 0 && _dispatchOne(); --freed) {}
    }

    /// @dev Starts the oldest queued task that has enough Available nodes in its tiers. Cost is
    /// one look per tier, whatever the number of nodes or queued tasks.
    function _dispatchOne() private returns (bool) {
        if (queuedCount == 0) return false;
        uint256[] memory available = registry.availableFromTier();
        uint256 best;
        uint256 bestTier;
        for (uint256 tier = 0; tier < available.length; ++tier) {
            uint256 head = _queues[tier].head;
            if (head != 0 && available[tier] >= NODES_PER_TASK && (best == 0 || head < best)) {
                best = head;
                bestTier = tier;
            }
        }
        if (best == 0) return false;
        _queues[bestTier].remove(best);
        --queuedCount;
        _start(best, _tasks[best]);
        return true;
    }

    function _unqueue(uint256 taskId, Task storage t) private {
        _queues[t.vramTier].remove(taskId);
        --queuedCount;
    }

    function _refund(uint256 taskId, Task storage t) private returns (uint256 refund) {
        refund = t.fee;
        totalEscrowed -= refund;
        _credit(t.creator, taskId, refund);
    }

    // ---- internals: lookups ----

    function _task(uint256 taskId) private view returns (Task storage t) {
        t = _tasks[taskId];
        if (t.status == TaskStatus.None) revert UnknownTask(taskId);
    }

    function _requirePhase(uint256 taskId, Task storage t, TaskStatus phase) private view {
        if (t.status != phase) revert WrongTaskStatus(taskId, t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed(taskId, t.deadline);
    }

    function _slotOf(uint256 taskId, Task storage t, address node) private view returns (uint256) {
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            if (t.members[i].node == node && t.members[i].active) return i;
        }
        revert NotSelectedNode(taskId, node);
    }

    /// @dev Active members, or only those that also disclosed.
    function _count(Task storage t, bool activeOnly, bool disclosedOnly)
        private
        view
        returns (uint256 n)
    {
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            Member storage m = t.members[i];
            if ((!activeOnly || m.active) && (!disclosedOnly || m.disclosed)) ++n;
        }
    }

    function _activeNodes(Task storage t) private view returns (address[] memory nodes) {
        nodes = new address[](_count(t, true, false));
        uint256 j;
        for (uint256 i = 0; i < NODES_PER_TASK; ++i) {
            if (t.members[i].active) nodes[j++] = t.members[i].node;
        }
    }
}
