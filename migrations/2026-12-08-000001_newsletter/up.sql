-- The newsletter. An account keeps its choice and when its address was confirmed on its own
-- row; an address without an account is a newsletter_signups row until an account signs up
-- with it and takes the choice over. Nobody is mailed a newsletter before confirming.
ALTER TABLE users
    ADD COLUMN email_confirmed_at TIMESTAMPTZ,
    -- When the account chose the newsletter; NULL while it has not (or has left).
    ADD COLUMN newsletter_opted_in_at TIMESTAMPTZ;

CREATE TABLE newsletter_signups (
    id BIGSERIAL PRIMARY KEY,
    -- Normalised, as users.email.
    email TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    -- NULL once the reader has left; the row stays so the preferences page can take them back.
    opted_in_at TIMESTAMPTZ
);

-- Addresses never mailed a newsletter again: refused for good by their mail server.
CREATE TABLE newsletter_suppressions (
    email TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    suppressed_at TIMESTAMPTZ NOT NULL
);

-- One send per article, ever: the unique article_id is what makes a second click harmless.
CREATE TABLE newsletter_sends (
    id BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
    audience TEXT NOT NULL CHECK (audience IN ('all', 'subscribers')),
    started_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    started_at TIMESTAMPTZ NOT NULL
);

-- The audience, fixed when the send starts: one row per address. A row is taken with
-- FOR UPDATE SKIP LOCKED and a lease; it is 'sending' from just before its SMTP exchange until
-- the answer is written, so a row found 'sending' with its lease run out belongs to an
-- instance that died mid-exchange and becomes 'uncertain', never sent again.
CREATE TABLE newsletter_deliveries (
    id BIGSERIAL PRIMARY KEY,
    send_id BIGINT NOT NULL REFERENCES newsletter_sends (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    signup_id BIGINT REFERENCES newsletter_signups (id) ON DELETE CASCADE,
    -- Gets the whole article (a subscriber, or a free article); otherwise the opening only.
    whole BOOLEAN NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'suppressed', 'uncertain')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    last_error TEXT,
    UNIQUE (send_id, email),
    CHECK (user_id IS NULL OR signup_id IS NULL)
);
CREATE INDEX newsletter_deliveries_due ON newsletter_deliveries (next_attempt_at)
    WHERE state IN ('queued', 'sending');
CREATE INDEX newsletter_deliveries_user ON newsletter_deliveries (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX newsletter_deliveries_signup ON newsletter_deliveries (signup_id)
    WHERE signup_id IS NOT NULL;

-- The shared pace of every instance's sending (NEWSLETTER_RATE): the next free sending slot.
CREATE TABLE newsletter_pace (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    next_slot_at TIMESTAMPTZ NOT NULL
);
INSERT INTO newsletter_pace (id, next_slot_at) VALUES (1, 'epoch');
