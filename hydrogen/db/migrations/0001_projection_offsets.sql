-- Where each projector has read up to. A projector writes its position in the same
-- transaction as the rows it derives, so a replay after a crash is a no-op and nothing is
-- applied twice.
CREATE TABLE projection_offsets (
    consumer   text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
