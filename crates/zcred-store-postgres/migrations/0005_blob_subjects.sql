-- What a blob is about (the issuer's prefix for onboarding): one unexpired blob of a kind per
-- subject.
ALTER TABLE blobs ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX blobs_by_subject ON blobs (kind, subject, expires);
