-- Per-key request rates shared by every instance: each key's theoretical arrival time (GCRA,
-- Unix µs). Unlogged: a value lost in a crash only refills a bucket, and no write here waits
-- for the WAL.
CREATE UNLOGGED TABLE rate_cells (
    key TEXT   PRIMARY KEY,
    tat BIGINT NOT NULL
);
