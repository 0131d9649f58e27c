//! The newsletter: who is on the list and how they join and leave ([`members`]), and sending
//! an article to them ([`sending`]: starting a send; [`sender`]: the background task that
//! sends; [`letters`]: the article as the two letters).
//!
//! Rules: nobody is mailed a newsletter before confirming their address; every link that acts
//! without a login carries a token of `domain::newsletter`; every write is a function of
//! `db::newsletter_*`, under the reader's lock where an account is concerned. Newsletter mail
//! has its own queue (`newsletter_deliveries`), apart from the account-mail outbox, so a large
//! send never delays a password reset.

pub mod letters;
pub mod members;
pub mod sender;
pub mod sending;
