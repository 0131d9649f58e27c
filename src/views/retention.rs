//! "Before you go": the retention offer shown to a subscriber who pressed cancel, with a
//! button to keep the subscription with the offer and one to cancel anyway; and the page for
//! a retention offer that cannot be taken.

use askama::Template;

use super::Layout;

/// The offer made, in words.
#[derive(Template)]
#[template(path = "retention.html")]
pub struct RetentionPage {
    pub layout: Layout,
    pub plan_name: String,
    /// `20 % off: $6.40 a month until June 2027, then $8.00 a month` (from `deal_words`).
    pub deal: String,
    /// The offer's code, which the keep button sends.
    pub code: String,
    /// The end of the period already paid, when the discount starts.
    pub from: String,
}

/// A retention offer that was not applied (refused, ended, used up): the subscription is as
/// it was.
#[derive(Template)]
#[template(path = "retention_refused.html")]
pub struct RetentionRefusedPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: String,
}
