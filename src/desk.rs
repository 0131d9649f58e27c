//! The newsroom's side of an article: saving what an editor wrote, together with the step
//! taken (keep, publish now, schedule, unpublish), and importing article files.
//!
//! Rules: one transaction per save, holding the article's row, so two saves of one article
//! run one after the other; the publication follows `domain::article` (the slug is kept once
//! the article has been public); the Markdown is rendered and sanitised here, once, when it is
//! stored; `updated_at` moves only when the text changes, so "Updated" on an article page
//! means its words changed, and so does the version. A save made from a form opened at an
//! older version than stored, sending other words, is refused (`Saved::Stale`) rather than
//! erasing the save made meanwhile. Every write goes through `db::articles`.
//!
//! Pictures: the library pictures an article uses (its feature image, those its body places)
//! are held for the transaction and looked up there; an image that is not one of them refuses
//! the save, naming it, and a picture without alt text refuses publishing (a draft saves). The
//! pictures the body places are written with the article (`db::media::set_article_media`), so
//! the library never deletes one in use.

use std::fmt;

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::db;
use crate::domain::article::{
    Draft, FieldErrors, MissingAlt, Part, Publication, Stage, Step, Words, author_slug,
    next_version, numbered_slug, overwrites_another_save,
};
use crate::domain::ids::{ArticleId, MediaId, UserId};
use crate::domain::media::Picture;
use crate::markdown::{self, Placed};
use crate::models::{DeskArticle, FeatureColumns, NewArticle};

/// Which article a save is for.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// A new article, written by this account.
    New { author_id: UserId },
    Existing {
        id: ArticleId,
        /// The version the editor's form was opened at; `None` for a form that does not say
        /// (saved without the check, as before versions existed).
        opened_at: Option<i32>,
    },
}

#[derive(Debug)]
pub enum Saved {
    Done {
        id: ArticleId,
        publication: Publication,
    },
    /// The form goes back with these messages; nothing was written.
    Refused(FieldErrors),
    /// Another save changed the words since the form was opened; nothing was written. The
    /// article as stored now, and the parts in which the form differs from it.
    Stale {
        current: Box<DeskArticle>,
        differences: Vec<Part>,
        /// The address the form asked for (made from the title when left empty).
        slug: String,
    },
    NotFound,
}

pub const SLUG_TAKEN: &str =
    "Another article already has this address. Change the address or the title.";
pub const SLUG_LOCKED: &str =
    "This article has been published, so its address stays as it is (links to it are out there).";
pub const FEATURE_MISSING: &str =
    "This picture is not in the media library (any more): choose another, or none.";

/// What the pictures of a draft give: its body as stored, the library pictures it places,
/// and what keeps it from being stored (or published).
struct Pictured {
    body_html: String,
    placed: Vec<MediaId>,
    body: Option<String>,
    feature: Option<String>,
    feature_alt: Option<String>,
}

/// A library picture as the body places it.
pub fn placed_of(picture: &Picture) -> Placed {
    Placed {
        src: picture.src(),
        srcset: picture.srcset(),
        width: picture.width,
        height: picture.height,
    }
}

