-- State that must be shared by every running instance: logged-in sessions (so the server can
-- end them), the meter of logged-in readers, and login throttling.

CREATE TABLE user_sessions (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 of the random token kept in the encrypted cookie; the token itself is never stored.
    token_hash     BYTEA       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_agent     TEXT        NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
    created_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    -- The absolute limit; the idle limit follows from last_seen_at.
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    CHECK (expires_at > created_at),
    CHECK (last_seen_at >= created_at)
);
CREATE INDEX user_sessions_live_by_user ON user_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE meter_reads (
    user_id        BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The first day of the calendar month (UTC) the article was opened in.
    month          DATE        NOT NULL CHECK (extract(day FROM month) = 1),
    article_id     BIGINT      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    opened_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, month, article_id)
);

CREATE TABLE login_throttle (
    scope              TEXT        NOT NULL CHECK (scope IN ('account', 'address')),
    -- For accounts a SHA-256 of the normalised e-mail, for addresses the client IP.
    key                TEXT        NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    failures           INTEGER     NOT NULL CHECK (failures >= 0),
    window_started_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
