-- Housekeeping deletes the addresses that never confirmed, oldest first, through this index.
CREATE INDEX newsletter_signups_unconfirmed ON newsletter_signups (created_at)
    WHERE confirmed_at IS NULL;

-- The newsletter's confirmation goes through the account-mail outbox, so it survives a mail
-- server's outage. Its row names the address and the member (the account in user_id, or the
-- sign-up row's id in detail); the signed link is made when the mail is sent.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation'));
