//! The newsroom's desk, under `/editor`: the list of articles, the form to write and edit one,
//! its preview (as a subscriber and as the paywall), and the people page where admins grant
//! and remove the editor role.
//!
//! Rules: every handler takes [`Editor`] (or [`Admin`]), so each request is checked against
//! the role stored now (403 for readers, a log-in for visitors); forms are read through
//! `CsrfForm` first. A form that does not pass comes back with each message beside its field
//! (422) and nothing saved. Saving is `desk::save`, one transaction. The form carries the
//! version of the words it was opened at (`version`); a save that would erase words saved
//! since comes back as a 409 with everything typed, what differs from the stored words and
//! those words, built on the stored version from then on (so saving again is a choice made
//! having seen them). The form offers the library's newest pictures (and the one already
//! chosen) as the feature image. These pages are kept out of search engines.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;

use super::articles::{article_page, parse_id, paywall_page};
use super::auth::see_other;
use super::home::PAGE_SIZE;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::{Admin, Editor};
use crate::db;
use crate::desk::{self, SLUG_TAKEN, Saved, Target};
use crate::domain::article::{self, FieldErrors, Stage, Step, Words, parse_publish_at};
use crate::domain::email;
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::models::{DeskArticle, DeskEntry, Feature};
use crate::newsletter::sending::{Audience, Newsletter, Started, TestError};
use crate::state::AppState;
use crate::views::{
    ArticleForm, ArticleFormPage, Conflict, DeskPage, DeskRow, FeatureChoice, FeaturePreview,
    NewsletterPage, NewsletterPanel, Pager, PeoplePage, PersonView, PreviewBar, article_html,
    date_and_time, meter_note, render, stage_label,
};

/// The largest article form accepted: a body at the longest allowed, written in any script,
/// percent-encoded.
pub const ARTICLE_FORM_LIMIT: usize = 2 * 1024 * 1024;
/// Drafts and scheduled articles the desk lists (each newest first).
const DESK_MOST: i64 = 200;
/// Accounts with a role the people page lists.
const STAFF_MOST: i64 = 500;

#[derive(Deserialize)]
pub struct DeskQuery {
    page: Option<String>,
}

pub async fn desk(
    query: web::Query<DeskQuery>,
    state: web::Data<AppState>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let page = match query.page.as_deref() {
        None => 1,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or(AppError::NotFound)?,
    };
    let now = state.clock.now();
    let (drafts, scheduled, mut published) =
        db::run(&state.pool, "loading the desk", move |conn| {
            Ok((
                db::articles::list_drafts(conn, DESK_MOST)?,
                db::articles::list_scheduled(conn, now, DESK_MOST)?,
                db::articles::list_published_for_desk(
                    conn,
                    now,
                    (page - 1) * PAGE_SIZE,
                    PAGE_SIZE + 1,
                )?,
            ))
        })
        .await?;
    let has_older = published.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    published.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let rows = |entries: &[DeskEntry]| entries.iter().map(|e| DeskRow::of(e, now)).collect();
    let page_view = DeskPage {
        layout: visit.layout("The desk")?.unindexed(),
        drafts: rows(&drafts),
        scheduled: rows(&scheduled),
        published: rows(&published),
        pager: Pager {
            newer: (page > 1).then(|| format!("/editor?page={}", page - 1)),
            older: has_older.then(|| format!("/editor?page={}", page + 1)),
        },
        admin: editor.role.administers(),
    };
    Ok(render(StatusCode::OK, &page_view)?)
}

