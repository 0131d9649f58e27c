-- Roles, and articles an editor writes: drafts, scheduled and published articles with stable
-- addresses.

-- reader: everyone; editor: writes and publishes; admin: also grants and removes the editor
-- role.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'reader'
    CHECK (role IN ('reader', 'editor', 'admin'));

-- What an article is at a moment follows from published_at and the clock alone, so nothing
-- needs to run when a scheduled article's time comes: NULL is a draft, a future time is
-- scheduled, a past one is published.
ALTER TABLE articles ALTER COLUMN published_at DROP NOT NULL;
-- When the article first became public (or will, when only scheduled). Once that moment has
-- passed, its address is out in the world: the slug no longer changes, even if it is
-- unpublished and published again.
ALTER TABLE articles ADD COLUMN first_published_at TIMESTAMPTZ;
UPDATE articles SET first_published_at = published_at;
-- updated_at now means the words changed after publication ("Updated" on the page). Until now
-- no article was edited after it was stored, so its updated_at is only when it was loaded.
UPDATE articles SET updated_at = published_at WHERE updated_at > published_at;
-- The editor who wrote it on the desk; articles outlive the accounts of their writers.
ALTER TABLE articles ADD COLUMN author_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX articles_by_author_id ON articles (author_id) WHERE author_id IS NOT NULL;

-- The address of an article (`/articles/{id}/{slug}`) and of its author's page
-- (`/authors/{author_slug}`). The application makes both from the title and the byline; the
-- rows already here get them by the same plain rule, written in SQL.
ALTER TABLE articles ADD COLUMN slug TEXT;
ALTER TABLE articles ADD COLUMN author_slug TEXT;
UPDATE articles SET
    slug = coalesce(nullif(left(btrim(regexp_replace(lower(translate(title,
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿ',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyy')), '[^a-z0-9]+', '-', 'g'), '-'), 80), ''), 'article'),
    author_slug = coalesce(nullif(btrim(regexp_replace(lower(translate(author,
        'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿ',
        'AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyy')), '[^a-z0-9]+', '-', 'g'), '-'), ''), 'author');
UPDATE articles SET slug = btrim(left(slug, 70), '-') || '-' || id
    WHERE id NOT IN (SELECT min(id) FROM articles GROUP BY slug);
ALTER TABLE articles ALTER COLUMN slug SET NOT NULL;
ALTER TABLE articles ALTER COLUMN author_slug SET NOT NULL;
ALTER TABLE articles ADD CONSTRAINT articles_slug_shape
    CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100);
ALTER TABLE articles ADD CONSTRAINT articles_author_slug_shape
    CHECK (author_slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(author_slug) <= 100);
CREATE UNIQUE INDEX articles_slug_unique ON articles (slug);
ALTER TABLE articles ADD CONSTRAINT articles_first_published_with_publication
    CHECK (published_at IS NULL OR first_published_at IS NOT NULL);

-- An author's page: their published articles, newest first.
CREATE INDEX articles_by_author_newest_first ON articles (author_slug, published_at DESC, id DESC)
    WHERE published_at IS NOT NULL;
-- The desk: drafts by their last edit.
CREATE INDEX articles_drafts_by_edit ON articles (updated_at DESC, id DESC)
    WHERE published_at IS NULL;
