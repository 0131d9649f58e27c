ALTER TABLE gateway_customers DROP COLUMN email;
DELETE FROM login_throttle WHERE scope = 'processor_call';
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup',
                     'reset_account', 'reset_address', 'password_check'));
