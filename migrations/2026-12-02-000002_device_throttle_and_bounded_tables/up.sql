-- Login attempts from a browser holding a device cookie are counted per device; successful
-- logins are counted per address, since each one adds a login session.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup'));
