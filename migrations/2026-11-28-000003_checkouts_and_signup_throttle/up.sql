-- What a subscription period was worth when it began: what was paid for it plus any credit
-- carried over from the period it replaced. Switching plans credits the unused part of it.
ALTER TABLE subscriptions ADD COLUMN period_value_cents INTEGER NOT NULL DEFAULT 0
    CHECK (period_value_cents >= 0);
UPDATE subscriptions SET period_value_cents = plans.price_cents
    FROM plans WHERE plans.code = subscriptions.plan_code;
ALTER TABLE subscriptions ALTER COLUMN period_value_cents DROP DEFAULT;

-- A checkout is a change of subscription being paid for, at most one per reader, so two tabs
-- or a double submit cannot both be charged. Its id keys the charge at the payment processor:
-- asking again for the same checkout never charges twice. Once the processor has taken the
-- payment, its reference is saved here first; from then on the checkout is only ever
-- recorded as a subscription, never charged again.
CREATE TABLE checkouts (
    id                  BIGSERIAL PRIMARY KEY,
    user_id             BIGINT      NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    plan_code           TEXT        NOT NULL REFERENCES plans (code),
    amount_cents        INTEGER     NOT NULL CHECK (amount_cents >= 0),
    period_value_cents  INTEGER     NOT NULL CHECK (period_value_cents >= amount_cents),
    period_end          TIMESTAMPTZ NOT NULL,
    gateway             TEXT,
    gateway_reference   TEXT,
    started_at          TIMESTAMPTZ NOT NULL,
    CHECK (period_end > started_at),
    CHECK ((gateway IS NULL) = (gateway_reference IS NULL))
);

-- Login failures are also counted per account and address together (so one guesser cannot
-- lock the owner out from everywhere), and sign-up attempts per address.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'signup'));
