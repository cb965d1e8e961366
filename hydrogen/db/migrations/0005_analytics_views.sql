-- Analytics over the task history: views on the projection of 0003_projections.sql.
--
-- They live in their own schema, so analysts can be given read access to them alone
-- (GRANT USAGE ON SCHEMA analytics, GRANT SELECT ON ALL TABLES IN SCHEMA analytics).
-- Views hold no rows: a replay (`hydrogen events replay`) refills the tables under them.
-- Times are block times, so the answers are the same on every rebuild. Hours and days are
-- cut in UTC whatever the session's TimeZone. Wei amounts are numeric(78, 0) like the tables.
-- docs/analytics.md shows a query for each view.

CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
    'Read-only views over the projected task history (tasks, task_events, nodes); see docs/analytics.md.';

-- A task's lifecycle is linear (None, Queued?, Running, Disclosing, Validated, then Completed,
-- Aborted or Cancelled), and `tasks` keeps the block time at which it entered each status,
-- so its status changes are the consecutive pairs of those that are set. This is what
-- tasks.history carries (TaskStatusChanged) for the same task, from the same block times.
CREATE VIEW analytics.task_status_changes AS
WITH entered AS (
    SELECT t.chain_id, t.task_id, t.created_at, t.abort_reason, e.ordinal, e.status, e.at
    FROM tasks t
    CROSS JOIN LATERAL (
        VALUES
            (0, 'None', t.created_at),
            (1, 'Queued', t.queued_at),
            (2, 'Running', t.started_at),
            (3, 'Disclosing', t.disclosing_at),
            (4, 'Validated', t.validated_at),
            (5, t.status, t.ended_at)  -- ended_at is set once the status is terminal
    ) AS e (ordinal, status, at)
    WHERE e.at IS NOT NULL
),
steps AS (
    SELECT entered.*,
           lead(status) OVER task_order AS next_status,
           lead(at) OVER task_order AS next_at,
           row_number() OVER task_order AS step
    FROM entered
    WINDOW task_order AS (PARTITION BY chain_id, task_id ORDER BY ordinal)
)
SELECT chain_id,
       task_id,
       step::integer AS step,
       status AS from_status,
       next_status AS to_status,
       CASE WHEN next_status IN ('Aborted', 'Cancelled') THEN abort_reason END AS abort_reason,
       next_at AS changed_at,
       (extract(epoch FROM next_at - at) * 1000)::bigint AS phase_ms,
       (extract(epoch FROM next_at - created_at) * 1000)::bigint AS since_created_ms
FROM steps
WHERE next_status IS NOT NULL;

COMMENT ON VIEW analytics.task_status_changes IS
    'Every status change of every task: when it left from_status for to_status, after how long '
    '(phase_ms) and how long after its creation (since_created_ms). Step 1 is the creation '
    '(from None). The same changes as the tasks.history topic.';
COMMENT ON COLUMN analytics.task_status_changes.step IS
    'Position of the change in the task''s life, 1 for the first.';
COMMENT ON COLUMN analytics.task_status_changes.phase_ms IS
    'Milliseconds the task spent in from_status (block time to block time).';
COMMENT ON COLUMN analytics.task_status_changes.abort_reason IS
    'Timeout, NoConsensus, ArgsInvalid, UploadTimeout or CreatorCancelled on the change that '
    'ended the task in Aborted or Cancelled; NULL on every other change.';

CREATE VIEW analytics.tasks_per_hour AS
SELECT chain_id,
       date_trunc('hour', created_at, 'UTC') AS hour,
       status,
       count(*) AS tasks
FROM tasks
WHERE created_at IS NOT NULL
GROUP BY chain_id, date_trunc('hour', created_at, 'UTC'), status;

COMMENT ON VIEW analytics.tasks_per_hour IS
    'How many tasks were created in each hour (UTC), by the status they have now: the load on '
    'the network and what became of it.';

