ALTER TABLE checkouts DROP CONSTRAINT checkouts_discount_names_its_offer;
ALTER TABLE checkouts DROP COLUMN discount_from;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_discount_names_its_offer;
ALTER TABLE subscriptions DROP COLUMN discount_from, DROP COLUMN retention_offered_at;
ALTER TABLE offers DROP CONSTRAINT offers_retention_is_a_discount;
