DROP TABLE closed_account_payments;
DELETE FROM login_throttle WHERE scope IN ('reset_account', 'reset_address', 'password_check');
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup'));
DROP TABLE mail_outbox;
DROP TABLE account_tokens;
