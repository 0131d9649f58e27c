-- Payments through a processor that runs the subscription itself (Stripe): the reader pays on
-- the processor's hosted page, the processor renews, and tells Gazette what happened through
-- signed events. Gazette keeps what it needs to find its own objects again and to apply every
-- event once.

-- The reader's customer at the processor: at most one per reader and processor, so a double
-- click can never create a second one. The row is written with its request key before the
-- processor is asked (a repeated request under the key gets the same customer), and the
-- processor's id is saved when it answers.
CREATE TABLE gateway_customers (
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    gateway      TEXT        NOT NULL CHECK (length(gateway) BETWEEN 1 AND 32),
    request_key  TEXT        NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 16 AND 100),
    reference    TEXT        CHECK (length(reference) BETWEEN 1 AND 255),
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, gateway)
);
CREATE UNIQUE INDEX gateway_customers_by_reference ON gateway_customers (gateway, reference);

-- A checkout on the processor's hosted page, at most one open per reader: a double click or a
-- second tab is sent to the same page. Like a customer, it is written with its request key
-- first; the page's reference and address are saved when the processor answers.
CREATE TABLE hosted_checkouts (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    gateway      TEXT        NOT NULL CHECK (length(gateway) BETWEEN 1 AND 32),
    plan_code    TEXT        NOT NULL REFERENCES plans (code),
    request_key  TEXT        NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 16 AND 100),
    -- The local path the reader returns to (an article, or empty for the account page).
    return_to    TEXT        NOT NULL CHECK (length(return_to) <= 2048),
    reference    TEXT        CHECK (length(reference) BETWEEN 1 AND 255),
    url          TEXT        CHECK (length(url) BETWEEN 1 AND 4096),
    expires_at   TIMESTAMPTZ,
    started_at   TIMESTAMPTZ NOT NULL,
    -- When housekeeping last asked the processor about it: the longest unasked go first.
    checked_at   TIMESTAMPTZ NOT NULL,
    CHECK ((reference IS NULL) = (url IS NULL)),
    CHECK ((reference IS NULL) = (expires_at IS NULL))
);
CREATE UNIQUE INDEX hosted_checkouts_by_reference ON hosted_checkouts (gateway, reference);
CREATE INDEX hosted_checkouts_by_check ON hosted_checkouts (checked_at);

-- Every processor event applied, once: the row is inserted in the same transaction as the
-- event's effect, so a duplicate delivery (or one racing it) finds the row and changes nothing.
CREATE TABLE gateway_events (
    gateway      TEXT        NOT NULL CHECK (length(gateway) BETWEEN 1 AND 32),
    event_id     TEXT        NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type   TEXT        NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    user_id      BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    applied_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (gateway, event_id)
);
-- Housekeeping deletes events long past any redelivery.
CREATE INDEX gateway_events_by_time ON gateway_events (applied_at);

-- A subscription the processor renews says so; its state is applied from what the processor
-- says (re-read), never from the order events arrive in: synced_at is when the applied state
-- was read, and an older read never overwrites a newer one.
ALTER TABLE subscriptions ADD COLUMN renews BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_renews_when_active
    CHECK (NOT renews OR status = 'active');
ALTER TABLE subscriptions ADD COLUMN synced_at TIMESTAMPTZ;
-- A renewal the processor could not charge: since when, how much (in the currency's smallest
-- unit) and where the reader pays it.
ALTER TABLE subscriptions ADD COLUMN payment_failed_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN payment_due_amount BIGINT CHECK (payment_due_amount >= 0);
ALTER TABLE subscriptions ADD COLUMN payment_due_currency TEXT CHECK (payment_due_currency ~ '^[A-Z]{3}$');
ALTER TABLE subscriptions ADD COLUMN payment_fix_url TEXT CHECK (length(payment_fix_url) BETWEEN 1 AND 4096);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_payment_due_with_currency
    CHECK ((payment_due_amount IS NULL) = (payment_due_currency IS NULL));
-- Housekeeping re-reads processor subscriptions whose period is about to end.
CREATE INDEX subscriptions_current_by_period_end ON subscriptions (current_period_end)
    WHERE status <> 'ended';
