//! Row ids. Rule: every row id the code passes around has its own type, so two cannot be
//! swapped: a function that takes a reader and one of their sessions takes a [`UserId`] and a
//! [`SessionId`], and the compiler refuses them the other way round.
//!
//! An id is made from a bare number once, where the number comes from outside (an address, a
//! cookie, a notification: [`str::parse`], or `new`); the database reads and writes the types
//! themselves (see `models`). `get` gives the number back only where a number is what is
//! wanted: a log field, or the arithmetic of a range of ids. Each id is written as its bare
//! number (`Display`, and serde's `transparent`), so pages, JSON and cookies that carry one
//! read exactly as they did when ids were plain integers.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares one id type per row kind, each wrapping the row's `BIGINT` key.
macro_rules! row_ids {
    ($($(#[$doc:meta])* $name:ident,)+) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id whose number is `id`.
            pub const fn new(id: i64) -> Self {
                Self(id)
            }

            /// The id's number.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// The id written as a decimal number (as `i64` parses it).
        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }
    )+};
}

row_ids! {
    /// An account (`users`): a reader, and as `articles.author_id` the editor who wrote an
    /// article.
    UserId,
    /// An article (`articles`), also as a meter counts it (`meter_reads.article_id`).
    ArticleId,
    /// A subscription row (`subscriptions`).
    SubscriptionId,
    /// A login session, one per logged-in browser (`user_sessions`).
    SessionId,
    /// A change of subscription being paid for through the gateway that charges at once
    /// (`checkouts`).
    CheckoutId,
    /// A checkout on a processor's hosted page (`hosted_checkouts`).
    HostedCheckoutId,
    /// A link sent by mail (`account_tokens`).
    TokenId,
    /// A mail waiting in the outbox (`mail_outbox`).
    MailId,
    /// An address on the newsletter list without an account (`newsletter_signups`).
    SignupId,
    /// One article's newsletter send (`newsletter_sends`).
    SendId,
    /// One recipient of a newsletter send (`newsletter_deliveries`).
    DeliveryId,
    /// A picture in the media library (`media`).
    MediaId,
    /// An article a subscriber gifted (`article_gifts`).
    ArticleGiftId,
    /// Access without a renewing subscription: a comp or a redeemed gift (`access_grants`).
    GrantId,
    GiftId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_written_and_read_as_its_bare_number() {
        let id = UserId::new(42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<UserId>("42").unwrap(), id);
        assert_eq!("42".parse::<UserId>(), Ok(id));
        assert!("x".parse::<UserId>().is_err());
        assert_eq!(id.get(), 42);
    }

    #[test]
    fn ids_of_a_kind_order_by_their_number() {
        assert!(ArticleId::new(2) < ArticleId::new(10));
    }
}