/// Holds and looks up the pictures `draft` uses and renders its body with them; `public`
/// when the article will be seen by readers (alt text is then required).
fn with_pictures(conn: &mut PgConnection, draft: &Draft, public: bool) -> QueryResult<Pictured> {
    let ids: Vec<MediaId> = markdown::placed_ids(&draft.body_markdown)
        .into_iter()
        .map(MediaId::new)
        .chain(draft.feature_media_id)
        .collect();
    db::media::hold(conn, &ids)?;
    let pictures = db::media::pictures(conn, &ids)?;
    let mut pictured = Pictured {
        body_html: String::new(),
        placed: Vec::new(),
        body: None,
        feature: None,
        feature_alt: None,
    };
    let mut missing = MissingAlt::default();
    match markdown::render(&draft.body_markdown, |id| {
        pictures.get(&MediaId::new(id)).map(placed_of)
    }) {
        Ok(rendered) => {
            pictured.body_html = rendered.html;
            pictured.placed = rendered.placed.into_iter().map(MediaId::new).collect();
            missing.placed = rendered.without_alt.into_iter().map(MediaId::new).collect();
        }
        Err(refused) => {
            let messages: Vec<String> = refused.iter().map(ToString::to_string).collect();
            pictured.body = Some(messages.join(" "));
        }
    }
    if let Some(id) = draft.feature_media_id {
        match pictures.get(&id) {
            None => pictured.feature = Some(FEATURE_MISSING.to_string()),
            Some(picture) => {
                missing.feature = draft.feature_alt.is_empty() && picture.alt.is_empty();
            }
        }
    }
    let (feature_alt, body) = missing.refusals(public);
    pictured.feature_alt = feature_alt;
    pictured.body = pictured.body.take().or(body);
    Ok(pictured)
}

/// Saves `draft` to `target` and takes `step`, at `now`.
pub fn save(
    conn: &mut PgConnection,
    target: Target,
    draft: &Draft,
    step: Step,
    now: OffsetDateTime,
) -> QueryResult<Saved> {
    conn.transaction(|conn| {
        let current = match target {
            Target::New { .. } => None,
            Target::Existing { id, .. } => match db::articles::lock_for_edit(conn, id)? {
                Some(article) => Some(article),
                None => return Ok(Saved::NotFound),
            },
        };
        let publication = current
            .as_ref()
            .map_or(Publication::DRAFT, DeskArticle::publication);
        let mut errors = FieldErrors::default();

        let slug = match &current {
            Some(article) if publication.slug_locked(now) => {
                if draft
                    .slug
                    .as_ref()
                    .is_some_and(|asked| *asked != article.slug)
                {
                    errors.slug = Some(SLUG_LOCKED.to_string());
                }
                article.slug.clone()
            }
            _ => draft.slug(),
        };
        let sent = Words {
            title: &draft.title,
            slug: &slug,
            byline: &draft.byline,
            teaser: &draft.teaser,
            body_markdown: &draft.body_markdown,
            premium: draft.premium,
            feature_media_id: draft.feature_media_id,
            feature_alt: &draft.feature_alt,
            feature_credit: &draft.feature_credit,
        };
        let differences = current
            .as_ref()
            .map(|article| article.words().differences(&sent));
        if let (Target::Existing { opened_at, .. }, Some(article), Some(differences)) =
            (target, &current, &differences)
            && overwrites_another_save(opened_at, article.version, differences)
        {
            return Ok(Saved::Stale {
                current: Box::new(article.clone()),
                differences: differences.clone(),
                slug,
            });
        }
        let id = current.as_ref().map(|article| article.id);
        if errors.slug.is_none() && db::articles::slug_taken(conn, &slug, id)? {
            errors.slug = Some(SLUG_TAKEN.to_string());
        }
        let next = publication.after(step, now).unwrap_or_else(|refused| {
            errors.publish_at = Some(refused.message().to_string());
            publication
        });
        let pictured = with_pictures(conn, draft, next.published_at.is_some())?;
        errors.body = pictured.body;
        errors.feature = pictured.feature;
        errors.feature_alt = pictured.feature_alt;
        if !errors.is_empty() {
            return Ok(Saved::Refused(errors));
        }

        let text_changed = differences.as_ref().is_none_or(|parts| !parts.is_empty());
        let updated_at = match &current {
            Some(article) if !text_changed => article.updated_at,
            _ => now,
        };
        let version = current
            .as_ref()
            .map_or(1, |article| next_version(article.version, text_changed));
        let byline_slug = author_slug(&draft.byline);
        let times = Times {
            published_at: next.published_at,
            first_published_at: next.first_published_at,
            updated_at,
        };
        let row = row_of(
            draft,
            &slug,
            &byline_slug,
            &pictured.body_html,
            times,
            version,
        );
        let feature = feature_of(draft);
        let id = match target {
            Target::New { author_id } => {
                db::articles::insert(conn, &row, &feature, Some(author_id))?
            }
            Target::Existing { id, .. } => {
                db::articles::update(conn, id, &row, &feature)?;
                id
            }
        };
        db::media::set_article_media(conn, id, &pictured.placed)?;
        Ok(Saved::Done {
            id,
            publication: next,
        })
    })
}

