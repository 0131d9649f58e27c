//! Mail to readers: what a message is, the small interface that sends one ([`Mailer`]), its two
//! transports (SMTP in production, a folder in development) and the messages themselves, each
//! written once as a plain-text template from which the HTML part is made.
//!
//! Rules: nothing here knows the database or HTTP. Requests never send mail themselves (save
//! an editor's newsletter test letters, bounded in time: see `newsletter::sending`): they
//! write what to send into the outbox table, in the transaction of the change it tells of, and
//! wake the sender through [`MailWakeup`]; the background sender (`crate::outbox`) sends it. So a slow or broken
//! mail server neither holds a request nor loses what the request changed.

pub mod bulk;
pub mod messages;
pub mod newsletter;
mod transports;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Notify;

pub use transports::{FolderMailer, SmtpMailer};

/// One message, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// One normalised address.
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server refused the message for good (an unknown mailbox, a malformed address):
    /// sending it again would not help.
    #[error("refused for good: {0}")]
    Refused(String),
    /// It did not go this time (the server is down, busy or slow): try again later.
    #[error("not sent this time: {0}")]
    Failed(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Sends a message. Implementations time out on their own; none keeps the message.
pub trait Mailer: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a>;
    /// Where mail goes, for the start-up log (no secrets).
    fn describe(&self) -> String;
}

/// Wakes the sender at once when a request has put mail in the outbox, so a reset link
/// arrives within seconds rather than at the sender's next look. A wake-up while the sender is
/// busy is kept for when it next waits.
#[derive(Clone, Default)]
pub struct MailWakeup(Arc<Notify>);

impl MailWakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}
