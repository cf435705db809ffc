-- Title, text and origin of the registered candidate_articles in one rowid range, for re-tagging. No order:
-- the rows come in storage order, and the range filter lets the scan skip every other row group.
SELECT a.article_id, a.title, a.text, a.feed_url, a.canonical_url
FROM articles AS a
SEMI JOIN candidate_articles AS c USING (article_id)
WHERE a.rowid BETWEEN $first_row AND $last_row;
