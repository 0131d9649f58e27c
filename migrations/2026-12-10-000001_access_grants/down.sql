DELETE FROM mail_outbox WHERE kind = 'access_ending';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation'));
DROP TRIGGER access_grants_changed ON access_grants;
DROP TABLE access_grants;
