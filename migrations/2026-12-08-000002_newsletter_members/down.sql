DELETE FROM mail_outbox WHERE kind = 'newsletter_confirmation';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted'));
DROP INDEX newsletter_signups_unconfirmed;
