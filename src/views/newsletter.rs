//! The newsletter's pages: joining by address, confirming, leaving and the preferences a
//! mailed link opens. Plain values in, HTML out; the token a page carries is the one its link
//! brought, put back into the page's own form.

use askama::Template;

use super::Layout;

/// After asking to join by address, or the form again with what was wrong.
#[derive(Template)]
#[template(path = "newsletter/join.html")]
pub struct NewsletterJoinPage {
    pub layout: Layout,
    pub email: String,
    pub email_error: Option<String>,
    /// The address asked for: "check your inbox".
    pub asked: bool,
}

/// A confirmation link's page: its button confirms.
#[derive(Template)]
#[template(path = "newsletter/confirm.html")]
pub struct NewsletterConfirmPage {
    pub layout: Layout,
    pub token: String,
    pub email: String,
}

/// An unsubscribe link's page: its button leaves.
#[derive(Template)]
#[template(path = "newsletter/unsubscribe.html")]
pub struct NewsletterUnsubscribePage {
    pub layout: Layout,
    pub token: String,
}

/// What a member chose, with the buttons to change it.
#[derive(Template)]
#[template(path = "newsletter/preferences.html")]
pub struct NewsletterPreferencesPage {
    pub layout: Layout,
    pub token: String,
    pub email: String,
    pub confirmed: bool,
    pub on_list: bool,
    pub address_only: bool,
    pub notice: Option<&'static str>,
}

/// A short answer: done, nothing to do, or a link that does not work.
#[derive(Template)]
#[template(path = "newsletter/message.html")]
pub struct NewsletterMessagePage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
}
