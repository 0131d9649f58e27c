DELETE FROM mail_outbox WHERE kind = 'trial_ending';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation', 'access_ending'));
DROP INDEX subscriptions_trials;
ALTER TABLE subscriptions DROP COLUMN trial_notice_at, DROP COLUMN trial_without_card,
    DROP COLUMN trial_ends_at, DROP COLUMN offer_code;
ALTER TABLE checkouts DROP COLUMN offer_code;
DROP TABLE offer_redemptions;
DROP TABLE offers;
