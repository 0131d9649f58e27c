//! Who is on the newsletter's list, and the signed links that act for them without a login.
//!
//! Rules:
//! - A list member is an account or an address without one ([`Member`]); a link names the
//!   member by row id, never by address, so a link cannot be made for someone else's address.
//! - Unsubscribe and preferences links never expire: a mail read a year later must still let
//!   the reader leave. They are signed for their own purpose ([`UNSUBSCRIBE`]), so a
//!   confirmation token is no unsubscribe token and the other way round.
//! - A confirmation link names the address it confirms and when it was made, and is honoured
//!   for [`CONFIRMATION_LIFETIME`]: after an address change the old link confirms nothing.

use time::{Duration, OffsetDateTime};

use super::ids::{SignupId, UserId};
use super::signed_link::LinkSigner;

/// How long a confirmation link works.
pub const CONFIRMATION_LIFETIME: Duration = Duration::days(7);

/// The purpose the unsubscribe and preferences tokens are signed for.
pub const UNSUBSCRIBE: &str = "newsletter-unsubscribe";
/// The purpose the confirmation tokens are signed for.
pub const CONFIRM: &str = "newsletter-confirm";

/// Someone on (or asking to join) the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    /// An account (`users`).
    Account(UserId),
    /// An address alone (`newsletter_signups`).
    Signup(SignupId),
}

impl Member {
    /// `u:<id>` or `s:<id>`: what a token carries.
    fn payload(self) -> String {
        match self {
            Member::Account(id) => format!("u:{id}"),
            Member::Signup(id) => format!("s:{id}"),
        }
    }

    fn from_payload(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        match kind {
            "u" => id.parse().ok().map(Member::Account),
            "s" => id.parse().ok().map(Member::Signup),
            _ => None,
        }
    }
}

/// A confirmation link's content, once its signature and age are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub member: Member,
    /// The normalised address the link was sent to; it confirms that address only.
    pub email: String,
}

/// Makes and reads the newsletter's links.
#[derive(Clone)]
pub struct NewsletterLinks {
    unsubscribe: LinkSigner,
    confirm: LinkSigner,
}

impl NewsletterLinks {
    /// Links signed under the site's `secret` (the session key).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            unsubscribe: LinkSigner::new(secret, UNSUBSCRIBE),
            confirm: LinkSigner::new(secret, CONFIRM),
        }
    }

    /// The token of `member`'s unsubscribe and preferences links.
    pub fn unsubscribe_token(&self, member: Member) -> String {
        self.unsubscribe.sign(&member.payload())
    }

    /// Whom an unsubscribe token names; `None` for a changed or made-up one.
    pub fn member_of(&self, token: &str) -> Option<Member> {
        Member::from_payload(&self.unsubscribe.verify(token)?)
    }

    /// The token of a link confirming `email` for `member`, made at `now`.
    pub fn confirmation_token(&self, member: Member, email: &str, now: OffsetDateTime) -> String {
        self.confirm.sign(&format!(
            "{}|{}|{}",
            member.payload(),
            now.unix_timestamp(),
            email
        ))
    }

    /// What a confirmation token confirms, if it is genuine and younger than
    /// [`CONFIRMATION_LIFETIME`] at `now`.
    pub fn confirmation(&self, token: &str, now: OffsetDateTime) -> Option<Confirmation> {
        let payload = self.confirm.verify(token)?;
        let mut parts = payload.splitn(3, '|');
        let member = Member::from_payload(parts.next()?)?;
        let made: i64 = parts.next()?.parse().ok()?;
        let email = parts.next()?.to_string();
        let made = OffsetDateTime::from_unix_timestamp(made).ok()?;
        if made > now + Duration::minutes(5) || now - made > CONFIRMATION_LIFETIME {
            return None;
        }
        Some(Confirmation { member, email })
    }
}

/// The address of the one-click unsubscribe (RFC 8058) for a token: a POST of
/// `List-Unsubscribe=One-Click` there unsubscribes; a GET shows a button.
pub fn unsubscribe_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/newsletter/unsubscribe?token={token}",
        public_url.trim_end_matches('/')
    )
}

/// The address of the preferences page a token opens without a login.
pub fn preferences_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/newsletter/preferences?token={token}",
        public_url.trim_end_matches('/')
    )
}

/// The address of the page whose button confirms an address.
pub fn confirmation_url(public_url: &str, token: &str) -> String {
    format!(
        "{}/newsletter/confirm?token={token}",
        public_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn links() -> NewsletterLinks {
        NewsletterLinks::new(b"a secret of the site, long enough for tests")
    }

    #[test]
    fn an_unsubscribe_token_names_its_member_and_nothing_else() {
        let links = links();
        for member in [
            Member::Account(UserId::new(7)),
            Member::Signup(SignupId::new(7)),
        ] {
            assert_eq!(
                links.member_of(&links.unsubscribe_token(member)),
                Some(member)
            );
        }
    }

    #[test]
    fn changed_made_up_and_foreign_tokens_name_nobody() {
        let links = links();
        let token = links.unsubscribe_token(Member::Account(UserId::new(7)));
        let other_site = NewsletterLinks::new(b"another site's secret entirely, long too");
        let mut changed = token.clone().into_bytes();
        changed[0] ^= 1;
        let forged = format!(
            "{}.{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, "u:8"),
            token
                .split_once('.')
                .map(|(_, tag)| tag)
                .unwrap_or_default()
        );
        for bad in [
            String::from_utf8(changed).unwrap_or_default(),
            forged,
            other_site.unsubscribe_token(Member::Account(UserId::new(7))),
            links.confirmation_token(Member::Account(UserId::new(7)), "a@example.com", NOW),
            "u:7".to_string(),
            String::new(),
        ] {
            assert_eq!(links.member_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_confirmation_names_the_address_and_lasts_a_week() {
        let links = links();
        let member = Member::Signup(SignupId::new(3));
        let token = links.confirmation_token(member, "reader@example.com", NOW);
        let expected = Some(Confirmation {
            member,
            email: "reader@example.com".to_string(),
        });
        assert_eq!(
            links.confirmation(&token, NOW + Duration::days(6)),
            expected
        );
        assert_eq!(links.confirmation(&token, NOW + Duration::days(8)), None);
        assert_eq!(links.confirmation(&token, NOW - Duration::hours(1)), None);
        assert_eq!(
            links.confirmation(&links.unsubscribe_token(member), NOW),
            None
        );
    }

    #[test]
    fn the_links_lead_to_the_sites_own_pages() {
        assert_eq!(
            unsubscribe_url("https://news.example/", "t.k"),
            "https://news.example/newsletter/unsubscribe?token=t.k"
        );
        assert_eq!(
            preferences_url("https://news.example", "t.k"),
            "https://news.example/newsletter/preferences?token=t.k"
        );
        assert_eq!(
            confirmation_url("https://news.example", "t.k"),
            "https://news.example/newsletter/confirm?token=t.k"
        );
    }
}
