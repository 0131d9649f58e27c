//! Moving a publication in and out of Gazette. Out: every account as Ghost's members CSV
//! (`members`), so a publisher can leave as easily as they came.
//!
//! Rules: accounts are read a page at a time (`db::members::page`), so the command line writes
//! any number of them in bounded memory; what a row says is decided at one instant (`now`),
//! for every page alike.

pub mod members;
