-- Gift subscriptions: a reader pays once for 1, 3, 6 or 12 months of access for someone else,
-- who redeems it by a mailed link. `form_key` is the buyer's form's own key: a double click or
-- a resent form finds the gift the first submission made, so it is bought once. A gift is
-- `pending` while its payment is taken or confirmed, `paid` once it is (its recipient's mail
-- is queued in the same transaction), `unpaid` if the payment was declined or never taken,
-- and `redeemed` once a reader has taken it (`grant_id` is the access it gave). The buyer's
-- account may close later: the gift and its payment stay, without the buyer.
CREATE TABLE gift_subscriptions (
    id                 BIGSERIAL   PRIMARY KEY,
    buyer_id           BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    form_key           TEXT        NOT NULL CHECK (length(form_key) BETWEEN 16 AND 64),
    recipient_email    TEXT        NOT NULL CHECK (length(recipient_email) BETWEEN 3 AND 254),
    -- Who the gift is from, as the buyer wants the recipient to read it (else their address).
    from_name          TEXT        NOT NULL DEFAULT '' CHECK (length(from_name) <= 80),
    message            TEXT        NOT NULL DEFAULT '' CHECK (length(message) <= 500),
    months             INTEGER     NOT NULL CHECK (months IN (1, 3, 6, 12)),
    amount_cents       INTEGER     NOT NULL CHECK (amount_cents > 0),
    currency           TEXT        NOT NULL,
    payment_key        TEXT        NOT NULL UNIQUE,
    gateway            TEXT        NOT NULL,
    gateway_reference  TEXT,
    status             TEXT        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'paid', 'unpaid', 'redeemed')),
    created_at         TIMESTAMPTZ NOT NULL,
    paid_at            TIMESTAMPTZ,
    redeemed_by        BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    redeemed_at        TIMESTAMPTZ,
    grant_id           BIGINT      REFERENCES access_grants (id) ON DELETE SET NULL,
    UNIQUE (buyer_id, form_key),
    CHECK ((status IN ('paid', 'redeemed')) = (paid_at IS NOT NULL AND gateway_reference IS NOT NULL)),
    CHECK ((status = 'redeemed') = (redeemed_at IS NOT NULL))
);

CREATE INDEX gift_subscriptions_by_buyer ON gift_subscriptions (buyer_id, created_at);
CREATE INDEX gift_subscriptions_by_redeemer ON gift_subscriptions (redeemed_by)
    WHERE redeemed_by IS NOT NULL;
-- Housekeeping settles the payments whose answer was lost through this index.
CREATE INDEX gift_subscriptions_pending ON gift_subscriptions (created_at)
    WHERE status = 'pending';

-- The recipient of a gift subscription is mailed its link.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation', 'access_ending', 'trial_ending', 'gift_received'));
