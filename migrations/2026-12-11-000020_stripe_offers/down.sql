ALTER TABLE subscriptions DROP COLUMN discount_ends_at;
ALTER TABLE hosted_checkouts DROP COLUMN offer_code;
