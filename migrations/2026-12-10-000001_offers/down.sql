DROP INDEX subscriptions_trials;
ALTER TABLE subscriptions DROP COLUMN trial_notice_at, DROP COLUMN trial_without_card,
    DROP COLUMN trial_ends_at, DROP COLUMN offer_code;
ALTER TABLE checkouts DROP COLUMN offer_code;
DROP TABLE offer_redemptions;
DROP TABLE offers;
