ALTER TABLE gift_subscriptions DROP COLUMN checkout_reference;
