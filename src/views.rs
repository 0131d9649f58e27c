//! One askama struct per page, all extending `templates/base.html`, plus the small
//! formatting helpers the pages share.
//!
//! Rules: views turn plain data into HTML and nothing else. They read no session and no
//! database, and know no extractor: handlers (through `routes::visit`) hand them plain values.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::domain::ids::{ArticleId, SessionId};
use crate::models::{Article, ArticleHtml, ArticleSummary, Feature, Plan};

mod desk;
mod feeds;
mod gift;
mod library;
mod newsletter;
mod offer;
mod retention;

pub use crate::domain::gift_subscription::months_words as months;
pub use desk::{
    ArticleForm, ArticleFormPage, CompView, CompsPage, Conflict, DeskPage, DeskRow, FeatureChoice,
    FeaturePreview, NewsletterPage, NewsletterPanel, PeoplePage, PersonView, date_and_time,
    stage_label,
};
pub use feeds::{atom_feed, robots_txt, sitemap_index_xml, sitemap_xml};
pub use gift::{
    GiftBoughtView, GiftBuyPage, GiftChoice, GiftForm, GiftGonePage, GiftLinkState, GiftRedeemPage,
};
pub use library::{LibraryPicture, MediaLibraryPage, file_size, media_markdown};
pub use newsletter::{
    NewsletterConfirmPage, NewsletterJoinPage, NewsletterMessagePage, NewsletterPreferencesPage,
    NewsletterUnsubscribePage,
};
pub use offer::{
    OfferFormView, OfferGonePage, OfferPage, OfferPageState, OfferRowView, OffersDeskPage,
    applies_words, deal_words,
};
pub use retention::{RetentionPage, RetentionRefusedPage};

/// What a page says about itself when no handler says more: the meta description.
pub const SITE_DESCRIPTION: &str =
    "Gazette: independent writing on science, cities, work and culture.";

/// What the layout shows around every page.
pub struct Layout {
    pub title: String,
    /// The meta description, and the summary a shared link shows.
    pub description: String,
    /// Where readers reach the site, without a trailing slash (empty on error pages).
    pub site_url: String,
    /// The page's canonical address, absolute; `None` for pages that have none.
    pub canonical_url: Option<String>,
    /// Open Graph's type: `website`, or `article` on an article.
    pub og_type: &'static str,
    /// The picture a shared link shows (Open Graph, Twitter): an article's feature image.
    pub share_image: Option<ShareImage>,
    /// Kept out of search engines (the desk, previews, error pages).
    pub noindex: bool,
    /// The reader may use the newsroom's desk.
    pub editor: bool,
    pub csrf_token: String,
    pub member_email: Option<String>,
    pub subscribed: bool,
    /// The reader's subscription has a payment that did not go through: a banner says so.
    pub payment_notice: bool,
    /// The reader reads everything by role (editors and admins): no page invites them to
    /// subscribe.
    pub newsroom: bool,
    /// "3 of 5 free articles left this month", for readers on the meter.
    pub meter_note: Option<String>,
    pub flash: Option<String>,
    pub cookie_notice: bool,
    /// False on error pages, which do not know who is reading.
    pub knows_reader: bool,
}

impl Layout {
    /// A layout that needs no session: for error pages.
    pub fn bare(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            description: SITE_DESCRIPTION.to_string(),
            site_url: String::new(),
            canonical_url: None,
            og_type: "website",
            share_image: None,
            noindex: true,
            editor: false,
            csrf_token: String::new(),
            member_email: None,
            subscribed: false,
            payment_notice: false,
            newsroom: false,
            meter_note: None,
            flash: None,
            cookie_notice: false,
            knows_reader: false,
        }
    }
}

impl Layout {
    /// Names `path` (`/articles/1/slug`) as the page's canonical address.
    pub fn canonical(mut self, path: &str) -> Self {
        self.canonical_url = Some(format!("{}{path}", self.site_url));
        self
    }

