-- API keys, stored as the SHA-256 of the key text only.
CREATE TABLE api_keys (
    hash     TEXT    PRIMARY KEY,
    id       TEXT    NOT NULL,
    plan     TEXT    NOT NULL,
    issuer   TEXT,
    created  BIGINT  NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE
);
