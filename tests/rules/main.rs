//! The pure rules and what is rendered, tested without a database or a server: properties that
//! must hold for every input (proptest), and snapshots of every mail and the error page
//! (insta), which catch a broken layout where a `contains` would not.

// A test may panic: that is how it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod properties;
mod snapshots;
