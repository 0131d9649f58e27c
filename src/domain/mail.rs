//! The mail Gazette sends to its readers, and when it stops trying: each kind of mail is worth
//! sending for a while (a reset link asked for an hour ago is no use), and a failed attempt is
//! tried again after a delay that grows with each failure.

use time::Duration;

/// Why a reader gets a mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// A link to choose a new password, to whoever asked for it at this address (if it has an
    /// account; otherwise nothing is sent).
    PasswordReset,
    /// A link to confirm a new address, sent to that address.
    EmailChange,
    /// A notice that the account's password was changed or reset.
    PasswordChanged,
    /// A notice, to the old address, that the account moved to a new one.
    EmailChanged,
    /// A notice that the account was deleted.
    AccountDeleted,
    /// A link confirming an address for the newsletter, to that address (an account's, or one
    /// without an account: the row then names the sign-up in its detail). What it carries is
    /// decided when it is sent: nothing for an address already on the list.
    NewsletterConfirmation,
    /// An invitation to subscribe, a few days before a reader's comp or gift ends; the row's
    /// detail is the last day it covers, written out.
    AccessEnding,
    /// A notice that the reader's free trial ends soon, saying what happens then (the row's
    /// detail).
    TrialEnding,
    /// A gift subscription, to its recipient: who it is from, the buyer's message and the
    /// link that redeems it (made when it is sent). The row's detail is the gift's id.
    GiftReceived,
}

impl MailKind {
    pub const ALL: [Self; 9] = [
        Self::PasswordReset,
        Self::EmailChange,
        Self::PasswordChanged,
        Self::EmailChanged,
        Self::AccountDeleted,
        Self::NewsletterConfirmation,
        Self::AccessEnding,
        Self::TrialEnding,
        Self::GiftReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
            Self::AccountDeleted => "account_deleted",
            Self::NewsletterConfirmation => "newsletter_confirmation",
            Self::AccessEnding => "access_ending",
            Self::TrialEnding => "trial_ending",
            Self::GiftReceived => "gift_received",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }

    /// How long after it was asked for the mail is still worth sending.
    pub fn worth_sending_for(self) -> Duration {
        match self {
            Self::PasswordReset => Duration::minutes(30),
            Self::EmailChange | Self::NewsletterConfirmation => Duration::hours(24),
            Self::PasswordChanged
            | Self::EmailChanged
            | Self::AccountDeleted
            | Self::TrialEnding => Duration::days(3),
            Self::AccessEnding => Duration::days(5),
            // Paid for: worth trying through a long outage of the mail server.
            Self::GiftReceived => Duration::days(14),
        }
    }
}

/// How long to wait before trying again after `failures` failed attempts: soon at first (a
/// reader is waiting for a reset link), then less and less often.
pub fn retry_delay(failures: i32) -> Duration {
    match failures {
        ..=1 => Duration::seconds(2),
        2 => Duration::seconds(10),
        3 => Duration::minutes(1),
        4 => Duration::minutes(5),
        5 => Duration::minutes(15),
        _ => Duration::minutes(30),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_as_itself() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailKind::parse("newsletter"), None);
    }

    #[test]
    fn retries_come_quickly_then_slow_down() {
        assert_eq!(retry_delay(1), Duration::seconds(2));
        assert!(retry_delay(3) > retry_delay(2));
        assert_eq!(retry_delay(40), Duration::minutes(30));
    }

    #[test]
    fn a_reset_mail_is_not_worth_sending_once_its_link_would_have_expired() {
        assert_eq!(
            MailKind::PasswordReset.worth_sending_for(),
            crate::domain::account::LinkPurpose::PasswordReset.lifetime()
        );
    }
}
