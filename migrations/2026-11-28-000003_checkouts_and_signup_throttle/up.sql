-- A checkout is a payment in progress. At most one per reader, so two tabs or a double submit
-- cannot both be charged; its id keys the charge at the payment processor, so a retry after
-- a decline is a new charge while a repeated request for the same attempt is not.
CREATE TABLE checkouts (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT      NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    plan_code   TEXT        NOT NULL REFERENCES plans (code),
    started_at  TIMESTAMPTZ NOT NULL
);

-- Sign-up attempts are limited per address, like failed logins.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'address', 'signup'));
