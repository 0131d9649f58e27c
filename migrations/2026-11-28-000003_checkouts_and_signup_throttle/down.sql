DELETE FROM login_throttle WHERE scope IN ('account_address', 'signup');
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'address'));
DROP TABLE checkouts;
ALTER TABLE subscriptions DROP COLUMN period_value_cents;