    pub fn described(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Keeps the page out of search engines.
    pub fn unindexed(mut self) -> Self {
        self.noindex = true;
        self
    }

    /// Names `feature` as the picture a shared link to the page shows.
    pub fn shared_with(mut self, feature: Option<&Feature>) -> Self {
        self.share_image = feature.and_then(|feature| ShareImage::of(&self.site_url, feature));
        self
    }
}

/// The widest a shared link's picture needs to be: what Open Graph and Twitter recommend.
pub const SHARE_WIDTH: u32 = 1200;

/// A picture as a shared link shows it: an absolute address and its size.
pub struct ShareImage {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
}

impl ShareImage {
    /// The [`SHARE_WIDTH`] variant of `feature` (or its widest), under `site_url`.
    pub fn of(site_url: &str, feature: &Feature) -> Option<Self> {
        let picture = &feature.picture;
        let variant = picture.variant_for(SHARE_WIDTH)?;
        Some(Self {
            url: format!("{site_url}{}", picture.path_of(variant)),
            width: variant.width,
            height: variant.height,
            alt: feature.alt.clone(),
        })
    }
}

/// A feature image as a page's `<img>` writes it; the template says how wide it is shown
/// (`sizes`) and whether it loads at once.
pub struct PictureView {
    /// The plain `src`: the article column's width.
    pub src: String,
    pub srcset: String,
    /// The original's size: the browser keeps the space before the bytes come.
    pub width: u32,
    pub height: u32,
    pub alt: String,
    /// Who made it; may be empty.
    pub credit: String,
}

impl From<&Feature> for PictureView {
    fn from(feature: &Feature) -> Self {
        Self {
            src: feature.picture.src(),
            srcset: feature.picture.srcset(),
            width: feature.picture.width,
            height: feature.picture.height,
            alt: feature.alt.clone(),
            credit: feature.credit.clone(),
        }
    }
}

pub fn meter_note(left: u32, allowance: u32) -> String {
    match (left, allowance) {
        (_, 0) => "Premium articles are for subscribers".to_string(),
        (0, 1) => "You have read your free article this month".to_string(),
        (0, _) => format!("You have read your {allowance} free articles this month"),
        (n, 1) => format!("{n} of 1 free article left this month"),
        (n, _) => format!("{n} of {allowance} free articles left this month"),
    }
}

/// A wait of `seconds`, in whole minutes rounded up: `1 minute`, `14 minutes`.
pub fn minutes_of(seconds: u64) -> String {
    match seconds.div_ceil(60).max(1) {
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// Room a page is rendered into at first. Askama's own estimate counts only the template's
/// fixed text, not what is put in it (a front page's cards, an article's body), so a page would
/// otherwise grow its buffer, copying itself, several times over.
const PAGE_CAPACITY: usize = 24 * 1024;

pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, askama::Error> {
    let mut body = String::with_capacity(PAGE_CAPACITY.max(T::SIZE_HINT));
    page.render_into(&mut body)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// `28 November 2026`
pub fn long_date(instant: OffsetDateTime) -> String {
    instant
        .format(format_description!(
            "[day padding:none] [month repr:long] [year]"
        ))
        .unwrap_or_else(|_| instant.date().to_string())
}

/// A reader's access grant as the account page says it, while it is current.
pub fn access_grant_note(
    grant: &crate::models::AccessGrant,
    now: OffsetDateTime,
) -> Option<String> {
    use crate::domain::grant::{GrantKind, last_day};
    if !grant.is_current(now) {
        return None;
    }
    let until = long_date(last_day(grant.ends_at));
    Some(match grant.kind {
        GrantKind::Comp => format!("Complimentary access until {until}"),
        GrantKind::Gift => format!("Gift subscription until {until}"),
    })
}

pub fn iso_date(instant: OffsetDateTime) -> String {
    instant
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| instant.date().to_string())
}

/// An amount in the currency's smallest unit as a reader reads it: `$8.00`, `¥800`.
pub fn price(minor_units: impl Into<i64>, currency: &str) -> String {
    crate::domain::money::format(minor_units.into(), currency)
}

/// Percent-encodes a local path for use as a `next` query parameter.
pub fn encode_next(path: &str) -> String {
    url::form_urlencoded::byte_serialize(path.as_bytes()).collect()
}

pub struct ArticleCard {
    pub id: ArticleId,
    /// The canonical address, `/articles/{id}/{slug}`.
    pub path: String,
    pub title: String,
    pub author: String,
    /// The author's page.
    pub author_path: String,
    pub date: String,
    pub iso_date: String,
    /// When the text changed after publication: (long date, ISO date).
    pub updated: Option<(String, String)>,
    pub teaser: String,
    pub premium: bool,
    /// The feature image, if it has one.
    pub picture: Option<PictureView>,
}

impl From<&ArticleSummary> for ArticleCard {
    fn from(a: &ArticleSummary) -> Self {
        Self {
            id: a.id,
            path: a.path(),
            title: a.title.clone(),
            author: a.author.clone(),
            author_path: format!("/authors/{}", a.author_slug),
            date: long_date(a.published_at),
            iso_date: iso_date(a.published_at),
            updated: (a.updated_at > a.published_at)
                .then(|| (long_date(a.updated_at), iso_date(a.updated_at))),
            teaser: a.teaser.clone(),
            premium: a.is_premium,
            picture: a.feature.as_deref().map(PictureView::from),
        }
    }
}

/// Links to the newer and older pages of a list (`None` at either end).
#[derive(Default)]
pub struct Pager {
    pub newer: Option<String>,
    pub older: Option<String>,
}

/// The CSS class of the part of a premium article that only paying readers get; named in
/// the structured data so search engines know the content is gated rather than cloaked.
pub const GATED_CLASS: &str = "premium-content";

/// JSON-LD for an article page on the site at `site_url`, safe to embed in a `<script>`
/// element.
pub fn article_json_ld(article: &Article, site_url: &str) -> String {
    /// schema.org's `NewsArticle`, as much of it as search engines read.
    #[derive(serde::Serialize)]
    struct NewsArticle<'a> {
        #[serde(rename = "@context")]
        context: &'static str,
        #[serde(rename = "@type")]
        kind: &'static str,
        headline: &'a str,
        description: &'a str,
        author: Person<'a>,
        #[serde(rename = "datePublished")]
        date_published: String,
        #[serde(rename = "dateModified")]
        date_modified: String,
        #[serde(rename = "isAccessibleForFree")]
        free: bool,
        #[serde(rename = "hasPart", skip_serializing_if = "Option::is_none")]
        gated_part: Option<GatedPart>,
        /// The feature image's address, absolute.
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<String>,
    }
    #[derive(serde::Serialize)]
    struct Person<'a> {
        #[serde(rename = "@type")]
        kind: &'static str,
        name: &'a str,
    }
    /// Where the part for subscribers is, so a paywall is not taken for cloaking.
    #[derive(serde::Serialize)]
    struct GatedPart {
        #[serde(rename = "@type")]
        kind: &'static str,
        #[serde(rename = "isAccessibleForFree")]
        free: bool,
        #[serde(rename = "cssSelector")]
        selector: String,
    }

    let summary = &article.summary;
    let data = NewsArticle {
        context: "https://schema.org",
        kind: "NewsArticle",
        headline: &summary.title,
        description: &summary.teaser,
        author: Person {
            kind: "Person",
            name: &summary.author,
        },
        date_published: iso_date(summary.published_at),
        date_modified: iso_date(summary.updated_at.max(summary.published_at)),
        free: !summary.is_premium,
        gated_part: summary.is_premium.then_some(GatedPart {
            kind: "WebPageElement",
            free: false,
            selector: format!(".{GATED_CLASS}"),
        }),
        image: summary
            .feature
            .as_deref()
            .and_then(|feature| ShareImage::of(site_url, feature))
            .map(|image| image.url),
    };
    // `<` escaped so no text inside can close the script element.
    serde_json::to_string(&data)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: &'static str,
    pub message: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    /// 1 for the front page, then the older pages.
    pub page: i64,
    /// The page's articles as [`FrontCards`] rendered them (the same for every reader, so
    /// made once per listing).
    pub cards: std::sync::Arc<str>,
    pub pager: Pager,
}

/// The articles of one page of the front page or its archive, without the reader's parts.
#[derive(Template)]
#[template(path = "_front_cards.html")]
pub struct FrontCards {
    /// 1 for the front page, whose first article leads.
    pub page: i64,
    pub articles: Vec<ArticleCard>,
}

#[derive(Template)]
#[template(path = "author.html")]
pub struct AuthorPage {
    pub layout: Layout,
    pub author: String,
    pub page: i64,
    pub articles: Vec<ArticleCard>,
    pub pager: Pager,
}

/// The bar above a preview: which view it is, and the way to the other and back to editing.
pub struct PreviewBar {
    pub article_id: ArticleId,
    /// `subscriber` or `paywall`.
    pub showing: &'static str,
    /// "Draft", "Scheduled for ...", "Published".
    pub stage: String,
}

#[derive(Template)]
#[template(path = "article.html")]
pub struct ArticlePage<'a> {
    pub layout: Layout,
    pub html: &'a ArticleHtml,
    pub preview: Option<PreviewBar>,
    /// A subscriber's form to gift the article.
    pub gift_offer: Option<GiftOffer>,
    /// The article opened by a gift link: who gave it is never said.
    pub gifted: Option<GiftedNote>,
}

