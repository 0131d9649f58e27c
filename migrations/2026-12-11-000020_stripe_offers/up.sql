-- Offers through a processor that runs the subscription (Stripe): the hosted checkout opened
-- for an offer names it (its redemption is held while the checkout is open, and given back if
-- it expires unpaid), and a subscription whose discount the processor applies notes until
-- when it lasts (the processor's word; none for a discount that lasts for ever).
ALTER TABLE hosted_checkouts ADD COLUMN offer_code TEXT REFERENCES offers (code);
ALTER TABLE subscriptions ADD COLUMN discount_ends_at TIMESTAMPTZ;
