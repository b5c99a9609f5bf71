-- Sweeps page through a kind of record (`vc/…`) in byte order.
CREATE INDEX states_key_bytes ON states (key COLLATE "C");
