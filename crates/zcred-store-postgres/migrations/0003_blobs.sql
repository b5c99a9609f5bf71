-- Pending blobs of the blob/sign/submit pattern; a row is deleted by the append that uses it.
CREATE TABLE blobs (
    id      TEXT    PRIMARY KEY,
    kind    TEXT    NOT NULL,
    owner   TEXT    NOT NULL,
    payload TEXT    NOT NULL,
    expires BIGINT NOT NULL
);
