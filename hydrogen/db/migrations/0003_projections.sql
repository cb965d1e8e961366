-- The Postgres projection of the chain event topics (streams/projector.py).
--
-- Every row here is derived from chain.task-events and chain.node-events and is written in
-- the same transaction as the projector's position in projection_offsets, so a crash never
-- applies a message twice and `hydrogen events replay` rebuilds the same rows from offset 0.
-- Times are block times (never the projector's clock) for the same reason: a replay must
-- produce identical rows.
--
-- Task ids and node addresses repeat across chains (task 1 exists on every chain), so every
-- key starts with the chain id.

-- Every applied task event, as consumed. `message` is the Avro message itself: the
-- projector folds a task's state again from these rows, so they must be exactly the input.
-- `record` is the same event as JSON, for people and analytics.
CREATE TABLE task_events (
    event_id        text        NOT NULL,
    -- An event re-mined after a reorg keeps its event id (chainId:txHash:logIndex) in a new
    -- block, so the block hash is part of the key.
    block_hash      text        NOT NULL,
    chain_id        bigint      NOT NULL,
    task_id         text        NOT NULL,
    record_name     text        NOT NULL,
    block_number    bigint      NOT NULL,
    log_index       integer     NOT NULL,
    block_time      timestamptz NOT NULL,
    tx_hash         text        NOT NULL,
    -- The nodes this event says something about (node_facts): selected, paid, penalized.
    nodes           text[]      NOT NULL DEFAULT '{}',
    record          jsonb       NOT NULL,
    message         bytea       NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    -- Set by a LogRetracted: the event is off the chain. The row stays, so the history shows
    -- what was once seen, and the refold of the task replays the retraction at its offset.
    retracted        boolean     NOT NULL DEFAULT false,
    retracted_at     timestamptz,
    retracted_fork   bigint,
    retracted_offset bigint,
    PRIMARY KEY (event_id, block_hash)
);
-- Folding one task again: its events in the order they were consumed.
CREATE INDEX task_events_by_task ON task_events (chain_id, task_id, kafka_offset);
CREATE INDEX task_events_by_time ON task_events (block_time);
-- Folding one node again, and "what happened to node X".
CREATE INDEX task_events_by_node ON task_events USING gin (nodes);

-- Registry events of nodes (chain.node-events), kept for the same reasons as task_events.
CREATE TABLE node_events (
    event_id        text        NOT NULL,
    block_hash      text        NOT NULL,
    chain_id        bigint      NOT NULL,
    node            text        NOT NULL,
    record_name     text        NOT NULL,
    block_number    bigint      NOT NULL,
    log_index       integer     NOT NULL,
    block_time      timestamptz NOT NULL,
    tx_hash         text        NOT NULL,
    record          jsonb       NOT NULL,
    message         bytea       NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    retracted        boolean     NOT NULL DEFAULT false,
    retracted_at     timestamptz,
    retracted_fork   bigint,
    retracted_offset bigint,
    PRIMARY KEY (event_id, block_hash)
);
CREATE INDEX node_events_by_node ON node_events (chain_id, node, block_number, log_index);
CREATE INDEX node_events_by_time ON node_events (block_time);

-- The current state of each task (streams.domain.task.TaskState).
CREATE TABLE tasks (
    chain_id        bigint      NOT NULL,
    task_id         text        NOT NULL,
    status          text        NOT NULL,  -- the contract's spelling: Queued, Running, ...
    abort_reason    text,                  -- Timeout, NoConsensus, ...; NULL unless ended so
    creator         text,
    task_type       text,                  -- SD or LLM
    args_hash       bytea,
    model_ids       text[]      NOT NULL DEFAULT '{}',
    min_vram        integer     NOT NULL DEFAULT 0,
    vram_tier       integer     NOT NULL DEFAULT 0,
    -- wei: uint256 values pass bigint, so numeric with no scale.
    fee             numeric(78, 0) NOT NULL DEFAULT 0,
    selected_nodes  text[]      NOT NULL DEFAULT '{}',  -- by slot
    agreeing_nodes  text[]      NOT NULL DEFAULT '{}',
    result_node     text,
    result          bytea,
    payouts         numeric(78, 0)[] NOT NULL DEFAULT '{}',  -- aligned with selected_nodes
    penalties       numeric(78, 0)[] NOT NULL DEFAULT '{}',  -- aligned with selected_nodes
    refund          numeric(78, 0),
    created_at      timestamptz,
    queued_at       timestamptz,
    started_at      timestamptz,
    disclosing_at   timestamptz,
    validated_at    timestamptz,
    ended_at        timestamptz,
    deadline        timestamptz,           -- of the live phase; NULL once ended
    version         integer     NOT NULL,
    last_event_id   text,
    last_block_number bigint,
    last_log_index  integer,
    -- Block time of the last applied event (not the wall clock: replays must be identical).
    updated_at      timestamptz,
    PRIMARY KEY (chain_id, task_id)
);
-- Analytics: tasks by status and over time, per model, per node, per creator.
CREATE INDEX tasks_by_status ON tasks (status, updated_at);
CREATE INDEX tasks_by_created ON tasks (created_at);
CREATE INDEX tasks_by_ended ON tasks (ended_at);
CREATE INDEX tasks_by_model ON tasks USING gin (model_ids);
CREATE INDEX tasks_by_node ON tasks USING gin (selected_nodes);
CREATE INDEX tasks_by_creator ON tasks (creator);

-- The current state of each node (streams.domain.node.NodeState).
CREATE TABLE nodes (
    chain_id        bigint      NOT NULL,
    address         text        NOT NULL,
    status          text        NOT NULL,  -- NodeStatus name: AVAILABLE, BUSY, ...
    stake           numeric(78, 0) NOT NULL DEFAULT 0,
    gpu_name        text        NOT NULL DEFAULT '',
    vram            integer     NOT NULL DEFAULT 0,
    tier            integer     NOT NULL DEFAULT 0,
    model_ids       text[]      NOT NULL DEFAULT '{}',
    current_task    text,
    tasks           integer     NOT NULL DEFAULT 0,
    successes       integer     NOT NULL DEFAULT 0,
    slashes         integer     NOT NULL DEFAULT 0,
    timeouts        integer     NOT NULL DEFAULT 0,
    deliveries      integer     NOT NULL DEFAULT 0,
    earned          numeric(78, 0) NOT NULL DEFAULT 0,
    fined           numeric(78, 0) NOT NULL DEFAULT 0,
    joined_at       timestamptz,
    version         integer     NOT NULL,
    updated_at      timestamptz,           -- block time of its latest input
    PRIMARY KEY (chain_id, address)
);
CREATE INDEX nodes_by_status ON nodes (status);
CREATE INDEX nodes_by_model ON nodes USING gin (model_ids);

-- Messages the projector could not use: undecodable, or refused by the domain (a transition
-- the contract cannot emit). They are recorded here rather than on the topic's .dlq because
-- this row commits in the same transaction as the offset that skips the message: exactly one
-- row per bad message, and a replay writes the same rows again.
CREATE TABLE projection_dead_letters (
    consumer        text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    key             bytea,
    value           bytea,
    error_type      text        NOT NULL,  -- DecodeError, TransitionRejected, ...
    reason          text        NOT NULL,
    failed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition, kafka_offset)
);
