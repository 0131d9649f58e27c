DROP INDEX articles_drafts_by_edit;
DROP INDEX articles_by_author_newest_first;
ALTER TABLE articles DROP CONSTRAINT articles_first_published_with_publication;
DROP INDEX articles_slug_unique;
ALTER TABLE articles DROP COLUMN author_slug;
ALTER TABLE articles DROP COLUMN slug;
DROP INDEX articles_by_author_id;
ALTER TABLE articles DROP COLUMN author_id;
ALTER TABLE articles DROP COLUMN first_published_at;
-- Drafts have no place in the older schema.
DELETE FROM articles WHERE published_at IS NULL;
ALTER TABLE articles ALTER COLUMN published_at SET NOT NULL;
ALTER TABLE users DROP COLUMN role;