/// Under an article a subscriber reads: the form that gifts it.
pub struct GiftOffer {
    /// Where the form posts: `/articles/{id}/gift`.
    pub action: String,
    /// Gifts left this month.
    pub left: u32,
    pub allowance: u32,
    /// Gifted this month already: its link again costs nothing.
    pub given: bool,
}

/// Around an article opened by a gift link.
pub struct GiftedNote {
    /// Until when the link opens the article (`12 December 2026`).
    pub until: String,
    pub logged_in: bool,
    /// `next` for the links onwards (back to the plain article), already percent-encoded.
    pub subscribe_next: String,
    pub article_next: String,
}

/// The answer to gifting an article.
#[derive(Template)]
#[template(path = "gift_link.html")]
pub struct GiftLinkPage {
    pub layout: Layout,
    pub article: ArticleCard,
    pub answer: GiftAnswer,
}

pub enum GiftAnswer {
    /// The link to share (a new gift, or the same one again).
    Link {
        /// The gift link, absolute.
        url: String,
        until: String,
        new: bool,
        left: u32,
        allowance: u32,
    },
    /// The month's gifts are all given.
    UsedUp {
        allowance: u32,
        /// When the next gifts come (`1 December`).
        next_month: String,
    },
    /// A free article: its plain address, absolute.
    Free { url: String },
    /// The reader does not subscribe.
    SubscribersOnly,
}

