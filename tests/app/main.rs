//! Gazette over real HTTP against a real PostgreSQL: each test starts its own app on a free
//! port with its own database.

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod accounts_login;
mod accounts_logout;
mod accounts_signup;
mod architecture;
mod articles;
mod billing_races;
mod bounded_tables;
mod cookies_and_headers;
mod csrf;
mod form_input;
mod hostile_input;
mod housekeeping;
mod login_throttling;
mod logs;
mod meter;
mod payments;
mod resilience;
mod running;
mod schema;
mod shutdown;
mod slow_clients;
mod soak;
mod startup;
mod stripe;
mod subscriptions;
