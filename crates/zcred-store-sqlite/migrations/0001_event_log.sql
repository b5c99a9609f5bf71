-- The event log: append-only, first-seen order, one non-receipt event per (prefix, sn).
CREATE TABLE events (
    ordinal INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix  TEXT    NOT NULL,
    sn      INTEGER NOT NULL CHECK (sn >= 0),
    ilk     TEXT    NOT NULL,
    said    TEXT    NOT NULL,
    message TEXT    NOT NULL
);
CREATE UNIQUE INDEX events_place ON events (prefix, sn) WHERE ilk <> 'rct';
CREATE INDEX events_by_prefix ON events (prefix, sn);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

-- State derived from the log, written in the same transaction as the events that change it.
CREATE TABLE states (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
