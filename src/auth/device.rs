//! Device cookies, after OWASP's "slow down online guessing attacks with device cookies".
//!
//! A successful login (or sign-up) gives the browser a long-lived cookie, encrypted and
//! authenticated with the session key (actix-web's private cookie jar, which also binds the
//! value to the cookie's name), naming the account twice (the SHA-256 of its normalised
//! e-mail, and its id), the account's login generation, a random nonce and when it was
//! issued. A login attempt presenting a valid one for *that* account is limited per nonce
//! instead of per account and address (see `auth::attempts`), so guesses from elsewhere cannot
//! lock out a browser the owner has already used.
//!
//! What this module reads from the cookie is only a claim ([`DeviceClaim`]): it counts once
//! the database agrees that the account with that id still has that address and is still in
//! that login generation (`db::users::is_in_generation`). So a cookie stops counting when its
//! account moves to another address, never counts for whoever takes the address next, and
//! ends with every login of the account (logging out everywhere, a new password). Anything
//! else (another account's cookie, one that does not decrypt, one of an older format, one
//! issued too long ago or in the future) is worth exactly as much as no cookie.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::random_token;
use crate::domain::ids::UserId;
use crate::error::AppError;

/// How long a device cookie is honoured after it was issued (each login issues a new one).
pub const LIFETIME: Duration = Duration::days(180);
/// Instances' clocks may differ a little: an issue time this far ahead is still believed.
const CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Serialize, Deserialize)]
struct Claim {
    /// SHA-256 of the normalised e-mail, in hex.
    account: String,
    /// The account's id and its login generation when the cookie was issued. Cookies issued
    /// before these were written fail to read, and count for nothing.
    user_id: UserId,
    generation: i32,
    nonce: String,
    /// Unix seconds.
    issued: i64,
}

/// What a device cookie says about the browser, once it has decrypted, names the account being
/// logged in to and is young enough; it counts only if the account still matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceClaim {
    pub user_id: UserId,
    pub generation: i32,
    /// Counts the attempts made with this cookie.
    pub nonce: String,
}

/// The account a device cookie is issued for.
pub struct DeviceOwner<'a> {
    /// `auth::account_key` of the normalised e-mail.
    pub account: &'a str,
    pub user_id: UserId,
    pub generation: i32,
}

pub struct DeviceCookies {
    key: Key,
    name: &'static str,
    secure: bool,
}

