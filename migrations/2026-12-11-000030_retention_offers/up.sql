-- Retention offers: the discount made once to a subscriber who presses cancel.
--
-- A retention offer is a discount, never a trial. Offers marked so before this rule existed
-- were never made to anyone (the mark was unused), so the mark is taken off trials first.
UPDATE offers SET retention = FALSE WHERE retention AND trial_days IS NOT NULL;
ALTER TABLE offers ADD CONSTRAINT offers_retention_is_a_discount
    CHECK (NOT retention OR trial_days IS NULL);

-- When the subscriber was shown a retention offer for this subscription (once per
-- subscription: the next press of cancel cancels).
ALTER TABLE subscriptions ADD COLUMN retention_offered_at TIMESTAMPTZ;
-- A discount taken on a live subscription (a retention offer, named by `offer_code`) applies to
-- the periods charged from here (the end of the period paid when it was taken).
ALTER TABLE subscriptions ADD COLUMN discount_from TIMESTAMPTZ;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_discount_names_its_offer
    CHECK (discount_from IS NULL OR offer_code IS NOT NULL);

-- A checkout paying a period that such a discount covers: it carries the offer and the start
-- of its discount to the period it records. The redemption was taken when the offer was, and
-- is kept whatever becomes of this checkout.
ALTER TABLE checkouts ADD COLUMN discount_from TIMESTAMPTZ;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_discount_names_its_offer
    CHECK (discount_from IS NULL OR offer_code IS NOT NULL);
