//! Reader journeys in a real headless Chromium, driven over WebDriver (chromedriver).
//!
//! Each test starts Gazette in-process with its own database, its own chromedriver and its
//! own browser profile, and saves screenshots under `target/tmp/screenshots/<journey>/`.
//! Without Chromium the tests say so and skip, except in CI (`CI` or
//! `GAZETTE_REQUIRE_BROWSER` set), where a missing browser is a failure.

// A test may panic: that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod browser;

mod accounts;
mod csrf;
mod gift_subscriptions;
mod gifts;
mod growth;
mod journeys;
mod layout;
mod newsletter;
mod pictures;
mod publishing;
