ALTER TABLE articles DROP COLUMN version;
