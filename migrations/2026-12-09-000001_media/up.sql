-- The media library: pictures the newsroom uploaded, shared by every editor. Each original is
-- known by the SHA-256 of its uploaded bytes (uploading the same file twice gives the same
-- picture); what readers are served are its variants, made once at upload, already oriented
-- and stripped of metadata. The original's bytes are not kept: they may carry a GPS position.
CREATE TABLE media (
    id BIGSERIAL PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    -- The format of the upload, which its variants keep (or WebP, where smaller).
    format TEXT NOT NULL CHECK (format IN ('jpeg', 'png', 'webp', 'gif')),
    -- The picture's size once turned upright by its EXIF orientation.
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    alt TEXT NOT NULL DEFAULT '' CHECK (length(alt) <= 500),
    original_name TEXT NOT NULL DEFAULT '' CHECK (length(original_name) <= 200),
    original_bytes BIGINT NOT NULL CHECK (original_bytes > 0),
    uploaded_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX media_newest ON media (created_at DESC, id DESC);

-- One row per width made of a picture, in the one format it is served in at that width.
CREATE TABLE media_variants (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    format TEXT NOT NULL CHECK (format IN ('jpeg', 'png', 'webp', 'gif')),
    byte_size INTEGER NOT NULL CHECK (byte_size > 0),
    PRIMARY KEY (media_id, width)
);

-- The variants' bytes, by their address (`<hash>-<width>.<ext>`): the PostgreSQL store. Kept
-- apart from the catalogue above so another store (an object store) can hold them instead.
-- Bytes no picture names any more are swept by housekeeping once they have not been put
-- again for a while (`touched_at`), so a file deleted and uploaded again at the same moment
-- keeps its bytes.
CREATE TABLE media_blobs (
    name TEXT PRIMARY KEY,
    body BYTEA NOT NULL,
    touched_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The bytes are already compressed images: compressing them again costs time for nothing.
ALTER TABLE media_blobs ALTER COLUMN body SET STORAGE EXTERNAL;

-- An article's feature image: shown above it, on its card, in its feed entry, its share card
-- and its newsletter. A picture in use cannot be deleted from the library.
ALTER TABLE articles
    ADD COLUMN feature_media_id BIGINT REFERENCES media (id) ON DELETE RESTRICT,
    ADD COLUMN feature_alt TEXT NOT NULL DEFAULT '' CHECK (length(feature_alt) <= 500),
    ADD COLUMN feature_credit TEXT NOT NULL DEFAULT '' CHECK (length(feature_credit) <= 300);

CREATE INDEX articles_feature_media ON articles (feature_media_id)
    WHERE feature_media_id IS NOT NULL;

-- The library pictures an article's body places, written with the article on every save.
CREATE TABLE article_media (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    PRIMARY KEY (article_id, media_id)
);

CREATE INDEX article_media_by_media ON article_media (media_id);

-- Every instance keeps hot variants in memory: a deleted picture must leave them all.
CREATE FUNCTION gazette_media_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gazette_changes', 'media:' || OLD.id);
    RETURN OLD;
END
$$;

CREATE TRIGGER media_changed AFTER UPDATE OR DELETE ON media
    FOR EACH ROW EXECUTE FUNCTION gazette_media_changed();
