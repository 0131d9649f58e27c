//! Gazette: a paid online publication with a metered paywall.
//!
//! Everything lives in this library so that tests can start the real application in-process;
//! `main.rs` only reads the environment and runs it.

pub mod accounts;
pub mod allocator;
pub mod auth;
pub mod billing;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod desk;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod imaging;
pub mod lifecycle;
pub mod mail;
pub mod markdown;
pub mod media;
pub mod models;
pub mod moving;
pub mod newsletter;
pub mod outbox;
pub mod payments;
pub mod paywall;
pub mod random;
pub mod routes;
pub mod schema;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod views;
