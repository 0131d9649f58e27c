-- A gift paid on the processor's own page (Stripe Checkout in payment mode): the checkout
-- opened for it, so the processor's events and the buyer's return find the gift. Once it is
-- paid, the same reference is its proof of payment (`gateway_reference`).
ALTER TABLE gift_subscriptions ADD COLUMN checkout_reference TEXT UNIQUE;