-- percentile_disc: each percentile is a duration that was observed (nearest rank), exact in
-- milliseconds, rather than a value interpolated between two tasks.
CREATE VIEW analytics.phase_latency AS
SELECT chain_id,
       from_status AS phase,
       count(*) AS tasks,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY phase_ms) AS p50_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY phase_ms) AS p95_ms,
       max(phase_ms) AS max_ms
FROM analytics.task_status_changes
WHERE from_status <> 'None'  -- creation: the task is queued or started in the same transaction
GROUP BY chain_id, from_status
UNION ALL
SELECT chain_id,
       'Total',
       count(*),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY since_created_ms),
       percentile_disc(0.95) WITHIN GROUP (ORDER BY since_created_ms),
       max(since_created_ms)
FROM analytics.task_status_changes
WHERE to_status = 'Completed'
GROUP BY chain_id;

COMMENT ON VIEW analytics.phase_latency IS
    'How long tasks stay in each phase (Queued, Running, Disclosing, Validated): count, p50, '
    'p95 and max in milliseconds, over the phases tasks have left, whatever ended them (a '
    'phase ended by a timeout counts with its full length). Phase Total: creation to '
    'completion, completed tasks only.';

CREATE VIEW analytics.node_leaderboard AS
SELECT chain_id,
       rank() OVER (PARTITION BY chain_id ORDER BY earned DESC, successes DESC) AS rank,
       address AS node,
       status,
       stake,
       tasks,
       successes,
       slashes,
       timeouts,
       deliveries,
       earned,
       fined,
       CASE WHEN tasks > 0 THEN round(successes::numeric / tasks, 4) END AS success_rate
FROM nodes;

COMMENT ON VIEW analytics.node_leaderboard IS
    'Which nodes do the most paid work: per node, the tasks it was selected for, those it was '
    'paid for (successes), slashes (outvoted), timeouts (missed deadlines), deliveries, wei '
    'earned and fined; ranked by earnings, then successes (equal nodes share a rank).';

-- TaskManager's NodePenalized with fault 0 (Outvoted) is the slash: the registry takes the
-- node's whole stake (its NodeSlashed carries the same amount) and the node is out for good.
-- The other faults are missed deadlines, fined rather than slashed.
CREATE VIEW analytics.slashes AS
SELECT chain_id,
       block_time AS slashed_at,
       task_id,
       record ->> 'node' AS node,
       (record ->> 'amount')::numeric(78, 0) AS amount,
       block_number,
       tx_hash,
       event_id
FROM task_events
WHERE record_name = 'NodePenalized'
  AND (record ->> 'fault')::integer = 0
  AND NOT retracted;

COMMENT ON VIEW analytics.slashes IS
    'Every slash: when a node was outvoted on a task (its result disagreed with the other two) '
    'and lost its stake (amount, wei) to the incentive pool. Events a reorg removed are left out.';

CREATE VIEW analytics.fees_paid AS
SELECT t.chain_id,
       date_trunc('day', t.ended_at, 'UTC') AS day,
       t.creator,
       count(*) FILTER (WHERE t.status = 'Completed') AS completed_tasks,
       coalesce(sum(paid.amount) FILTER (WHERE t.status = 'Completed'), 0) AS fees_paid,
       count(*) FILTER (WHERE t.status <> 'Completed') AS refunded_tasks,
       coalesce(sum(t.refund) FILTER (WHERE t.status <> 'Completed'), 0) AS refunded
FROM tasks t
CROSS JOIN LATERAL (SELECT coalesce(sum(p), 0) AS amount FROM unnest(t.payouts) AS p) AS paid
WHERE t.ended_at IS NOT NULL
GROUP BY t.chain_id, date_trunc('day', t.ended_at, 'UTC'), t.creator;

COMMENT ON VIEW analytics.fees_paid IS
    'What applications paid: per day (UTC, by when tasks ended) and creator, the fees of '
    'completed tasks (paid out to their nodes, wei) and what aborted or cancelled tasks got '
    'back (refunded, wei). Tasks still running are in neither.';
