-- Self-checks of a deployment (`hydrogen devnet smoke`): each run sends an event through
-- Kafka and a transaction to the chain, and records what it saw here.
CREATE TABLE smoke_checks (
    run_id        uuid PRIMARY KEY,
    kafka_topic   text        NOT NULL,
    kafka_offset  bigint      NOT NULL,
    tx_hash       text        NOT NULL,
    block_number  bigint      NOT NULL,
    checked_at    timestamptz NOT NULL DEFAULT now()
);
