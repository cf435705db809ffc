-- Forget the signatures of articles whose text changed; they are signed again from the new text.
DELETE FROM article_signatures WHERE article_id IN (SELECT article_id FROM resigned_articles);
