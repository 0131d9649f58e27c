//! The gift subscription pages: buying one (`/gift`), and the page its link opens
//! (`/gift/<token>`), where the recipient redeems it.

use askama::Template;

use super::{Layout, encode_next};

/// One length of gift on sale, with its price.
#[derive(Clone, Debug)]
pub struct GiftChoice {
    pub months: i32,
    /// "3 months".
    pub label: String,
    pub price: String,
}

/// What the buyer typed, shown again with an error.
#[derive(Clone, Debug, Default)]
pub struct GiftForm {
    pub months: i32,
    pub recipient: String,
    pub from: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "gift.html")]
pub struct GiftBuyPage {
    pub layout: Layout,
    pub choices: Vec<GiftChoice>,
    pub logged_in: bool,
    /// This form's own key: a second submission of it buys nothing more.
    pub form_key: String,
    pub form: GiftForm,
    pub test_gateway: bool,
    /// Gifts cannot be bought here (payments not set up, or a processor that takes none).
    pub unavailable: Option<&'static str>,
    pub error: Option<String>,
    pub message_max: usize,
    pub from_max: usize,
}

/// Where a gift's link leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GiftLinkState {
    /// Waiting to be redeemed.
    Open,
    /// The reader's subscription gives access now: they keep the link for later.
    Subscribed,
    /// This reader redeemed it; their access runs until the date, if it still runs.
    Yours { until: Option<String> },
}

#[derive(Template)]
#[template(path = "gift_redeem.html")]
pub struct GiftRedeemPage {
    pub layout: Layout,
    /// The page's own address (`/gift/<token>`), for the form and for coming back.
    pub path: String,
    /// "3 months".
    pub months: String,
    pub from: String,
    pub message: String,
    pub logged_in: bool,
    pub state: GiftLinkState,
}

impl GiftRedeemPage {
    /// Where sign-up or log-in leads: back to this gift.
    pub fn onward(&self) -> String {
        encode_next(&self.path)
    }
}

/// A gift link that leads nowhere (unknown, forged, redeemed by someone else).
#[derive(Template)]
#[template(path = "gift_gone.html")]
pub struct GiftGonePage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
}

/// A gift on its buyer's account page.
#[derive(Clone, Debug)]
pub struct GiftBoughtView {
    pub recipient: String,
    pub months: String,
    pub price: String,
    pub bought: String,
    /// What became of it, in words.
    pub state: String,
    /// The redeem link, while the gift waits to be redeemed (the buyer may pass it on).
    pub link: Option<String>,
}
