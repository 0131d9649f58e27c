//! What an account may do. Everyone is a reader; an editor also writes and publishes; an admin
//! also grants and removes the editor role. Admins are made only by the operator (the command
//! line), so nobody in a browser can make an admin or lock the last one out.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Editor,
    Admin,
}

impl Role {
    /// The stored and typed name; anything else is not a role.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reader" => Some(Self::Reader),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "reader",
            Self::Editor => "editor",
            Self::Admin => "admin",
        }
    }

    /// Writes, previews, schedules and publishes articles.
    pub fn edits(self) -> bool {
        self >= Self::Editor
    }

    /// Reads every article in full without a subscription or a meter: the newsroom checks its
    /// own publication and never meets its paywall.
    pub fn reads_everything(self) -> bool {
        self.edits()
    }

    /// Grants and removes the editor role.
    pub fn administers(self) -> bool {
        self == Self::Admin
    }

    /// Whether an admin in the browser may move an account from `from` to `to`: only between
    /// reader and editor (admins are the operator's to make and unmake).
    pub fn may_be_changed_in_browser(from: Self, to: Self) -> bool {
        from != Self::Admin && to != Self::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_as_written() {
        for role in [Role::Reader, Role::Editor, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Editor"), None);
        assert_eq!(Role::parse(""), None);
    }

    #[test]
    fn editors_and_admins_edit_only_admins_administer() {
        assert!(!Role::Reader.edits());
        assert!(Role::Editor.edits() && Role::Admin.edits());
        assert!(Role::Admin.administers());
        assert!(!Role::Editor.administers());
    }

    #[test]
    fn the_browser_never_makes_or_unmakes_an_admin() {
        assert!(Role::may_be_changed_in_browser(Role::Reader, Role::Editor));
        assert!(Role::may_be_changed_in_browser(Role::Editor, Role::Reader));
        assert!(!Role::may_be_changed_in_browser(Role::Reader, Role::Admin));
        assert!(!Role::may_be_changed_in_browser(Role::Admin, Role::Reader));
    }
}
