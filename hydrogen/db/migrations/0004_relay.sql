-- The relay's own tables (relay_api): blob metadata, used request signatures, API keys of
-- managed mode, its managed tasks, and the deliveries it has checked and confirmed.
--
-- Blob bytes live in the object store under their sha256 (content-addressed), so two rows
-- may share one object; an object is deleted only when no row names its sha256 any more.

CREATE TABLE relay_blobs (
    id           bigserial   PRIMARY KEY,
    chain_id     bigint      NOT NULL,
    task_id      text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('args', 'staged', 'result')),
    -- The node that staged a result ('' for args), and the image's index (0 for args).
    node         text        NOT NULL DEFAULT '',
    image_index  integer     NOT NULL DEFAULT 0 CHECK (image_index >= 0),
    owner        text        NOT NULL,  -- the uploader: an address, or api-key:<id>
    sha256       bytea       NOT NULL CHECK (length(sha256) = 32),
    size         bigint      NOT NULL CHECK (size >= 0),
    content_type text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- A backstop for tasks the read model never ends; ended tasks go sooner (retention).
    expires_at   timestamptz NOT NULL,
    UNIQUE (chain_id, task_id, kind, node, image_index)
);
CREATE INDEX relay_blobs_by_sha256 ON relay_blobs (sha256);
CREATE INDEX relay_blobs_by_expiry ON relay_blobs (expires_at);

-- Each request signature is accepted once; rows outlive the timestamp window, then go.
CREATE TABLE relay_used_signatures (
    signature  bytea       PRIMARY KEY,
    signer     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX relay_used_signatures_by_expiry ON relay_used_signatures (expires_at);

-- API keys of managed mode. Only the sha256 of a key is kept: keys are 32 random bytes, so
-- a fast hash is enough, and a leaked table gives nobody a usable key.
CREATE TABLE relay_api_keys (
    id              bigserial   PRIMARY KEY,
    name            text        NOT NULL,
    key_hash        bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    rate_per_minute integer     NOT NULL CHECK (rate_per_minute > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);

-- Tasks the relay's custodial wallet created for an API key. The task id is known once the
-- createTask transaction is mined (from chain.tx-outcomes and the receipt).
CREATE TABLE relay_managed_tasks (
    request_id   text        PRIMARY KEY,  -- the chain.tx-requests id
    api_key_id   bigint      NOT NULL REFERENCES relay_api_keys (id),
    chain_id     bigint      NOT NULL,
    task_type    text        NOT NULL,
    args_sha256  bytea       NOT NULL,
    args_hash    bytea       NOT NULL,     -- keccak256, as on chain
    fee          numeric(78, 0) NOT NULL,
    status       text        NOT NULL CHECK (status IN ('requested', 'created', 'failed')),
    task_id      text,
    tx_hash      text,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relay_managed_tasks_by_task ON relay_managed_tasks (chain_id, task_id);

-- A result the relay checked against the validated hashes and asked to confirm on chain.
-- From this row on, the creator may download the images.
CREATE TABLE relay_deliveries (
    chain_id     bigint      NOT NULL,
    task_id      text        NOT NULL,
    node         text        NOT NULL,
    images       integer     NOT NULL,
    request_id   text        NOT NULL,  -- the confirmUpload tx request
    checked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, task_id)
);
