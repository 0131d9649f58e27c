-- Taking an account back ends everything someone else started with its password. Each time
-- every login of an account ends (logging out everywhere, a new password) its generation
-- goes up: device cookies carry the generation they were issued in and count for nothing
-- once it has moved on, and a form that checked the password commits only if the generation
-- is still the one it checked the password in.
ALTER TABLE users ADD COLUMN login_generation INTEGER NOT NULL DEFAULT 0
    CHECK (login_generation >= 0);

-- Ending every login also drops the mail still waiting to carry a link for the account: an
-- address change by its account, a reset by the address it goes to.
CREATE INDEX mail_outbox_resets_by_recipient ON mail_outbox (recipient)
    WHERE kind = 'password_reset';
