-- Title, text and origin of the stored articles in one rowid range, for re-tagging. No order: the rows come in
-- storage order, and the range filter lets the scan skip every other row group.
SELECT article_id, title, text, feed_url, canonical_url
FROM articles
WHERE rowid BETWEEN $first_row AND $last_row;
