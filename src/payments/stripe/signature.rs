//! Stripe's webhook signature: the `Stripe-Signature` header carries a timestamp `t` and one or
//! more `v1` signatures, each an HMAC-SHA256 (keyed with the endpoint's signing secret) of
//! `{t}.{raw body}`. An event is accepted when one `v1` matches (compared in constant time)
//! and `t` is within the tolerance of now, so a captured event cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::payments::hosted::Rejected;

/// How far the signature's time may be from now, either way (Stripe's libraries use 5 minutes).
pub const TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Checks `header` against `body`, signed with `secret`, at `now`.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), Rejected> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(Rejected::Unsigned)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(Rejected::MalformedSignature)?;
        match name {
            "t" => {
                let parsed = value
                    .parse::<i64>()
                    .map_err(|_| Rejected::MalformedSignature)?;
                if timestamp.replace(parsed).is_some() {
                    return Err(Rejected::MalformedSignature);
                }
            }
            // A signature that is not hex cannot match; it is skipped like any other.
            "v1" => signatures.extend(hex::decode(value).ok()),
            // Other schemes (v0 is Stripe's test-only scheme) are not trusted.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Rejected::MalformedSignature)?;
    if signatures.is_empty() {
        return Err(Rejected::MalformedSignature);
    }

    // Any key length is valid for HMAC, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| Rejected::Forged)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok());
    if !matches {
        return Err(Rejected::Forged);
    }
    if (now.unix_timestamp() - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(Rejected::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    const T: i64 = 1_790_000_000;
    // HMAC-SHA256("whsec_test_secret", "1790000000." + BODY), computed independently.
    const GOOD: &str = "ff2a5f4cede3e411a5663d53e3f7e568ddcebae3cdbdc4403c302eb8b53fe2eb";

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn the_signature_matches_an_independently_computed_one() {
        assert_eq!(sign(SECRET, T, BODY), GOOD);
        let header = format!("t={T},v1={GOOD}");
        assert_eq!(verify(SECRET, Some(&header), BODY, at(T)), Ok(()));
    }

    #[test]
    fn any_one_of_several_v1_signatures_may_match() {
        let header = format!("t={T},v1={},v1={GOOD},v0=abc", "00".repeat(32));
        assert_eq!(verify(SECRET, Some(&header), BODY, at(T + 10)), Ok(()));
    }

    #[test]
    fn a_changed_body_another_secret_or_a_changed_time_is_forged() {
        let header = format!("t={T},v1={GOOD}");
        let tampered = br#"{"id":"evt_2","type":"invoice.paid"}"#;
        assert_eq!(
            verify(SECRET, Some(&header), tampered, at(T)),
            Err(Rejected::Forged)
        );
        assert_eq!(
            verify("whsec_other", Some(&header), BODY, at(T)),
            Err(Rejected::Forged)
        );
        let moved = format!("t={},v1={GOOD}", T + 1);
        assert_eq!(
            verify(SECRET, Some(&moved), BODY, at(T)),
            Err(Rejected::Forged)
        );
        let only_v0 = format!("t={T},v0={GOOD}");
        assert_eq!(
            verify(SECRET, Some(&only_v0), BODY, at(T)),
            Err(Rejected::MalformedSignature)
        );
    }

    #[test]
    fn a_signature_older_or_newer_than_five_minutes_is_stale() {
        let header = format!("t={T},v1={GOOD}");
        assert_eq!(verify(SECRET, Some(&header), BODY, at(T + 300)), Ok(()));
        assert_eq!(
            verify(SECRET, Some(&header), BODY, at(T + 301)),
            Err(Rejected::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(&header), BODY, at(T - 301)),
            Err(Rejected::Stale)
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        for (header, expected) in [
            (None, Rejected::Unsigned),
            (Some(""), Rejected::Unsigned),
            (Some("garbage"), Rejected::MalformedSignature),
            (Some("t=soon,v1=00"), Rejected::MalformedSignature),
            (Some("v1=00"), Rejected::MalformedSignature),
            (Some("t=1,t=2,v1=00"), Rejected::MalformedSignature),
            (Some("t=1790000000"), Rejected::MalformedSignature),
            (Some("t=1790000000,v1=zz"), Rejected::MalformedSignature),
        ] {
            assert_eq!(
                verify(SECRET, header, BODY, at(T)),
                Err(expected),
                "{header:?}"
            );
        }
    }
}
