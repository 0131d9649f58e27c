-- Articles subscribers gift: one row per article a subscriber gifted in a calendar month.
-- The rows count the month's gifts (under the giver's lock) and are what a gift link names:
-- a link opens its article only while its row exists and has not run out.
CREATE TABLE article_gifts (
    id BIGSERIAL PRIMARY KEY,
    -- The subscriber who gave it.
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- The first day of the calendar month (UTC) it was given in.
    month DATE NOT NULL CHECK (extract(day FROM month) = 1),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL CHECK (expires_at > created_at),
    -- The same article gifted again in a month is the same gift; also serves counting a
    -- reader's gifts of the month, and deleting a reader.
    UNIQUE (user_id, month, article_id)
);
-- Housekeeping finds the gifts that have run out through it.
CREATE INDEX article_gifts_by_expiry ON article_gifts (expires_at);

-- The article page shows a subscriber the gifts left this month, kept in memory: every
-- instance hears of a new gift.
CREATE TRIGGER article_gifts_changed AFTER INSERT OR UPDATE OR DELETE ON article_gifts
    FOR EACH ROW EXECUTE FUNCTION gazette_reader_changed();
