-- The service's own secret keys, sealed (XChaCha20-Poly1305 under the master key, which is
-- never stored here). Hex text. Rows are never updated.
CREATE TABLE sealed_keys (
    name   TEXT PRIMARY KEY,
    sealed TEXT NOT NULL
);
