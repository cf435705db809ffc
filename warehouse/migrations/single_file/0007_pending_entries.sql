-- Entries a poll found that no batch has loaded yet. The poll stores them in the transaction that records the
-- feeds' new validators, and each batch's load deletes its own: a run that ends early (killed, crashed, out of
-- memory) leaves the rest here, and the next run fetches them even though their feeds answer 304 by then.
CREATE TABLE pending_entries (
    feed_url     VARCHAR NOT NULL,
    guid         VARCHAR NOT NULL,
    link         VARCHAR,
    title        VARCHAR,
    summary      VARCHAR,
    published_at TIMESTAMP,
    error        VARCHAR,
    updated_at   TIMESTAMP,
    run_id       VARCHAR NOT NULL,  -- the run that polled it, or the last that took it over
    polled_at    TIMESTAMP NOT NULL,
    resumed      INTEGER NOT NULL DEFAULT 0  -- how many later runs took it over without loading it
);