/// An article file to import, already checked.
pub struct Import {
    pub draft: Draft,
    /// When it is (or will be) public.
    pub published_at: OffsetDateTime,
}

/// What importing one file made.
#[derive(Debug)]
pub struct Imported {
    pub id: ArticleId,
    pub path: String,
    pub stage: Stage,
}

/// Most numbered variants tried for a slug that is taken (`title-2`, `title-3`, ...).
const SLUG_VARIANTS: usize = 1_000;

/// Why nothing was imported.
#[derive(Debug)]
pub enum ImportError {
    /// The article at this place in the list may not be stored: its pictures.
    Refused {
        index: usize,
        message: String,
    },
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for ImportError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { index, message } => write!(f, "article {}: {message}", index + 1),
            Self::Database(error) => write!(f, "{error}"),
        }
    }
}

/// Stores every article in one transaction (all or none), published at its own time (a time
/// ahead schedules it). A slug already taken gets the first free number after it. Pictures
/// follow the desk's rules: from the library only, with alt text (each is published).
pub fn import(
    conn: &mut PgConnection,
    articles: &[Import],
    now: OffsetDateTime,
) -> Result<Vec<Imported>, ImportError> {
    conn.transaction(|conn| {
        let mut made = Vec::with_capacity(articles.len());
        for (index, article) in articles.iter().enumerate() {
            let draft = &article.draft;
            let base = draft.slug();
            let mut slug = base.clone();
            for n in 2..=SLUG_VARIANTS {
                if !db::articles::slug_taken(conn, &slug, None)? {
                    break;
                }
                slug = numbered_slug(&base, n);
            }
            let pictured = with_pictures(conn, draft, true)?;
            if let Some(message) = [pictured.body, pictured.feature, pictured.feature_alt]
                .into_iter()
                .flatten()
                .next()
            {
                return Err(ImportError::Refused { index, message });
            }
            let byline_slug = author_slug(&draft.byline);
            let times = Times {
                published_at: Some(article.published_at),
                first_published_at: Some(article.published_at),
                updated_at: now.min(article.published_at),
            };
            let row = row_of(draft, &slug, &byline_slug, &pictured.body_html, times, 1);
            let id = db::articles::insert(conn, &row, &feature_of(draft), None)?;
            db::media::set_article_media(conn, id, &pictured.placed)?;
            made.push(Imported {
                id,
                path: crate::models::article_path(id, &slug),
                stage: Stage::of(Some(article.published_at), now),
            });
        }
        Ok(made)
    })
}

/// When an article stored from a draft was published, first published and last changed.
struct Times {
    published_at: Option<OffsetDateTime>,
    first_published_at: Option<OffsetDateTime>,
    updated_at: OffsetDateTime,
}

/// A draft's feature image as stored.
fn feature_of(draft: &Draft) -> FeatureColumns<'_> {
    FeatureColumns {
        feature_media_id: draft.feature_media_id,
        feature_alt: &draft.feature_alt,
        feature_credit: &draft.feature_credit,
    }
}

/// The row stored for a draft's text at these times, as this version.
fn row_of<'a>(
    draft: &'a Draft,
    slug: &'a str,
    byline_slug: &'a str,
    body_html: &'a str,
    times: Times,
    version: i32,
) -> NewArticle<'a> {
    NewArticle {
        title: &draft.title,
        slug,
        author: &draft.byline,
        author_slug: byline_slug,
        teaser: &draft.teaser,
        body_markdown: &draft.body_markdown,
        body_html,
        is_premium: draft.premium,
        published_at: times.published_at,
        first_published_at: times.first_published_at,
        updated_at: times.updated_at,
        version,
    }
}
