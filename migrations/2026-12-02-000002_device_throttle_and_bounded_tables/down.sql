DROP INDEX user_sessions_by_user_and_use;
DROP INDEX meter_reads_by_month;
DROP INDEX user_sessions_by_revocation;
DROP INDEX user_sessions_by_expiry;
DROP INDEX login_throttle_by_window;

DELETE FROM login_throttle WHERE scope IN ('device', 'login');
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'signup'));
