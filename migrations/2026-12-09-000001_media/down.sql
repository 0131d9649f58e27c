DROP TRIGGER media_changed ON media;
DROP FUNCTION gazette_media_changed();
DROP TABLE article_media;
DROP INDEX articles_feature_media;
ALTER TABLE articles DROP COLUMN feature_media_id, DROP COLUMN feature_alt,
    DROP COLUMN feature_credit;
DROP TABLE media_blobs;
DROP TABLE media_variants;
DROP TABLE media;