impl DeviceCookies {
    pub fn new(key: Key, name: &'static str, secure: bool) -> Self {
        Self { key, name, secure }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The claim of a valid device cookie for `account` among the request's cookies; whether
    /// it still counts is the database's to say.
    pub fn claim(
        &self,
        req: &HttpRequest,
        account: &str,
        now: OffsetDateTime,
    ) -> Option<DeviceClaim> {
        let cookies = req.cookies().ok()?;
        cookies
            .iter()
            .filter(|cookie| cookie.name() == self.name)
            .find_map(|cookie| self.read(cookie.value(), account, now))
    }

    fn read(&self, value: &str, account: &str, now: OffsetDateTime) -> Option<DeviceClaim> {
        let jar = CookieJar::new();
        let opened = jar
            .private(&self.key)
            .decrypt(Cookie::new(self.name, value.to_string()))?;
        let claim: Claim = serde_json::from_str(opened.value()).ok()?;
        let issued = OffsetDateTime::from_unix_timestamp(claim.issued).ok()?;
        let current = issued <= now + CLOCK_SKEW && now - issued < LIFETIME;
        (current && claim.account == account && !claim.nonce.is_empty()).then_some(DeviceClaim {
            user_id: claim.user_id,
            generation: claim.generation,
            nonce: claim.nonce,
        })
    }

    /// A new device cookie for `owner`, with a nonce of its own.
    pub fn issue(
        &self,
        owner: &DeviceOwner<'_>,
        now: OffsetDateTime,
    ) -> Result<Cookie<'static>, AppError> {
        let claim = Claim {
            account: owner.account.to_string(),
            user_id: owner.user_id,
            generation: owner.generation,
            nonce: random_token()?,
            issued: now.unix_timestamp(),
        };
        let value = serde_json::to_string(&claim)
            .map_err(|e| AppError::internal("writing a device cookie", e))?;
        let cookie = Cookie::build(self.name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(LIFETIME)
            .finish();
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key).add(cookie);
        jar.get(self.name)
            .cloned()
            .ok_or_else(|| AppError::internal("writing a device cookie", "the jar lost it"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-28 10:00 UTC);

    fn cookies() -> DeviceCookies {
        DeviceCookies::new(Key::generate(), "gazette_device", false)
    }

    fn owner(account: &str) -> DeviceOwner<'_> {
        DeviceOwner {
            account,
            user_id: UserId::new(7),
            generation: 3,
        }
    }

    #[test]
    fn a_cookie_is_honoured_for_its_own_account_only() {
        let devices = cookies();
        let cookie = devices.issue(&owner("aaaa"), NOW).unwrap();
        let claim = devices.read(cookie.value(), "aaaa", NOW).expect("trusted");
        assert_eq!(claim.nonce.len(), 43);
        assert_eq!((claim.user_id, claim.generation), (UserId::new(7), 3));
        assert_eq!(devices.read(cookie.value(), "bbbb", NOW), None);
        assert!(cookie.http_only().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
    }

    #[test]
    fn each_cookie_has_its_own_nonce() {
        let devices = cookies();
        let first = devices.issue(&owner("aaaa"), NOW).unwrap();
        let second = devices.issue(&owner("aaaa"), NOW).unwrap();
        assert_ne!(
            devices.read(first.value(), "aaaa", NOW),
            devices.read(second.value(), "aaaa", NOW)
        );
    }

    #[test]
    fn an_old_or_future_cookie_is_not_honoured() {
        let devices = cookies();
        let cookie = devices.issue(&owner("aaaa"), NOW).unwrap();
        assert!(
            devices
                .read(
                    cookie.value(),
                    "aaaa",
                    NOW + LIFETIME - Duration::minutes(1)
                )
                .is_some()
        );
        assert_eq!(devices.read(cookie.value(), "aaaa", NOW + LIFETIME), None);
        assert_eq!(
            devices.read(cookie.value(), "aaaa", NOW - Duration::hours(1)),
            None
        );
    }

    /// `value` sealed with the right key under the device cookie's name, as `issue` seals.
    fn sealed(devices: &DeviceCookies, name: &'static str, value: String) -> String {
        let mut jar = CookieJar::new();
        jar.private_mut(&devices.key).add(Cookie::new(name, value));
        jar.get(name).unwrap().value().to_string()
    }

    #[test]
    fn forged_and_foreign_cookies_are_not_honoured() {
        let devices = cookies();
        let plain = format!(
            r#"{{"account":"aaaa","user_id":7,"generation":3,"nonce":"n","issued":{}}}"#,
            NOW.unix_timestamp()
        );
        assert!(
            devices
                .read(
                    &sealed(&devices, "gazette_device", plain.clone()),
                    "aaaa",
                    NOW
                )
                .is_some(),
            "the claim below is one the sealing would honour"
        );
        assert_eq!(devices.read(&plain, "aaaa", NOW), None);
        assert_eq!(devices.read("%%%garbage", "aaaa", NOW), None);
        assert_eq!(devices.read("", "aaaa", NOW), None);
        let other_key = cookies().issue(&owner("aaaa"), NOW).unwrap();
        assert_eq!(devices.read(other_key.value(), "aaaa", NOW), None);
        let renamed = sealed(&devices, "gazette_session", plain);
        assert_eq!(devices.read(&renamed, "aaaa", NOW), None);
    }

    #[test]
    fn a_cookie_of_the_format_without_account_id_and_generation_counts_for_nothing() {
        let devices = cookies();
        let old_format = sealed(
            &devices,
            "gazette_device",
            format!(
                r#"{{"account":"aaaa","nonce":"n","issued":{}}}"#,
                NOW.unix_timestamp()
            ),
        );
        assert_eq!(devices.read(&old_format, "aaaa", NOW), None);
    }
}
