-- Per source: how many articles declared a language in their markup, and how many of those the text detector
-- overruled (the text wins; docs/extraction.md). A source whose markup keeps disagreeing has a wrong `lang`.
CREATE OR REPLACE VIEW language_health AS
SELECT
    source,                                                            -- outlet host
    count(*) AS articles,                                              -- articles stored
    count(language_source) FILTER (WHERE language_source = 'text') AS detected_from_text,  -- language from the text
    count(declared_language) AS declared,                              -- articles whose markup named a language
    count(*) FILTER (
        WHERE language_source = 'text' AND declared_language IS NOT NULL AND declared_language <> language
    ) AS markup_disagrees,                                             -- markup named another language than the text
    round(markup_disagrees / nullif(declared, 0), 3) AS disagree_share, -- of the articles that declared one
    mode(declared_language || ' -> ' || language) FILTER (
        WHERE language_source = 'text' AND declared_language <> language
    ) AS usual_disagreement                                            -- the most frequent 'markup -> text' pair
FROM articles
GROUP BY source;
