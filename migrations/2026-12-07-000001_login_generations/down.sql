DROP INDEX mail_outbox_resets_by_recipient;
ALTER TABLE users DROP COLUMN login_generation;
