-- Housekeeping deletes the addresses that never confirmed, oldest first, through this index.
CREATE INDEX newsletter_signups_unconfirmed ON newsletter_signups (created_at)
    WHERE confirmed_at IS NULL;
