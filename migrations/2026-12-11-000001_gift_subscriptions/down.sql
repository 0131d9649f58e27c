DELETE FROM mail_outbox WHERE kind = 'gift_received';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation', 'access_ending', 'trial_ending'));
DROP TABLE gift_subscriptions;
