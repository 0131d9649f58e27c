//! Tokens that say whom a link is for, signed with a key of the site's, so a link can act
//! without a login (the newsletter's one-click unsubscribe, its confirmation, a gifted
//! article's link) and a changed or made-up token acts on nobody.
//!
//! Rules: a token is `base64url(payload).base64url(HMAC-SHA256(payload))`. Each purpose signs
//! with a key of its own derived from the site's secret, so a token made for one purpose is
//! refused for every other. Payloads are short plain strings the caller parses; a token longer
//! than [`MAX_TOKEN_LEN`] is refused before anything is decoded.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest token read; real ones are far shorter.
pub const MAX_TOKEN_LEN: usize = 512;

/// Signs and checks the tokens of one purpose.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl LinkSigner {
    /// A signer for `purpose` (e.g. `"newsletter-unsubscribe"`) under the site's `secret`.
    pub fn new(secret: &[u8], purpose: &str) -> Self {
        Self {
            key: mac(secret, format!("gazette signed link: {purpose}").as_bytes()),
        }
    }

    /// The token for `payload`: URL-safe, no padding.
    pub fn sign(&self, payload: &str) -> String {
        let tag = mac(&self.key, payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of a token this signer made, or `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<String> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut checker = HmacSha256::new_from_slice(&self.key).ok()?;
        checker.update(&payload);
        // Constant time, so the tag cannot be guessed byte by byte.
        checker.verify_slice(&tag).ok()?;
        String::from_utf8(payload).ok()
    }
}

fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail; an empty tag would only ever make
    // every token fail to verify.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a site secret of some length, for the tests only";

    #[test]
    fn a_token_gives_back_its_payload() {
        let signer = LinkSigner::new(SECRET, "newsletter-unsubscribe");
        let token = signer.sign("account:42");
        assert_eq!(signer.verify(&token).as_deref(), Some("account:42"));
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn changed_made_up_and_foreign_tokens_are_refused() {
        let signer = LinkSigner::new(SECRET, "newsletter-unsubscribe");
        let token = signer.sign("account:42");
        let (payload, tag) = token.split_once('.').unwrap();
        let other_payload = URL_SAFE_NO_PAD.encode("account:43");
        assert_eq!(signer.verify(&format!("{other_payload}.{tag}")), None);
        let mut flipped = tag.to_string().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(signer.verify(&format!("{payload}.{flipped}")), None);
        assert_eq!(signer.verify(""), None);
        assert_eq!(signer.verify("."), None);
        assert_eq!(signer.verify(payload), None);
        assert_eq!(signer.verify(&"A".repeat(MAX_TOKEN_LEN + 1)), None);

        let confirming = LinkSigner::new(SECRET, "newsletter-confirm");
        assert_eq!(confirming.verify(&token), None);
        let other_site = LinkSigner::new(
            b"another site's secret, just as long",
            "newsletter-unsubscribe",
        );
        assert_eq!(other_site.verify(&token), None);
    }
}
