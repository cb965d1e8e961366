// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {NodeStatus} from "./HydrogenTypes.sol";
import {INodeRegistry, ITaskDispatcher} from "./interfaces/INodeRegistry.sol";
import {PullPayments} from "./lib/PullPayments.sol";

/// @notice Staked GPU nodes: join, pause, resume, quit, and the pool of Available nodes the
/// TaskManager draws from.
///
/// Available nodes live in one indexable set per VRAM tier (OpenZeppelin's EnumerableSet:
/// O(1) add, O(1) swap-and-pop remove, O(1) access by index). A node sits in the highest
/// tier whose floor its VRAM reaches; a task's requirement is rounded up to a tier floor, so
/// every node in that tier and above has enough VRAM and a uniform draw over them never has to
/// look at a node and reject it. Gas depends on the number of tiers (fixed at deployment,
/// at most MAX_TIERS), never on the number of nodes. The price of rounding: a task that needs
/// 20 GB with tiers 16/24 is served only by 24 GB+ nodes; tier floors at common GPU sizes keep
/// that loss small.
///
/// Stakes and the incentive pool are held here. Returned stakes are credited and withdrawn
/// (see PullPayments); slashed stakes and fines go to `incentivePool`.
contract NodeRegistry is INodeRegistry, Ownable, PullPayments {
    using EnumerableSet for EnumerableSet.AddressSet;

    uint256 public constant MAX_TIERS = 16;
    uint256 private constant BPS = 10_000;

    struct Node {
        NodeStatus status;
        uint8 tier;
        uint32 vram; // GB
        uint32 missedDeadlines;
        uint256 stake;
        uint256 taskId; // the task holding the node while Busy / PendingPause / PendingQuit
        string gpuName;
        string[] modelIds;
    }

    uint32[] private _tierFloors;
    mapping(uint256 => EnumerableSet.AddressSet) private _available;
    mapping(address => Node) private _nodes;

    uint256 public minStake;
    address public taskManager;
    uint256 public incentivePool;
    uint256 public totalStaked;

    event TaskManagerSet(address indexed taskManager);
    event MinStakeChanged(uint256 minStake);
    event NodeJoined(
        address indexed node, string gpuName, uint32 vram, uint8 tier, string[] modelIds, uint256 stake
    );
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    /// @dev Emitted on every status change; taskId is the task that caused it, 0 if none.
    event NodeStatusChanged(
        address indexed node, uint256 indexed taskId, NodeStatus from, NodeStatus to
    );
    event NodeSlashed(address indexed node, uint256 indexed taskId, uint256 amount);
    event NodeFined(address indexed node, uint256 indexed taskId, uint256 amount, uint256 stakeLeft);
    event StakeReturned(address indexed node, uint256 indexed taskId, uint256 amount);
    event IncentivePoolWithdrawn(address indexed to, uint256 amount);

    error StakeTooLow(uint256 sent, uint256 required);
    error AlreadyRegistered(address node, NodeStatus status);
    error InvalidNodeStatus(address node, NodeStatus status);
    error VramTooLow(uint32 vram, uint32 minimum);
    error VramUnavailable(uint32 required, uint32 largestTier);
    error NotTaskManager(address caller);
    error TaskManagerAlreadySet(address taskManager);
    error InvalidTierFloors();
    error NotEnoughAvailable(uint8 tier, uint256 available);
    error NodeNotInTask(address node, uint256 taskId);
    error PoolTooSmall(uint256 requested, uint256 pool);

    modifier onlyTaskManager() {
        if (msg.sender != taskManager) revert NotTaskManager(msg.sender);
        _;
    }

    /// @param floors strictly increasing VRAM floors in GB; the first is the least VRAM a
    /// node may join with.
    constructor(address owner_, uint256 minStake_, uint32[] memory floors) Ownable(owner_) {
        if (floors.length == 0 || floors.length > MAX_TIERS) revert InvalidTierFloors();
        for (uint256 i = 1; i < floors.length; ++i) {
            if (floors[i] <= floors[i - 1]) revert InvalidTierFloors();
        }
        _tierFloors = floors;
        minStake = minStake_;
    }

    // ---- owner ----

    /// @notice Wires the one TaskManager; set once so nobody can later redirect node control.
    function setTaskManager(address taskManager_) external onlyOwner {
        if (taskManager != address(0)) revert TaskManagerAlreadySet(taskManager);
        taskManager = taskManager_;
        emit TaskManagerSet(taskManager_);
    }

    /// @notice Applies to joins and resumes from now on; staked nodes keep their stake.
    function setMinStake(uint256 minStake_) external onlyOwner {
        minStake = minStake_;
        emit MinStakeChanged(minStake_);
    }

    function withdrawIncentivePool(address to, uint256 amount) external onlyOwner nonReentrant {
        if (amount > incentivePool) revert PoolTooSmall(amount, incentivePool);
        incentivePool -= amount;
        emit IncentivePoolWithdrawn(to, amount);
        _send(to, amount);
    }

    // ---- nodes ----

    function join(string calldata gpuName, uint32 vram, string[] memory modelIds)
        external
        payable
    {
        Node storage n = _nodes[msg.sender];
        NodeStatus from = n.status;
        // A slashed address stays out: its record is the evidence, and rejoining is cheap with
        // a fresh address anyway, so the only thing to protect is the history.
        if (from != NodeStatus.None && from != NodeStatus.Quit) {
            revert AlreadyRegistered(msg.sender, from);
        }
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        if (vram < _tierFloors[0]) revert VramTooLow(vram, _tierFloors[0]);
        uint8 tier = _tierOf(vram);
        n.status = NodeStatus.Available;
        n.tier = tier;
        n.vram = vram;
        n.stake = msg.value;
        n.gpuName = gpuName;
        n.modelIds = modelIds;
        totalStaked += msg.value;
        _available[tier].add(msg.sender);
        emit NodeJoined(msg.sender, gpuName, vram, tier, modelIds, msg.value);
        emit NodeStatusChanged(msg.sender, 0, from, NodeStatus.Available);
        _notifyAvailable();
    }

    /// @notice Tops up a stake, e.g. after a fine took it under `minStake`.
    function addStake() external payable {
        Node storage n = _nodes[msg.sender];
        if (!_isStaked(n.status)) revert InvalidNodeStatus(msg.sender, n.status);
        n.stake += msg.value;
        totalStaked += msg.value;
        emit StakeAdded(msg.sender, msg.value, n.stake);
    }

    /// @notice Stops receiving tasks; a Busy node finishes its task first.
    function pause() external {
        Node storage n = _nodes[msg.sender];
        NodeStatus from = n.status;
        if (from == NodeStatus.Available) {
            _available[n.tier].remove(msg.sender);
            _setStatus(msg.sender, n, NodeStatus.Paused, 0);
        } else if (from == NodeStatus.Busy) {
            _setStatus(msg.sender, n, NodeStatus.PendingPause, n.taskId);
        } else {
            revert InvalidNodeStatus(msg.sender, from);
        }
    }

    /// @notice Back to work; also takes back a pause requested during a task.
    function resume() external {
        Node storage n = _nodes[msg.sender];
        NodeStatus from = n.status;
        if (from == NodeStatus.Paused) {
            if (n.stake < minStake) revert StakeTooLow(n.stake, minStake);
            _available[n.tier].add(msg.sender);
            _setStatus(msg.sender, n, NodeStatus.Available, 0);
            _notifyAvailable();
        } else if (from == NodeStatus.PendingPause) {
            _setStatus(msg.sender, n, NodeStatus.Busy, n.taskId);
        } else {
            revert InvalidNodeStatus(msg.sender, from);
        }
    }

    /// @notice Leaves the network and gets the stake back (to withdraw); a node in a task
    /// leaves when the task lets it go.
    function quit() external {
        Node storage n = _nodes[msg.sender];
        NodeStatus from = n.status;
        if (from == NodeStatus.Available || from == NodeStatus.Paused) {
            if (from == NodeStatus.Available) _available[n.tier].remove(msg.sender);
            _finishQuit(msg.sender, n, 0);
        } else if (from == NodeStatus.Busy || from == NodeStatus.PendingPause) {
            _setStatus(msg.sender, n, NodeStatus.PendingQuit, n.taskId);
        } else {
            revert InvalidNodeStatus(msg.sender, from);
        }
    }

    // ---- task manager ----

    /// @notice Draws 3 distinct Available nodes uniformly from tier `tier` and above and marks
    /// them Busy. Each pick is an index into the concatenation of the eligible tiers; a picked
    /// node leaves the set at once, so it cannot be drawn twice.
    function take(uint8 tier, uint256 seed, uint256 taskId)
        external
        onlyTaskManager
        returns (address[3] memory picked)
    {
        uint256 tiers = _tierFloors.length;
        uint256 total;
        for (uint256 t = tier; t < tiers; ++t) {
            total += _available[t].length();
        }
        if (total < 3) revert NotEnoughAvailable(tier, total);
        for (uint256 k = 0; k < 3; ++k) {
            seed = uint256(keccak256(abi.encode(seed, k)));
            uint256 r = seed % total;
            uint256 t = tier;
            uint256 len = _available[t].length();
            while (r >= len) {
                r -= len;
                len = _available[++t].length();
            }
            address node = _available[t].at(r);
            _available[t].remove(node);
            --total;
            Node storage n = _nodes[node];
            n.taskId = taskId;
            _setStatus(node, n, NodeStatus.Busy, taskId);
            picked[k] = node;
        }
    }

    /// @notice The task is done with `node`: back to Available, or on to the pause or quit it
    /// asked for meanwhile. The TaskManager dispatches queued tasks itself afterwards.
    function release(address node, uint256 taskId) external onlyTaskManager {
        Node storage n = _nodeInTask(node, taskId);
        NodeStatus from = n.status;
        n.taskId = 0;
        if (from == NodeStatus.Busy) {
            _available[n.tier].add(node);
            _setStatus(node, n, NodeStatus.Available, taskId);
        } else if (from == NodeStatus.PendingPause) {
            _setStatus(node, n, NodeStatus.Paused, taskId);
        } else {
            _finishQuit(node, n, taskId);
        }
    }

    /// @notice A node missed a deadline: fined `fineBps` of its stake into the pool, freed from
    /// the task and Paused (or Quit, if it had asked to quit), so it gets no new task until its
    /// operator resumes it.
    function penalize(address node, uint256 taskId, uint16 fineBps)
        external
        onlyTaskManager
        returns (uint256 fine)
    {
        Node storage n = _nodeInTask(node, taskId);
        fine = (n.stake * fineBps) / BPS;
        n.stake -= fine;
        totalStaked -= fine;
        incentivePool += fine;
        n.missedDeadlines += 1;
        n.taskId = 0;
        if (fine != 0) emit NodeFined(node, taskId, fine, n.stake);
        if (n.status == NodeStatus.PendingQuit) _finishQuit(node, n, taskId);
        else _setStatus(node, n, NodeStatus.Paused, taskId);
    }

    /// @notice The node's whole stake goes to the incentive pool and the node is out for good.
    function slash(address node, uint256 taskId) external onlyTaskManager returns (uint256 amount) {
        Node storage n = _nodeInTask(node, taskId);
        amount = n.stake;
        n.stake = 0;
        n.taskId = 0;
        totalStaked -= amount;
        incentivePool += amount;
        emit NodeSlashed(node, taskId, amount);
        _setStatus(node, n, NodeStatus.Slashed, taskId);
    }

    // ---- views ----

    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    function statusOf(address node) external view returns (NodeStatus) {
        return _nodes[node].status;
    }

    function tierFloors() external view returns (uint32[] memory) {
        return _tierFloors;
    }

    /// @notice The tier whose nodes all have at least `minVram` GB.
    function tierForRequirement(uint32 minVram) public view returns (uint8) {
        uint256 tiers = _tierFloors.length;
        for (uint256 t = 0; t < tiers; ++t) {
            if (_tierFloors[t] >= minVram) return uint8(t);
        }
        revert VramUnavailable(minVram, _tierFloors[tiers - 1]);
    }

    function availableFromTier() external view returns (uint256[] memory counts) {
        uint256 tiers = _tierFloors.length;
        counts = new uint256[](tiers);
        uint256 running;
        for (uint256 t = tiers; t > 0; --t) {
            running += _available[t - 1].length();
            counts[t - 1] = running;
        }
    }

    /// @notice Available nodes with at least `minVram` GB (at tier granularity).
    function availableCount(uint32 minVram) external view returns (uint256 count) {
        uint256 tiers = _tierFloors.length;
        for (uint256 t = tierForRequirement(minVram); t < tiers; ++t) {
            count += _available[t].length();
        }
    }

    function availableInTier(uint8 tier) external view returns (address[] memory) {
        return _available[tier].values();
    }

    // ---- internals ----

    function _tierOf(uint32 vram) private view returns (uint8 tier) {
        uint256 tiers = _tierFloors.length;
        for (uint256 t = 1; t < tiers && _tierFloors[t] <= vram; ++t) {
            tier = uint8(t);
        }
    }

    function _isStaked(NodeStatus s) private pure returns (bool) {
        return s != NodeStatus.None && s != NodeStatus.Quit && s != NodeStatus.Slashed;
    }

    function _nodeInTask(address node, uint256 taskId) private view returns (Node storage n) {
        n = _nodes[node];
        NodeStatus s = n.status;
        bool held = s == NodeStatus.Busy || s == NodeStatus.PendingPause || s == NodeStatus.PendingQuit;
        if (!held || n.taskId != taskId) revert NodeNotInTask(node, taskId);
    }

    function _finishQuit(address node, Node storage n, uint256 taskId) private {
        uint256 amount = n.stake;
        n.stake = 0;
        totalStaked -= amount;
        _setStatus(node, n, NodeStatus.Quit, taskId);
        emit StakeReturned(node, taskId, amount);
        _credit(node, taskId, amount);
    }

    function _setStatus(address node, Node storage n, NodeStatus to, uint256 taskId) private {
        emit NodeStatusChanged(node, taskId, n.status, to);
        n.status = to;
    }

    /// @dev Last in the calling function (checks-effects-interactions): the TaskManager may
    /// call back into `take`.
    function _notifyAvailable() private {
        if (taskManager != address(0)) ITaskDispatcher(taskManager).onNodeAvailable();
    }
}
