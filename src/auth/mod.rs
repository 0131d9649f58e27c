//! Who the reader is: password hashing, the typed session, CSRF protection (of forms and
//! uploads), the extractor that turns a cookie into a reader (checking the server-side
//! session record), and what slows down password guessing (attempt counters and device
//! cookies).

pub mod attempts;
pub mod client;
pub mod csrf;
pub mod current_reader;
pub mod device;
pub mod login;
pub mod password;
pub mod session;
pub mod upload;

use sha2::{Digest, Sha256};

use crate::error::AppError;

/// 256 random bits from the operating system, URL-safe base64.
pub fn random_token() -> Result<String, AppError> {
    crate::random::token(32).map_err(|e| AppError::internal("reading the system's randomness", e))
}

/// What the database keeps of a session token: its SHA-256, so a leaked table cannot be
/// replayed as cookies.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What names an account in throttle counters and device cookies: the SHA-256 (hex) of its
/// normalised e-mail, so neither holds the address itself.
pub fn account_key(normalised_email: &str) -> String {
    Sha256::digest(normalised_email.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(token_hash(&a).len(), 32);
    }
}
