-- Per-key request counts by whole second, shared by every instance. Unlogged: a count lost in
-- a crash only lets a few more requests through, and no write here waits for the WAL.
CREATE UNLOGGED TABLE rate_windows (
    key   TEXT   NOT NULL,
    win   BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, win)
);
