-- Remove the topic tags of the registered retagged_articles (the result is the number of tags removed).
DELETE FROM article_topics WHERE article_id IN (SELECT article_id FROM retagged_articles);
