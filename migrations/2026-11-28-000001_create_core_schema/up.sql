-- Articles, readers, plans and subscriptions. Constraints keep the data honest even if a bug
-- in the application tries otherwise.

CREATE TABLE articles (
    id             BIGSERIAL PRIMARY KEY,
    title          TEXT        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    author         TEXT        NOT NULL CHECK (length(btrim(author)) BETWEEN 1 AND 200),
    teaser         TEXT        NOT NULL CHECK (length(btrim(teaser)) BETWEEN 1 AND 1000),
    body_markdown  TEXT        NOT NULL CHECK (length(body_markdown) > 0),
    -- Rendered and sanitised once, when the article is stored.
    body_html      TEXT        NOT NULL,
    is_premium     BOOLEAN     NOT NULL DEFAULT TRUE,
    published_at   TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX articles_newest_first ON articles (published_at DESC, id DESC);

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    -- Stored normalised (trimmed, lower case), so equality is case-insensitive comparison.
    email          TEXT        NOT NULL CHECK (email = btrim(email) AND length(email) BETWEEN 3 AND 254),
    password_hash  TEXT        NOT NULL CHECK (password_hash LIKE '$argon2%'),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (email);

CREATE TABLE plans (
    code           TEXT        PRIMARY KEY CHECK (code ~ '^[a-z]{1,32}$'),
    name           TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    price_cents    INTEGER     NOT NULL CHECK (price_cents > 0),
    currency       TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    period_months  INTEGER     NOT NULL CHECK (period_months BETWEEN 1 AND 36),
    display_order  INTEGER     NOT NULL DEFAULT 0
);
INSERT INTO plans (code, name, price_cents, currency, period_months, display_order) VALUES
    ('monthly', 'Monthly', 800, 'USD', 1, 1),
    ('yearly', 'Yearly', 8000, 'USD', 12, 2);

CREATE TABLE subscriptions (
    id                    BIGSERIAL PRIMARY KEY,
    user_id               BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan_code             TEXT        NOT NULL REFERENCES plans (code),
    -- active: paid for the current period; canceled: the reader asked to stop, access
    -- continues until the period end; ended: closed for good (replaced by a later
    -- subscription). Whether access continues is decided by current_period_end and the
    -- clock, so no background job is needed.
    status                TEXT        NOT NULL CHECK (status IN ('active', 'canceled', 'ended')),
    current_period_start  TIMESTAMPTZ NOT NULL,
    current_period_end    TIMESTAMPTZ NOT NULL,
    canceled_at           TIMESTAMPTZ,
    ended_at              TIMESTAMPTZ,
    gateway               TEXT        NOT NULL,
    gateway_reference     TEXT        NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (current_period_end > current_period_start),
    CHECK (status <> 'canceled' OR canceled_at IS NOT NULL),
    CHECK (status <> 'active' OR canceled_at IS NULL),
    CHECK ((status = 'ended') = (ended_at IS NOT NULL))
);
-- Never two current subscriptions for one reader, whatever the application does.
CREATE UNIQUE INDEX subscriptions_one_current_per_user ON subscriptions (user_id) WHERE status <> 'ended';
