-- Consecutive rowid ranges of the articles table, each holding at most $rows of the registered
-- candidate_articles, in storage order (only the id column is scanned here).
SELECT min(rowid) AS first_row, max(rowid) AS last_row
FROM (
    SELECT a.rowid, (row_number() OVER (ORDER BY a.rowid) - 1) // $rows AS part
    FROM articles AS a
    SEMI JOIN candidate_articles AS c USING (article_id)
)
GROUP BY part
ORDER BY part;
