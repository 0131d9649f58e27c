//! Telling every instance what changed, so in-memory caches follow the database.
//!
//! Rules: the database announces every change to a cached table itself (triggers, see the
//! `change_notifications` migration): PostgreSQL delivers the notification on [`CHANNEL`] to
//! every listening instance when the writing transaction commits, never when it rolls back,
//! whoever wrote (this application, another instance, an operator with psql). On top of that,
//! each write function of the application calls [`note`], and `db::run` hands what was noted
//! to this instance's own caches as soon as the closure returns, so a reader sees their own
//! write on the very next page without waiting for the notification to come round.

use std::cell::RefCell;

use crate::domain::ids::{ArticleId, MediaId, UserId};

/// The notification channel every instance listens on.
pub const CHANNEL: &str = "gazette_changes";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// Something about one reader: a login session, the e-mail, the subscription, the meter.
    Reader(UserId),
    /// One article: its text, its time or whether it is published; the lists that show it.
    Article(ArticleId),
    /// One picture of the media library, deleted or changed: its variants kept in memory.
    Media(MediaId),
    /// Everything: the receiver drops all it keeps.
    Everything,
}

impl Change {
    /// What travels in the notification: `reader:12`, `article:7`, `media:3`, `everything`.
    pub fn payload(self) -> String {
        match self {
            Self::Reader(id) => format!("reader:{id}"),
            Self::Article(id) => format!("article:{id}"),
            Self::Media(id) => format!("media:{id}"),
            Self::Everything => "everything".to_string(),
        }
    }

    /// The change a payload names; anything unreadable is taken as [`Change::Everything`], so
    /// a notification is never lost to a parse error.
    pub fn parse(payload: &str) -> Self {
        match payload.split_once(':') {
            Some(("reader", rest)) => rest.parse().map_or(Self::Everything, Self::Reader),
            Some(("article", rest)) => rest.parse().map_or(Self::Everything, Self::Article),
            Some(("media", rest)) => rest.parse().map_or(Self::Everything, Self::Media),
            _ => Self::Everything,
        }
    }
}

thread_local! {
    /// Changes noted by the closure `db::run` is running on this thread.
    static NOTED: RefCell<Vec<Change>> = const { RefCell::new(Vec::new()) };
}

/// Notes a change for this instance's caches (the database tells the others).
pub fn note(change: Change) {
    NOTED.with(|noted| noted.borrow_mut().push(change));
}

/// Takes the changes noted on this thread since the last call.
pub(super) fn take_noted() -> Vec<Change> {
    NOTED.with(|noted| std::mem::take(&mut *noted.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_back_as_the_change_they_name() {
        for change in [
            Change::Reader(UserId::new(12)),
            Change::Article(ArticleId::new(7)),
            Change::Media(MediaId::new(3)),
            Change::Everything,
        ] {
            assert_eq!(Change::parse(&change.payload()), change);
        }
        for garbage in ["", "reader:", "reader:x", "article:-", "nonsense", "reader"] {
            assert_eq!(Change::parse(garbage), Change::Everything, "{garbage:?}");
        }
    }
}
