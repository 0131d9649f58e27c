//! Amounts of money as Gazette stores them and payment processors count them: a whole number
//! of the currency's smallest unit (cents for USD, yen for JPY, fils for BHD), with its ISO
//! 4217 code in capitals.
//!
//! Rules:
//! - How many decimals a currency has is the processor's count (Stripe's): none for JPY, KRW
//!   and the other zero-decimal currencies, three for BHD, JOD, KWD, OMR and TND (and IQD,
//!   LYD), two for every other (ISK, HUF and TWD too, which Stripe still counts in
//!   hundredths).
//! - An amount is shown with its currency's own decimals and thousands grouped: `$8.00`,
//!   `¥800`, `¥8,000`, `12.500 BHD`. Never as cents unless the currency has them.

/// Zero-decimal currencies: the amount is in whole units.
const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];
/// Three-decimal currencies: the amount is in thousandths.
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// How many decimals `currency` (ISO 4217, capitals) has in the processor's count.
pub fn decimals(currency: &str) -> u32 {
    if NO_DECIMALS.contains(&currency) {
        0
    } else if THREE_DECIMALS.contains(&currency) {
        3
    } else {
        2
    }
}

/// The symbol a reader knows the currency by, where it is unambiguous.
fn symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "KRW" => Some("₩"),
        _ => None,
    }
}

/// `minor_units` of `currency` as a reader reads it: `$8.00`, `¥800`, `₩9,900`, `12.34 CHF`,
/// `5.120 KWD`.
pub fn format(minor_units: i64, currency: &str) -> String {
    let decimals = decimals(currency);
    let scale = 10_u64.pow(decimals);
    let magnitude = minor_units.unsigned_abs();
    let whole = grouped(magnitude / scale);
    let amount = if decimals == 0 {
        whole
    } else {
        format!(
            "{whole}.{:0width$}",
            magnitude % scale,
            width = decimals as usize
        )
    };
    let sign = if minor_units < 0 { "-" } else { "" };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{amount}"),
        None => format!("{sign}{amount} {currency}"),
    }
}

/// `1234567` as `1,234,567`.
fn grouped(whole: u64) -> String {
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimal_currencies_show_their_cents() {
        assert_eq!(format(800, "USD"), "$8.00");
        assert_eq!(format(5, "EUR"), "€0.05");
        assert_eq!(format(123_456_789, "GBP"), "£1,234,567.89");
        assert_eq!(format(1234, "CHF"), "12.34 CHF");
        assert_eq!(
            format(100_000, "ISK"),
            "1,000.00 ISK",
            "Stripe counts ISK in hundredths"
        );
    }

    #[test]
    fn zero_decimal_currencies_show_whole_units() {
        assert_eq!(decimals("JPY"), 0);
        assert_eq!(format(800, "JPY"), "¥800");
        assert_eq!(format(8000, "JPY"), "¥8,000");
        assert_eq!(format(9900, "KRW"), "₩9,900");
        assert_eq!(format(1_000_000, "VND"), "1,000,000 VND");
        assert_eq!(format(0, "JPY"), "¥0");
    }

    #[test]
    fn three_decimal_currencies_show_thousandths() {
        assert_eq!(decimals("KWD"), 3);
        assert_eq!(format(5120, "KWD"), "5.120 KWD");
        assert_eq!(format(12_500, "BHD"), "12.500 BHD");
        assert_eq!(format(7, "OMR"), "0.007 OMR");
        assert_eq!(format(1_234_500, "JOD"), "1,234.500 JOD");
    }

    #[test]
    fn a_negative_amount_keeps_its_sign_in_front() {
        assert_eq!(format(-800, "USD"), "-$8.00");
        assert_eq!(format(-800, "JPY"), "-¥800");
    }
}
