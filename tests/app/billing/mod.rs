//! Billing: subscribing and cancelling with a gateway that charges at once, races between a reader's requests, and Stripe.

mod comps;
mod offers;
mod payments;
mod races;
pub mod stripe;
mod subscriptions;
