-- Login attempts from a browser holding a device cookie are counted per device; successful
-- logins are counted per address, since each one adds a login session.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup'));

-- Every periodic deletion finds its rows through an index, so it stays cheap however large
-- the table and never scans it whole.
CREATE INDEX login_throttle_by_window ON login_throttle (window_started_at);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);
CREATE INDEX user_sessions_by_revocation ON user_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX meter_reads_by_month ON meter_reads (month);

-- A reader's sessions by last use: which to end when there are too many, which ended ones to
-- keep, and the device list. Also serves deleting a reader (the foreign key).
CREATE INDEX user_sessions_by_user_and_use ON user_sessions (user_id, last_seen_at DESC);
