//! The rules of the publication as plain functions and types: no HTTP, no database.
//! Values here are valid by construction (`Email::parse`, `NewPassword::parse`), so raw
//! strings from forms stop at the handler.

pub mod access;
pub mod account;
pub mod article;
pub mod article_gift;
pub mod diff;
pub mod email;
pub mod gift_subscription;
pub mod grant;
pub mod ids;
pub mod mail;
pub mod media;
pub mod meter;
pub mod money;
pub mod newsletter;
pub mod offer;
pub mod password;
pub mod redirect;
pub mod retention;
pub mod role;
pub mod signed_link;
pub mod subscription;
pub mod throttle;