pub async fn new_form(
    state: web::Data<AppState>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    form_page(
        &state,
        &visit,
        ArticleForm::new_article(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn edit_form(
    path: web::Path<String>,
    state: web::Data<AppState>,
    newsletter: web::Data<Newsletter>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let article = load(&state, &path).await?;
    let now = state.clock.now();
    let form = with_library(&state, ArticleForm::of(&article, now)).await?;
    let sent = newsletter.status(article.id).await?;
    let page = ArticleFormPage {
        layout: visit.layout("Edit the article")?.unindexed(),
        form,
        conflict: None,
        newsletter: Some(NewsletterPanel {
            article_id: article.id,
            published: matches!(article.publication().stage(now), Stage::Published(_)),
            started: sent.map(|(send, _)| date_and_time(send.started_at)),
        }),
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// The article form as sent.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ArticleInput {
    #[serde(flatten)]
    fields: article::Fields,
    publish_at: String,
    /// Which button was pressed; anything else is a 400.
    action: Option<Action>,
    /// The version of the words the form was opened at; empty or absent: not checked.
    version: String,
    /// With "Publish and e-mail": `all` (the default) or `subscribers`.
    newsletter_audience: String,
}

/// The buttons of the article form.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Action {
    Save,
    Preview,
    Publish,
    /// Publish now, then e-mail it to the list (`newsletter_audience`).
    #[serde(rename = "publish_email")]
    PublishEmail,
    Schedule,
    Unpublish,
}

pub async fn create(
    state: web::Data<AppState>,
    newsletter: web::Data<Newsletter>,
    CsrfForm(input): CsrfForm<ArticleInput>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let target = Target::New {
        author_id: editor.user_id,
    };
    let by = (editor.user_id, newsletter.get_ref());
    save(&state, &visit, target, None, input, by).await
}

pub async fn update(
    path: web::Path<String>,
    state: web::Data<AppState>,
    newsletter: web::Data<Newsletter>,
    CsrfForm(input): CsrfForm<ArticleInput>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let current = load(&state, &path).await?;
    let target = Target::Existing {
        id: current.id,
        opened_at: opened_at(&input.version)?,
    };
    let by = (editor.user_id, newsletter.get_ref());
    save(&state, &visit, target, Some(current), input, by).await
}

/// The audience field of the newsletter's forms: `all` (or nothing) or `subscribers`.
fn audience_of(field: &str) -> Result<Audience, AppError> {
    if field.is_empty() {
        return Ok(Audience::All);
    }
    Audience::parse(field)
        .ok_or_else(|| AppError::BadRequest("the audience is `all` or `subscribers`".into()))
}

/// The form that e-mails a published article.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SendInput {
    audience: String,
}

/// E-mails a published article to the list, once: every later click (another tab, another
/// editor) finds it sent and shows how the send stands.
pub async fn send_newsletter(
    path: web::Path<String>,
    state: web::Data<AppState>,
    newsletter: web::Data<Newsletter>,
    CsrfForm(input): CsrfForm<SendInput>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    let audience = audience_of(&input.audience)?;
    let started = newsletter
        .start(id, audience, editor.user_id, state.clock.now())
        .await?;
    let message = match started {
        Started::Queued { counts, .. } => format!(
            "E-mailing it to {} reader(s){}.",
            counts.queued,
            if counts.suppressed > 0 {
                format!(" ({} skipped as suppressed)", counts.suppressed)
            } else {
                String::new()
            }
        ),
        Started::AlreadySent { .. } => {
            "This article was already e-mailed: it goes out once.".to_string()
        }
        Started::NotPublished => {
            visit
                .session
                .set_flash("Publish the article first: only a published article is e-mailed.")?;
            return Ok(see_other(&format!("/editor/articles/{id}")));
        }
        Started::Unknown => return Err(AppError::NotFound),
    };
    visit.session.set_flash(&message)?;
    Ok(see_other(&format!("/editor/articles/{id}/newsletter")))
}

/// Sends the editor both letters of an article, to their own address.
pub async fn test_newsletter(
    path: web::Path<String>,
    newsletter: web::Data<Newsletter>,
    CsrfForm(_input): CsrfForm<SendInput>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    let message = match newsletter
        .send_test(id, editor.user_id, &editor.email)
        .await
    {
        Ok(()) => format!(
            "Two test letters are on their way to {}: as a subscriber and as a free reader get it.",
            editor.email
        ),
        Err(TestError::Unknown) => return Err(AppError::NotFound),
        Err(TestError::Database(error)) => return Err(error.into()),
        Err(TestError::NotSent(reason)) => {
            tracing::warn!(
                article_id = id.get(),
                "a test newsletter was not sent: {reason}"
            );
            "The test letters could not be sent just now (the mail server did not take them). \
             Try again in a moment."
                .to_string()
        }
    };
    visit.session.set_flash(&message)?;
    Ok(see_other(&format!("/editor/articles/{id}")))
}

/// How the send of an article stands.
pub async fn newsletter_progress(
    path: web::Path<String>,
    state: web::Data<AppState>,
    newsletter: web::Data<Newsletter>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let article = load(&state, &path).await?;
    let (send, counts) = newsletter
        .status(article.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = NewsletterPage {
        layout: visit.layout("Sending the newsletter")?.unindexed(),
        article_id: article.id,
        title: article.title.clone(),
        audience: if send.audience == "subscribers" {
            "the subscribers"
        } else {
            "everyone on the list"
        },
        started: date_and_time(send.started_at),
        audience_size: counts.audience(),
        queued: counts.waiting(),
        sent: counts.sent,
        failed: counts.failed,
        suppressed: counts.suppressed,
        uncertain: counts.uncertain,
        going: counts.waiting() > 0,
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// The `version` field: none when empty, a 400 when it is not a version number.
fn opened_at(field: &str) -> Result<Option<i32>, AppError> {
    if field.is_empty() {
        return Ok(None);
    }
    field
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| field.parse::<i32>().ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| AppError::BadRequest("the article form's version is not a number".into()))
}

async fn save(
    state: &AppState,
    visit: &Visit,
    target: Target,
    current: Option<DeskArticle>,
    input: ArticleInput,
    (editor, newsletter): (UserId, &Newsletter),
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let Some(action) = input.action else {
        return Err(AppError::BadRequest(
            "unknown action on the article form".to_string(),
        ));
    };
    let (draft, mut errors) = match article::check(&input.fields) {
        Ok(draft) => (Some(draft), FieldErrors::default()),
        Err(errors) => (None, *errors),
    };
    let publish_at = parse_publish_at(&input.publish_at).unwrap_or_else(|message| {
        errors.publish_at = Some(message.to_string());
        None
    });
    let step = match action {
        Action::Save | Action::Preview => Step::Keep,
        Action::Publish | Action::PublishEmail => Step::PublishNow,
        Action::Unpublish => Step::Unpublish,
        Action::Schedule => match publish_at {
            Some(at) => Step::Schedule(at),
            None => {
                errors.publish_at.get_or_insert_with(|| {
                    "Choose when to publish it (UTC) to schedule it.".to_string()
                });
                Step::Keep
            }
        },
    };
    // A form sent back keeps the version it was opened at, so correcting it does not hide a
    // save made meanwhile.
    let opened_at = match target {
        Target::Existing { opened_at, .. } => opened_at,
        Target::New { .. } => None,
    };
    let refused_form = |errors: FieldErrors| {
        let mut form = as_typed(current.as_ref(), &input, now);
        form.version = opened_at.or(form.version);
        form.errors = errors;
        form
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let audience = audience_of(&input.newsletter_audience)?;
    let Some(draft) = draft.filter(|_| errors.is_empty()) else {
        return form_page(state, visit, refused_form(errors), None, unprocessable).await;
    };

    let sent = draft.clone();
    let saved = db::run(&state.pool, "saving an article", move |conn| {
        desk::save(conn, target, &draft, step, now)
    })
    .await;
    let (id, publication) = match saved {
        Ok(Saved::Done { id, publication }) => (id, publication),
        Ok(Saved::Refused(errors)) => {
            return form_page(state, visit, refused_form(errors), None, unprocessable).await;
        }
        Ok(Saved::Stale {
            current,
            differences,
            slug,
        }) => {
            tracing::info!(
                article_id = current.id.get(),
                opened_at,
                stored = current.version,
                "a save from an older version was refused"
            );
            let words = Words {
                title: &sent.title,
                slug: &slug,
                byline: &sent.byline,
                teaser: &sent.teaser,
                body_markdown: &sent.body_markdown,
                premium: sent.premium,
                feature_media_id: sent.feature_media_id,
                feature_alt: &sent.feature_alt,
                feature_credit: &sent.feature_credit,
            };
            let conflict = Conflict::between(&current, &words, &differences);
            // Built on the stored version: saving again is a choice made having seen it.
            let form = as_typed(Some(&current), &input, now);
            return form_page(state, visit, form, Some(conflict), StatusCode::CONFLICT).await;
        }
        Ok(Saved::NotFound) => return Err(AppError::NotFound),
        // Another save took the slug between the check and the write.
        Err(error) if error.is_unique_violation() => {
            let errors = FieldErrors {
                slug: Some(SLUG_TAKEN.to_string()),
                ..FieldErrors::default()
            };
            return form_page(state, visit, refused_form(errors), None, unprocessable).await;
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(article_id = id.get(), ?action, "article saved");
    let message = match (step, publication.stage(now)) {
        (Step::PublishNow, _) => "Published: readers see it now.".to_string(),
        (Step::Unpublish, _) => {
            "Unpublished: it is a draft again, and readers no longer see it.".to_string()
        }
        (_, Stage::Scheduled(at)) => format!(
            "Scheduled for {}: it appears by itself then, and nowhere before.",
            date_and_time(at)
        ),
        (_, Stage::Published(_)) => "Changes saved: readers see them now.".to_string(),
        (_, Stage::Draft) => "Draft saved.".to_string(),
    };
    if action == Action::PublishEmail {
        let started = newsletter.start(id, audience, editor, now).await?;
        let message = match started {
            Started::Queued { counts, .. } => {
                format!("{message} E-mailing it to {} reader(s).", counts.queued)
            }
            _ => format!("{message} It was already e-mailed: it goes out once."),
        };
        visit.session.set_flash(&message)?;
        return Ok(see_other(&format!("/editor/articles/{id}/newsletter")));
    }
    visit.session.set_flash(&message)?;
    if action == Action::Preview {
        Ok(see_other(&format!("/editor/articles/{id}/preview")))
    } else {
        Ok(see_other(&format!("/editor/articles/{id}")))
    }
}

pub async fn preview(
    path: web::Path<String>,
    state: web::Data<AppState>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (article, feature) = load_with_feature(&state, &path).await?;
    let now = state.clock.now();
    let bar = preview_bar(&article, "subscriber", now);
    let layout = visit.layout(&article.title)?.unindexed();
    let published = article.as_published(now, feature);
    let html = article_html(&published, &layout.site_url)?;
    let page = article_page(layout, &published, &html, Some(bar));
    Ok(render(StatusCode::OK, &page)?)
}

/// The paywall a reader whose free articles are used up meets in front of a premium article.
pub async fn preview_paywall(
    path: web::Path<String>,
    state: web::Data<AppState>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (article, feature) = load_with_feature(&state, &path).await?;
    let now = state.clock.now();
    let layout = visit.layout(&article.title)?.unindexed();
    let published = article.as_published(now, feature);
    let html = article_html(&published, &layout.site_url)?;
    if !article.is_premium {
        // Free articles never meet a paywall: the preview says so and shows the article.
        let bar = preview_bar(&article, "free", now);
        let page = article_page(layout, &published, &html, Some(bar));
        return Ok(render(StatusCode::OK, &page)?);
    }
    let allowance = visit.allowance();
    let headline = if allowance == 0 {
        "This article is for subscribers".to_string()
    } else {
        meter_note(0, allowance)
    };
    let bar = preview_bar(&article, "paywall", now);
    let page = paywall_page(layout, &published, &html, false, headline, Some(bar));
    Ok(render(StatusCode::OK, &page)?)
}

fn preview_bar(
    article: &DeskArticle,
    showing: &'static str,
    now: time::OffsetDateTime,
) -> PreviewBar {
    PreviewBar {
        article_id: article.id,
        showing,
        stage: stage_label(article.publication().stage(now)),
    }
}

async fn load(state: &AppState, id: &str) -> Result<DeskArticle, AppError> {
    let id = parse_id(id).ok_or(AppError::NotFound)?;
    db::run(
        &state.pool,
        "loading an article for the desk",
        move |conn| db::articles::find_for_desk(conn, id),
    )
    .await?
    .ok_or(AppError::NotFound)
}

/// An article for the desk's previews, with its feature image.
async fn load_with_feature(
    state: &AppState,
    id: &str,
) -> Result<(DeskArticle, Option<Feature>), AppError> {
    let id = parse_id(id).ok_or(AppError::NotFound)?;
    db::run(&state.pool, "loading an article to preview", move |conn| {
        let Some(article) = db::articles::find_for_desk(conn, id)? else {
            return Ok(None);
        };
        let feature = db::articles::feature_of(conn, &article)?;
        Ok(Some((article, feature)))
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// The article form showing what was typed, around the article as stored (its stage, its
/// address when that can no longer change, its version).
fn as_typed(
    current: Option<&DeskArticle>,
    input: &ArticleInput,
    now: OffsetDateTime,
) -> ArticleForm {
    let mut form = match current {
        Some(article) => ArticleForm::of(article, now),
        None => ArticleForm::new_article(),
    };
    // A published article's address stays as stored, whatever the form sent.
    let stored_slug = std::mem::take(&mut form.fields.slug);
    form.fields = input.fields.clone();
    if form.slug_locked {
        form.fields.slug = stored_slug;
    }
    form.publish_at = input.publish_at.clone();
    form
}

/// Pictures the form offers as the feature image (the newest of the library).
const FEATURE_CHOICES: i64 = 100;
/// The width of the chosen feature image's preview on the form.
const PREVIEW_WIDTH: u32 = 480;

/// The form with the library's pictures to choose its feature image from: the newest, and
/// the one it names (however old), shown small.
async fn with_library(state: &AppState, mut form: ArticleForm) -> Result<ArticleForm, AppError> {
    let chosen = form.feature_id();
    let (newest, older, pictures) = db::run(
        &state.pool,
        "listing pictures for the article form",
        move |conn| {
            let newest = db::media::newest(conn, FEATURE_CHOICES)?;
            let older = match chosen {
                Some(id) if !newest.iter().any(|row| row.id == id) => db::media::find(conn, id)?,
                _ => None,
            };
            let pictures = db::media::pictures(conn, &Vec::from_iter(chosen))?;
            Ok((newest, older, pictures))
        },
    )
    .await?;
    form.feature_choices = older
        .iter()
        .chain(&newest)
        .map(|row| FeatureChoice::of(row.id, &row.original_name, &row.alt))
        .collect();
    let typed_alt = form.fields.feature_alt.trim().to_string();
    form.feature_preview = chosen.and_then(|id| pictures.get(&id)).and_then(|picture| {
        let variant = picture.variant_for(PREVIEW_WIDTH)?;
        Some(FeaturePreview {
            src: picture.path_of(variant),
            width: variant.width,
            height: variant.height,
            alt: if typed_alt.is_empty() {
                picture.alt.clone()
            } else {
                typed_alt
            },
        })
    });
    Ok(form)
}

async fn form_page(
    state: &AppState,
    visit: &Visit,
    form: ArticleForm,
    conflict: Option<Conflict>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let form = with_library(state, form).await?;
    let title = if form.id.is_some() {
        "Edit the article"
    } else {
        "Write an article"
    };
    let page = ArticleFormPage {
        layout: visit.layout(title)?.unindexed(),
        form,
        conflict,
        newsletter: None,
    };
    Ok(render(status, &page)?)
}

pub async fn people(
    state: web::Data<AppState>,
    _admin: Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    people_page(&state, &visit, String::new(), None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleInput {
    email: String,
    role: String,
}

/// Makes an account an editor, or a reader again. Admins are the operator's to change.
pub async fn set_role(
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<RoleInput>,
    Admin(admin): Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let role = match Role::parse(&input.role) {
        Some(role) if role != Role::Admin => role,
        _ => {
            return Err(AppError::BadRequest(
                "unknown role on the people form".to_string(),
            ));
        }
    };
    let address = email::normalise(&input.email);
    let lookup = address.clone();
    let changed = db::run(&state.pool, "changing an account's role", move |conn| {
        let Some(person) = db::users::find_person(conn, &lookup)? else {
            return Ok(Err(
                "No account has this e-mail. They sign up first, then you make them an editor.",
            ));
        };
        if !Role::may_be_changed_in_browser(person.role, role)
            || !db::users::set_role_unless_admin(conn, person.id, role)?
        {
            return Ok(Err(
                "This account is an admin; admins are changed on the command line.",
            ));
        }
        Ok(Ok(person.id))
    })
    .await?;
    match changed {
        Ok(user_id) => {
            tracing::info!(
                user_id = user_id.get(),
                role = %role,
                by = admin.user_id.get(),
                "role changed"
            );
            let message = match role {
                Role::Editor => format!("{address} is now an editor."),
                _ => format!("{address} is no longer an editor."),
            };
            visit.session.set_flash(&message)?;
            Ok(see_other("/editor/people"))
        }
        Err(message) => {
            people_page(
                &state,
                &visit,
                input.email.trim().to_string(),
                Some(message.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn people_page(
    state: &AppState,
    visit: &Visit,
    email: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let staff = db::run(&state.pool, "listing the editors", |conn| {
        db::users::list_staff(conn, STAFF_MOST)
    })
    .await?;
    let page = PeoplePage {
        layout: visit.layout("Editors")?.unindexed(),
        staff: staff.iter().map(PersonView::from).collect(),
        email,
        error,
    };
    Ok(render(status, &page)?)
}
