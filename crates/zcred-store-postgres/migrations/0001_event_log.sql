-- The event log: append-only, first-seen order, one non-receipt event per (prefix, sn).
CREATE TABLE events (
    ordinal BIGSERIAL PRIMARY KEY,
    prefix  TEXT   NOT NULL,
    sn      BIGINT NOT NULL CHECK (sn >= 0),
    ilk     TEXT   NOT NULL,
    said    TEXT   NOT NULL,
    message TEXT   NOT NULL
);
CREATE UNIQUE INDEX events_place ON events (prefix, sn) WHERE ilk <> 'rct';
CREATE INDEX events_by_prefix ON events (prefix, sn);

CREATE FUNCTION zcred_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION zcred_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION zcred_events_append_only();

-- State derived from the log, written in the same transaction as the events that change it.
CREATE TABLE states (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
