//! Gazette over real HTTP against a real PostgreSQL: each test starts its own app on a free
//! port with its own database.

// A test may panic: that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod accounts_changes;
mod accounts_deletion;
mod accounts_login;
mod accounts_logout;
mod accounts_mail;
mod accounts_recovery;
mod accounts_signup;
mod accounts_takeover;
mod architecture;
mod archive;
mod articles;
mod billing_races;
mod bounded_tables;
mod cli;
mod cookies_and_headers;
mod csrf;
mod docs;
mod editing_together;
mod feeds;
mod form_input;
mod hostile_input;
mod housekeeping;
mod instances;
mod leaks;
mod login_throttling;
mod logs;
mod meter;
mod payments;
mod publishing;
mod resilience;
mod running;
mod schema;
mod shutdown;
mod slow_clients;
mod soak;
mod startup;
mod stripe;
mod subscriptions;
