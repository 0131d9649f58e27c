//! What makes an acceptable new password: 8 to 128 characters of anything (spaces and any
//! script included, never truncated, no composition rules), and not easy to guess, as judged
//! by zxcvbn's strength estimate.

use std::fmt;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// A password as typed. Its `Debug` never shows the text, so it cannot leak into logs.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(raw: String) -> Self {
        Self(raw)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// What is wrong with the password's length, if anything: the cheap part of the policy, which
/// a form can report together with its other fields.
pub fn length_problem(password: &Password) -> Option<String> {
    match password.char_count() {
        n if n < MIN_CHARS => Some(format!(
            "Use at least {MIN_CHARS} characters for your password."
        )),
        n if n > MAX_CHARS => Some(format!(
            "Use at most {MAX_CHARS} characters for your password."
        )),
        _ => None,
    }
}

/// A password that passed the policy.
#[derive(Debug)]
pub struct NewPassword(Password);

impl NewPassword {
    /// Checks length, then strength; `user_inputs` (such as the e-mail) make passwords built
    /// from them count as weak. The strength check is CPU work: call this off the async workers.
    pub fn parse(password: Password, user_inputs: &[&str]) -> Result<Self, String> {
        if let Some(problem) = length_problem(&password) {
            return Err(problem);
        }
        let estimate = zxcvbn::zxcvbn(password.expose(), user_inputs);
        if u8::from(estimate.score()) < 3 {
            return Err(
                "That password is too easy to guess. Try a few unrelated words, or a longer phrase."
                    .to_string(),
            );
        }
        Ok(Self(password))
    }

    pub fn into_password(self) -> Password {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<NewPassword, String> {
        NewPassword::parse(Password::new(raw.to_string()), &["reader@example.com"])
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Eight characters, sixteen bytes.
        assert!(parse("ééééééé").unwrap_err().contains("at least"));
        assert!(parse("ñandú cóndor pingüino").is_ok());
    }

    #[test]
    fn the_limits_are_inclusive() {
        let at_most = "correct horse battery staple ".repeat(5)[..MAX_CHARS].to_string();
        assert_eq!(at_most.chars().count(), MAX_CHARS);
        assert!(parse(&at_most).is_ok());
        let too_long = format!("{at_most}x");
        assert!(parse(&too_long).unwrap_err().contains("at most"));
    }

    #[test]
    fn well_known_passwords_are_refused() {
        for weak in [
            "password1234",
            "qwertyuiop",
            "iloveyou2024",
            "reader@example.com",
        ] {
            assert!(parse(weak).unwrap_err().contains("too easy"), "{weak}");
        }
    }

    #[test]
    fn spaces_and_any_script_are_welcome() {
        assert!(parse("  leading and trailing spaces  ").is_ok());
        assert!(parse("日本語のとても長いパスワードです").is_ok());
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", Password::new("hunter2hunter2".to_string()));
        assert!(!shown.contains("hunter2"));
    }
}
