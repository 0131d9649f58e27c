-- A checkout is charged once, by the request that opened it, under a random key of its own
-- (checkout ids start again in a new database; a processor's memory of keys does not). Any
-- later question about it is asked of the processor by that key: recorded if charged,
-- released if not. The paid period starts when the payment is confirmed, so the checkout
-- keeps the plan's length and the earliest end it promised (a switch whose credit covers the
-- new plan keeps the longer paid period).
ALTER TABLE checkouts ADD COLUMN payment_key TEXT;
UPDATE checkouts SET payment_key = 'checkout-' || id;
ALTER TABLE checkouts ALTER COLUMN payment_key SET NOT NULL;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_payment_key_unique UNIQUE (payment_key);
ALTER TABLE checkouts ADD CONSTRAINT checkouts_payment_key_length
    CHECK (length(payment_key) BETWEEN 16 AND 100);

ALTER TABLE checkouts ADD COLUMN period_months INTEGER;
UPDATE checkouts SET period_months = plans.period_months
    FROM plans WHERE plans.code = checkouts.plan_code;
ALTER TABLE checkouts ALTER COLUMN period_months SET NOT NULL;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_period_months_range
    CHECK (period_months BETWEEN 1 AND 36);

ALTER TABLE checkouts RENAME COLUMN period_end TO period_end_at_least;

-- When the processor's proof of payment was saved: the paid period starts there.
ALTER TABLE checkouts ADD COLUMN charged_at TIMESTAMPTZ;
UPDATE checkouts SET charged_at = started_at WHERE gateway_reference IS NOT NULL;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_charged_together
    CHECK ((gateway_reference IS NULL) = (charged_at IS NULL));

-- Housekeeping looks for checkouts whose request is over.
CREATE INDEX checkouts_by_start ON checkouts (started_at);

-- One payment is recorded as at most one subscription, whatever the application does.
CREATE UNIQUE INDEX subscriptions_one_row_per_payment ON subscriptions (gateway, gateway_reference);
