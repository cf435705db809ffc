-- Which taxonomy version last tagged each article, so that an article that earned no tag is not re-tagged
-- forever. Articles without a row fall back to the version of their tags (none: unknown, hence stale).
CREATE TABLE article_tag_versions (
    article_id       VARCHAR PRIMARY KEY,
    taxonomy_version VARCHAR NOT NULL,
    tagged_at        TIMESTAMP NOT NULL
);
