//! The newsroom's pages: the desk (every article by stage), the article form, and the people
//! page where admins grant and remove the editor role.

use askama::Template;
use time::OffsetDateTime;

use super::{Layout, Pager, long_date};
use crate::domain::article::{FieldErrors, Fields, Part, Stage, Words, publish_at_field};
use crate::domain::diff::{TextLine, line_diff};
use crate::domain::ids::{ArticleId, MediaId, UserId};
use crate::domain::role::Role;
use crate::models::{DeskArticle, DeskEntry, Person, article_path};

/// `3 December 2026, 09:30 UTC`
pub fn date_and_time(instant: OffsetDateTime) -> String {
    format!(
        "{}, {:02}:{:02} UTC",
        long_date(instant),
        instant.hour(),
        instant.minute()
    )
}

/// How the desk names a stage: "Draft", "Scheduled for ...", "Published ...".
pub fn stage_label(stage: Stage) -> String {
    match stage {
        Stage::Draft => "Draft".to_string(),
        Stage::Scheduled(at) => format!("Scheduled for {}", date_and_time(at)),
        Stage::Published(at) => format!("Published {}", date_and_time(at)),
    }
}

/// One article on the desk.
pub struct DeskRow {
    pub id: ArticleId,
    pub title: String,
    pub byline: String,
    pub premium: bool,
    /// "Draft", "Scheduled for ...", "Published ...".
    pub stage: String,
    pub edited: String,
    /// Where readers find it, once published.
    pub public_path: Option<String>,
}

impl DeskRow {
    pub fn of(entry: &DeskEntry, now: OffsetDateTime) -> Self {
        let stage = Stage::of(entry.published_at, now);
        Self {
            id: entry.id,
            title: entry.title.clone(),
            byline: entry.author.clone(),
            premium: entry.is_premium,
            stage: stage_label(stage),
            edited: date_and_time(entry.updated_at),
            public_path: stage
                .is_public()
                .then(|| article_path(entry.id, &entry.slug)),
        }
    }
}

#[derive(Template)]
#[template(path = "editor/desk.html")]
pub struct DeskPage {
    pub layout: Layout,
    pub drafts: Vec<DeskRow>,
    pub scheduled: Vec<DeskRow>,
    pub published: Vec<DeskRow>,
    /// Pages through the published articles.
    pub pager: Pager,
    pub admin: bool,
}

/// The article form, as typed or as stored.
pub struct ArticleForm {
    /// `None` while the article is new.
    pub id: Option<ArticleId>,
    pub fields: Fields,
    /// As a `datetime-local` field holds it.
    pub publish_at: String,
    pub errors: FieldErrors,
    /// `draft`, `scheduled` or `published`: which buttons the form offers.
    pub stage: &'static str,
    pub stage_label: String,
    pub slug_locked: bool,
    pub public_path: Option<String>,
    /// "Updated ..." as readers see it, or the last edit.
    pub edited: Option<String>,
    /// The version of the words the form builds on (sent back with it); `None` while new.
    pub version: Option<i32>,
    /// The library pictures offered as the feature image: the newest, and the chosen one.
    pub feature_choices: Vec<FeatureChoice>,
    /// The chosen feature image, small, as the library has it.
    pub feature_preview: Option<FeaturePreview>,
}

/// A library picture the form offers as the feature image.
pub struct FeatureChoice {
    pub id: MediaId,
    /// `media:12 · harbour.jpg: Boats at dawn`: its name in the body, its file, its alt text.
    pub label: String,
}

/// The longest part of a picture's alt text a choice shows.
const CHOICE_ALT_CHARS: usize = 60;

impl FeatureChoice {
    pub fn of(id: MediaId, original_name: &str, alt: &str) -> Self {
        let name = if original_name.is_empty() {
            "(no file name)"
        } else {
            original_name
        };
        let mut shown: String = alt.chars().take(CHOICE_ALT_CHARS).collect();
        if alt.chars().count() > CHOICE_ALT_CHARS {
            shown.push('…');
        }
        let label = if shown.is_empty() {
            format!("media:{id} · {name} (no alt text)")
        } else {
            format!("media:{id} · {name}: {shown}")
        };
        Self { id, label }
    }
}

