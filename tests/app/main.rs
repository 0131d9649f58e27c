//! Gazette over real HTTP against a real PostgreSQL: each test starts its own app on a free
//! port with its own database.

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod accounts_login;
mod accounts_logout;
mod accounts_signup;
mod articles;
mod cookies_and_headers;
mod csrf;
mod hostile_input;
mod housekeeping;
mod logs;
mod meter;
mod resilience;
mod running;
mod schema;
mod shutdown;
mod slow_clients;
mod startup;
mod subscriptions;
