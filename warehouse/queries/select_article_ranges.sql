-- Consecutive rowid ranges of the articles table, each holding at most $rows stored articles, in storage order:
-- the retag reads one range at a time, so that its memory does not grow with the warehouse.
SELECT min(rowid) AS first_row, max(rowid) AS last_row
FROM (SELECT rowid, (row_number() OVER (ORDER BY rowid) - 1) // $rows AS part FROM articles)
GROUP BY part
ORDER BY part;