/// A small picture of the chosen feature image.
pub struct FeaturePreview {
    pub src: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
}

impl ArticleForm {
    pub fn new_article() -> Self {
        Self {
            id: None,
            fields: Fields {
                premium: true,
                ..Fields::default()
            },
            publish_at: String::new(),
            errors: FieldErrors::default(),
            stage: "draft",
            stage_label: "New article".to_string(),
            slug_locked: false,
            public_path: None,
            edited: None,
            version: None,
            feature_choices: Vec::new(),
            feature_preview: None,
        }
    }

    pub fn of(article: &DeskArticle, now: OffsetDateTime) -> Self {
        let publication = article.publication();
        let stage = publication.stage(now);
        Self {
            id: Some(article.id),
            fields: Fields {
                title: article.title.clone(),
                slug: article.slug.clone(),
                byline: article.author.clone(),
                teaser: article.teaser.clone(),
                body: article.body_markdown.clone(),
                premium: article.is_premium,
                feature_media_id: article
                    .feature_media_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                feature_alt: article.feature_alt.clone(),
                feature_credit: article.feature_credit.clone(),
            },
            publish_at: article
                .published_at
                .filter(|_| matches!(stage, Stage::Scheduled(_)))
                .map(publish_at_field)
                .unwrap_or_default(),
            errors: FieldErrors::default(),
            stage: stage_name(stage),
            stage_label: stage_label(stage),
            slug_locked: publication.slug_locked(now),
            public_path: stage
                .is_public()
                .then(|| article_path(article.id, &article.slug)),
            edited: Some(date_and_time(article.updated_at)),
            version: Some(article.version),
            feature_choices: Vec::new(),
            feature_preview: None,
        }
    }

    /// The feature image the form names, if it names one that could be a picture.
    pub fn feature_id(&self) -> Option<MediaId> {
        self.fields.feature_media_id.trim().parse().ok()
    }

    /// Whether `id` is the feature image the form names.
    pub fn is_feature(&self, id: &MediaId) -> bool {
        self.feature_id() == Some(*id)
    }

    /// Where the form is sent.
    pub fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/editor/articles/{id}"),
            None => "/editor/articles".to_string(),
        }
    }
}

pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Draft => "draft",
        Stage::Scheduled(_) => "scheduled",
        Stage::Published(_) => "published",
    }
}

#[derive(Template)]
#[template(path = "editor/form.html")]
pub struct ArticleFormPage {
    pub layout: Layout,
    pub form: ArticleForm,
    /// Set when the form comes back because another save changed the words first.
    pub conflict: Option<Conflict>,
    /// The newsletter's part of an existing article's page.
    pub newsletter: Option<NewsletterPanel>,
}

/// What the article's page offers for the newsletter: e-mailing it once published, following
/// a send, and a test to the editor's own address.
pub struct NewsletterPanel {
    pub article_id: ArticleId,
    pub published: bool,
    /// When the send started, if it did.
    pub started: Option<String>,
}

/// How a send stands, refreshing itself while it goes on.
#[derive(Template)]
#[template(path = "editor/newsletter.html")]
pub struct NewsletterPage {
    pub layout: Layout,
    pub article_id: ArticleId,
    pub title: String,
    pub audience: &'static str,
    pub started: String,
    pub audience_size: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub suppressed: i64,
    pub uncertain: i64,
    /// Still sending: the page refreshes itself.
    pub going: bool,
}

/// What another save changed before this form was sent: each part in which the form differs
/// from the words stored now, with the stored words (and, for long texts, the lines between
/// them and the form's).
pub struct Conflict {
    /// When the stored words were saved.
    pub saved_at: String,
    pub parts: Vec<ConflictPart>,
}

pub struct ConflictPart {
    /// The form's name for the part: "Title", "Text"...
    pub label: &'static str,
    /// The words stored now, as the form would show them.
    pub stored: String,
    /// From the stored words to the form's, line by line; empty for one-line parts.
    pub lines: Vec<DiffLine>,
}

