ALTER TABLE subscriptions DROP COLUMN checked_at;