#[derive(Template)]
#[template(path = "paywall.html")]
pub struct PaywallPage<'a> {
    pub layout: Layout,
    pub preview: Option<PreviewBar>,
    pub html: &'a ArticleHtml,
    pub logged_in: bool,
    /// The offer's headline, e.g. "You have read your 5 free articles this month".
    pub headline: String,
    /// `next` for the links onwards, already percent-encoded.
    pub subscribe_next: String,
    pub article_next: String,
}

#[derive(Template)]
#[template(path = "_article_text.html")]
struct ArticleText<'a> {
    article: &'a ArticleCard,
    body_html: &'a str,
    gated_class: &'static str,
}

#[derive(Template)]
#[template(path = "_article_teaser.html")]
struct ArticleTeaser<'a> {
    article: &'a ArticleCard,
}

/// The parts of `article`'s pages that are the same for every reader, made the first time
/// they are asked for and kept with the article. `site_url` is this instance's public
/// address, the same for every request.
pub fn article_html(article: &Article, site_url: &str) -> Result<Arc<ArticleHtml>, askama::Error> {
    if let Some(made) = article.html.get() {
        return Ok(made.clone());
    }
    let card = ArticleCard::from(&article.summary);
    let made = Arc::new(ArticleHtml {
        json_ld: article_json_ld(article, site_url),
        text: ArticleText {
            article: &card,
            body_html: &article.body_html,
            gated_class: GATED_CLASS,
        }
        .render()?,
        teaser: ArticleTeaser { article: &card }.render()?,
    });
    Ok(article.html.get_or_init(|| made).clone())
}

