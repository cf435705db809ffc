-- When a pending entry may be fetched: its page's host answered Retry-After for longer than a run waits
-- (flows/politeness.py). Until then runs leave the entry, and every other entry linking to that host, pending
-- without asking the host; NULL means due now.
ALTER TABLE pending_entries ADD COLUMN due_at TIMESTAMP;
