-- Offers: a discount or a free trial on one plan, under a code readers type or follow a link
-- to. Codes are kept in lower case (they are compared without regard to case). An offer is
-- exactly one of a discount (a percentage or an amount off, for one period, some months or
-- for ever) and a trial of some days. `redeemed` counts its redemptions; the database never
-- lets it pass the limit, whatever the application does.
CREATE TABLE offers (
    code              TEXT        PRIMARY KEY CHECK (code ~ '^[a-z0-9_-]{1,40}$'),
    plan_code         TEXT        NOT NULL REFERENCES plans (code),
    percent_off       INTEGER     CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_cents  INTEGER     CHECK (amount_off_cents > 0),
    duration          TEXT        CHECK (duration IN ('once', 'forever', 'months')),
    duration_months   INTEGER     CHECK (duration_months BETWEEN 1 AND 36),
    trial_days        INTEGER     CHECK (trial_days BETWEEN 1 AND 365),
    ends_at           TIMESTAMPTZ,
    redemption_limit  INTEGER     CHECK (redemption_limit > 0),
    redeemed          INTEGER     NOT NULL DEFAULT 0 CHECK (redeemed >= 0),
    retention         BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL,
    CHECK (redemption_limit IS NULL OR redeemed <= redemption_limit),
    CHECK (
        (trial_days IS NOT NULL AND percent_off IS NULL AND amount_off_cents IS NULL
            AND duration IS NULL)
        OR (trial_days IS NULL AND duration IS NOT NULL
            AND (percent_off IS NULL) <> (amount_off_cents IS NULL))
    ),
    CHECK ((duration = 'months') = (duration_months IS NOT NULL))
);

-- A reader redeems an offer at most once.
CREATE TABLE offer_redemptions (
    offer_code   TEXT        NOT NULL REFERENCES offers (code),
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redeemed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (offer_code, user_id)
);
CREATE INDEX offer_redemptions_by_user ON offer_redemptions (user_id);

-- The offer a checkout is paying for (its redemption is held while it is open, given back if
-- it is released unpaid).
ALTER TABLE checkouts ADD COLUMN offer_code TEXT REFERENCES offers (code);

-- The offer a subscription began with; a trial's end, and whether the reader gave a payment
-- method for the charge at its end (the test gateway's trials may start without one).
ALTER TABLE subscriptions ADD COLUMN offer_code TEXT REFERENCES offers (code);
ALTER TABLE subscriptions ADD COLUMN trial_ends_at TIMESTAMPTZ;
ALTER TABLE subscriptions ADD COLUMN trial_without_card BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD COLUMN trial_notice_at TIMESTAMPTZ;
-- Housekeeping looks for trials that end.
CREATE INDEX subscriptions_trials ON subscriptions (trial_ends_at)
    WHERE trial_ends_at IS NOT NULL AND status <> 'ended';

-- A reader in a free trial is told before it ends.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation', 'access_ending', 'trial_ending'));