/// The sign-up and log-in forms share one shape.
pub struct CredentialsForm {
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
}

impl CredentialsForm {
    pub fn empty(next: String) -> Self {
        Self {
            email: String::new(),
            next,
            error: None,
            email_error: None,
            password_error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
pub struct SignupPage {
    pub layout: Layout,
    pub form: CredentialsForm,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub form: CredentialsForm,
}

pub struct PlanView {
    pub code: String,
    pub name: String,
    pub price: String,
    pub period: String,
    pub per_month: String,
}

impl From<&Plan> for PlanView {
    fn from(plan: &Plan) -> Self {
        let months = plan.period_months.max(1);
        Self {
            code: plan.code.clone(),
            name: plan.name.clone(),
            price: price(plan.price_cents, &plan.currency),
            period: if months == 1 {
                "month".to_string()
            } else if months == 12 {
                "year".to_string()
            } else {
                format!("{months} months")
            },
            per_month: price(
                (i64::from(plan.price_cents) + i64::from(months) / 2) / i64::from(months),
                &plan.currency,
            ),
        }
    }
}

/// What the plans page says about how payments are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentsNote {
    NotSetUp,
    /// A gateway that asks for no card and charges nothing.
    TestGateway,
    /// A processor in test mode: its card form, test cards, no real money.
    ProcessorTestMode,
    Live,
}

#[derive(Template)]
#[template(path = "subscribe.html")]
pub struct SubscribePage {
    pub layout: Layout,
    pub plans: Vec<PlanView>,
    pub payments: PaymentsNote,
    pub logged_in: bool,
    pub next: String,
    pub current_plan: Option<String>,
    pub error: Option<String>,
    /// What an offer gives the reader's subscription ("Free until 3 March, then ...").
    pub offer_note: Option<String>,
}

impl SubscribePage {
    /// Whether subscribe buttons are offered.
    fn takes_payments(&self) -> bool {
        self.payments != PaymentsNote::NotSetUp
    }

    fn is_current(&self, code: &str) -> bool {
        self.current_plan.as_deref() == Some(code)
    }

    /// Where sign-up or log-in should lead: back here, then on to `next`.
    fn onward(&self) -> String {
        if self.next.is_empty() {
            encode_next("/subscribe")
        } else {
            encode_next(&format!("/subscribe?next={}", encode_next(&self.next)))
        }
    }
}

pub struct SessionView {
    pub id: SessionId,
    pub device: String,
    pub last_seen: String,
    pub this_device: bool,
}

pub struct SubscriptionView {
    pub plan_name: String,
    pub plan_code: String,
    pub price: String,
    /// `active`, `canceled`, `payment_retrying` (a renewal failed and the processor tries
    /// again: still read), `payment_failed` (it gave up: reading paused) or `lapsed`.
    pub state: &'static str,
    pub period_end: String,
    /// The processor renews it by itself: the page says when, not "paid until".
    pub renews: bool,
    /// The period is a free trial: nothing was paid for it.
    pub in_trial: bool,
    /// A failed renewal: how much is due, if known.
    pub amount_due: Option<String>,
    /// A failed renewal: the processor's page where it is paid.
    pub fix_url: Option<String>,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub email: String,
    /// A payment is waiting for the processor to confirm it.
    pub payment_pending: bool,
    /// The processor's checkout page the reader was sent to and has not paid on (yet).
    pub open_checkout: Option<String>,
    /// The reader has an account at the processor: offer its billing page.
    pub billing_portal: bool,
    pub subscription: Option<SubscriptionView>,
    /// Access without a subscription running now (a comp or a gift), said in words.
    pub access_grant: Option<String>,
    pub other_plans: Vec<PlanView>,
    pub sessions: Vec<SessionView>,
    /// The account's address was proved by a mailed link.
    pub newsletter_confirmed: bool,
    /// The account chose the newsletter.
    pub newsletter_on: bool,
    /// What an offer gives the reader's subscription ("Free until 3 March, then ...").
    pub offer_note: Option<String>,
    /// Gift subscriptions the reader gave, newest first.
    pub gifts: Vec<GiftBoughtView>,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPasswordPage {
    pub layout: Layout,
    pub email: String,
    pub email_error: Option<String>,
    /// Set once asked: the page then says where the link went, if anywhere.
    pub sent_to: Option<String>,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
pub struct ResetPasswordPage {
    pub layout: Layout,
    pub token: String,
    pub email: String,
    pub password_error: Option<String>,
}

/// A link from a mail that no longer works (or a change it can no longer make).
#[derive(Template)]
#[template(path = "link_dead.html")]
pub struct DeadLinkPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
    pub again_href: &'static str,
    pub again_label: &'static str,
}

#[derive(Template)]
#[template(path = "change_password.html")]
pub struct ChangePasswordPage {
    pub layout: Layout,
    pub email: String,
    pub current_error: Option<String>,
    pub new_error: Option<String>,
}

#[derive(Template)]
#[template(path = "change_email.html")]
pub struct ChangeEmailPage {
    pub layout: Layout,
    pub email: String,
    pub new_email: String,
    pub email_error: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Template)]
#[template(path = "confirm_email.html")]
pub struct ConfirmEmailPage {
    pub layout: Layout,
    pub token: String,
    pub old_email: String,
    pub new_email: String,
}

#[derive(Template)]
#[template(path = "delete_account.html")]
pub struct DeleteAccountPage {
    pub layout: Layout,
    pub email: String,
    /// The reader has a subscription that deleting ends.
    pub subscribed: bool,
    pub phrase: &'static str,
    pub error: Option<String>,
    pub confirmation_error: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Template)]
#[template(path = "cookies.html")]
pub struct CookiesPage {
    pub layout: Layout,
    pub cookie_name: String,
    pub device_cookie_name: String,
}

/// "Firefox on Windows", from a User-Agent header; good enough to recognise one's devices.
pub fn describe_device(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "Unknown device".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_said_in_whole_minutes_rounded_up() {
        assert_eq!(minutes_of(0), "1 minute");
        assert_eq!(minutes_of(60), "1 minute");
        assert_eq!(minutes_of(61), "2 minutes");
        assert_eq!(minutes_of(900), "15 minutes");
    }

    #[test]
    fn the_meter_note_reads_naturally() {
        assert_eq!(meter_note(3, 5), "3 of 5 free articles left this month");
        assert_eq!(meter_note(1, 5), "1 of 5 free articles left this month");
        assert_eq!(meter_note(1, 1), "1 of 1 free article left this month");
        assert_eq!(
            meter_note(0, 5),
            "You have read your 5 free articles this month"
        );
    }

    #[test]
    fn prices_show_the_currencys_own_decimals() {
        assert_eq!(price(800, "USD"), "$8.00");
        assert_eq!(price(8000, "USD"), "$80.00");
        assert_eq!(price(1234, "CHF"), "12.34 CHF");
        assert_eq!(price(800, "JPY"), "¥800");
        assert_eq!(price(8000, "JPY"), "¥8,000");
        assert_eq!(price(9900, "KRW"), "₩9,900");
        assert_eq!(price(12_500, "BHD"), "12.500 BHD");
        assert_eq!(price(5120, "KWD"), "5.120 KWD");
        assert_eq!(price(123_456_789, "USD"), "$1,234,567.89");
    }

    #[test]
    fn devices_are_described_from_the_user_agent() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        assert_eq!(describe_device(chrome), "Chrome on Linux");
        assert_eq!(describe_device(""), "Unknown device");
    }
}
