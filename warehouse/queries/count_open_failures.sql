-- Failures not resolved yet.
SELECT count(*) FROM failures WHERE resolved_at IS NULL;
