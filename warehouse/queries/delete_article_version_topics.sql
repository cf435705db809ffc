-- Topics of articles whose text changed: the batch tags them again from the new text.
DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM changed_ids);
