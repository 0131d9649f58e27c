//! Random tokens from the operating system, for whatever must not be guessed: session and CSRF
//! tokens, device cookie nonces, payment keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` random bytes, URL-safe base64 without padding (256 bits make 43 characters).
pub fn token(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}
