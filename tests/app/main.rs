//! Gazette over real HTTP against a real PostgreSQL: each test starts its own app on a free
//! port with its own database.

// A test may panic: that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod accounts;
mod billing;
mod fitness;
mod newsletter;
mod operations;
mod publishing;
mod reading;
