//! Rules of an account its reader manages alone: the links sent by mail (what they are for
//! and how long they work) and what deleting an account takes.

use time::Duration;

/// What a link sent by mail does when it is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Lets its holder choose a new password.
    PasswordReset,
    /// Makes the address it was sent to the account's e-mail.
    EmailChange,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
        }
    }

    /// How long a link works after it was sent. A reset link opens the account to whoever
    /// holds it, so it is short-lived; a confirmation only moves the account to an address the
    /// reader already proved to know the password for, so it may wait for a day.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::PasswordReset => Duration::minutes(30),
            Self::EmailChange => Duration::hours(24),
        }
    }
}

/// What a reader types to say they mean to delete their account.
pub const DELETION_PHRASE: &str = "delete my account";

/// Whether `typed` is the deletion phrase (spaces around it and letter case do not matter:
/// the phrase is there to stop a slip, not to test typing).
pub fn confirms_deletion(typed: &str) -> bool {
    typed.trim().to_lowercase() == DELETION_PHRASE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_link_lives_thirty_minutes_and_a_confirmation_a_day() {
        assert_eq!(LinkPurpose::PasswordReset.lifetime(), Duration::minutes(30));
        assert_eq!(LinkPurpose::EmailChange.lifetime(), Duration::hours(24));
    }

    #[test]
    fn deleting_takes_the_phrase_and_nothing_else() {
        assert!(confirms_deletion("delete my account"));
        assert!(confirms_deletion("  Delete My Account "));
        for typed in [
            "",
            "delete",
            "yes",
            "delete my account!",
            "delete  my account",
        ] {
            assert!(!confirms_deletion(typed), "{typed}");
        }
    }
}
