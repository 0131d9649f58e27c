-- An article's version counts the saves that changed its words. The desk's form carries the
-- version it was opened at, so a save made from an older version than the one stored (another
-- editor, or another window, saved in between) is caught instead of erasing that save.
ALTER TABLE articles ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