pub struct DiffLine {
    /// `same`, `removed`, `added` or `folded` (a CSS class and what the line is).
    pub kind: &'static str,
    pub text: String,
}

impl Conflict {
    /// The parts in which `sent` differs from `stored`, the article as it is now.
    pub fn between(stored: &DeskArticle, sent: &Words<'_>, parts: &[Part]) -> Self {
        let stored_words = stored.words();
        Self {
            saved_at: date_and_time(stored.updated_at),
            parts: parts
                .iter()
                .map(|part| {
                    let (label, stored_text, sent_text, long) = match part {
                        Part::Title => ("Title", stored_words.title, sent.title, false),
                        Part::Slug => ("Address", stored_words.slug, sent.slug, false),
                        Part::Byline => ("Byline", stored_words.byline, sent.byline, false),
                        Part::Teaser => ("Teaser", stored_words.teaser, sent.teaser, false),
                        Part::Feature => {
                            return ConflictPart {
                                label: "Feature image",
                                stored: feature_label(stored_words.feature_media_id),
                                lines: Vec::new(),
                            };
                        }
                        Part::FeatureAlt => (
                            "Feature image's alt text",
                            stored_words.feature_alt,
                            sent.feature_alt,
                            false,
                        ),
                        Part::FeatureCredit => (
                            "Feature image's credit",
                            stored_words.feature_credit,
                            sent.feature_credit,
                            false,
                        ),
                        Part::Body => {
                            ("Text", stored_words.body_markdown, sent.body_markdown, true)
                        }
                        Part::Premium => (
                            "Premium",
                            premium_label(stored_words.premium),
                            premium_label(sent.premium),
                            false,
                        ),
                    };
                    ConflictPart {
                        label,
                        stored: stored_text.to_string(),
                        lines: if long {
                            line_diff(stored_text, sent_text)
                                .into_iter()
                                .map(DiffLine::from)
                                .collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
        }
    }
}

/// A feature image as the conflict names it.
fn feature_label(id: Option<MediaId>) -> String {
    id.map_or_else(
        || "No feature image".to_string(),
        |id| format!("media:{id}"),
    )
}

fn premium_label(premium: bool) -> &'static str {
    if premium { "Premium" } else { "Free" }
}

impl From<TextLine<'_>> for DiffLine {
    fn from(line: TextLine<'_>) -> Self {
        let (kind, text) = match line {
            TextLine::Same(text) => ("same", format!("  {text}")),
            TextLine::Removed(text) => ("removed", format!("- {text}")),
            TextLine::Added(text) => ("added", format!("+ {text}")),
            TextLine::Folded(1) => ("folded", "  … 1 line as it was".to_string()),
            TextLine::Folded(n) => ("folded", format!("  … {n} lines as they were")),
        };
        Self { kind, text }
    }
}

pub struct PersonView {
    pub id: UserId,
    pub email: String,
    pub role: Role,
}

impl From<&Person> for PersonView {
    fn from(person: &Person) -> Self {
        Self {
            id: person.id,
            email: person.email.clone(),
            role: person.role,
        }
    }
}

#[derive(Template)]
#[template(path = "editor/people.html")]
pub struct PeoplePage {
    pub layout: Layout,
    pub staff: Vec<PersonView>,
    /// The e-mail typed, shown again with `error`.
    pub email: String,
    pub error: Option<String>,
}

/// The desk's page of complimentary access (admins only).
#[derive(Template)]
#[template(path = "editor/comps.html")]
pub struct CompsPage {
    pub layout: Layout,
    pub comps: Vec<CompView>,
    /// What was typed, shown again with `error`.
    pub email: String,
    pub until: String,
    pub error: Option<String>,
    /// Today (UTC), the earliest date the form takes, `YYYY-MM-DD`.
    pub today: String,
}

/// A complimentary access running.
pub struct CompView {
    pub email: String,
    /// The last day it covers, written out.
    pub until: String,
}

impl CompView {
    pub fn new(email: String, ends_at: OffsetDateTime) -> Self {
        Self {
            email,
            until: long_date(crate::domain::grant::last_day(ends_at)),
        }
    }
}
