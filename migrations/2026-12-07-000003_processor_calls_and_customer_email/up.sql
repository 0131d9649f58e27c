-- The requests to the payment processor that one reader's own requests cause are counted per
-- window, like login attempts, so nobody can use up the site's share of its rate limit.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup',
                     'reset_account', 'reset_address', 'password_check', 'processor_call'));

