//! Articles as the newsroom writes them: what a valid article is, where it stands
//! (draft, scheduled, published), what each step on the desk does to its publication, the
//! addresses made from its title and byline, and which parts of two versions of its words
//! differ when two saves meet (`diff` shows a text's lines).
//!
//! Rules: an article's stage follows from its publication time and the clock alone (no job
//! runs when a scheduled time comes); once an article has been public its slug never changes,
//! since its address is out in the world; every limit here matches a CHECK in the database, so
//! a form that passes never meets a constraint error; a save never erases words saved since
//! its form was opened (`overwrites_another_save`). The feature image (which library picture,
//! its alt text, its credit) is part of the words. Alt text is required to publish: a draft
//! may place pictures without it, an article readers see (or will see) may not.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::ids::MediaId;
use super::media::clean_alt;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_BYLINE_CHARS: usize = 200;
pub const MAX_TEASER_CHARS: usize = 1_000;
/// About fifteen thousand words: longer than any article, small enough for one form.
pub const MAX_BODY_CHARS: usize = 100_000;
/// Slugs are cut here (at a word), so addresses stay readable.
pub const MAX_SLUG_CHARS: usize = 80;
/// A feature image's credit line: a photographer and an agency, at most.
pub const MAX_CREDIT_CHARS: usize = 300;

/// Where an article stands at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Draft,
    Scheduled(OffsetDateTime),
    Published(OffsetDateTime),
}

impl Stage {
    pub fn of(published_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        match published_at {
            None => Self::Draft,
            Some(at) if at > now => Self::Scheduled(at),
            Some(at) => Self::Published(at),
        }
    }

    pub fn is_public(self) -> bool {
        matches!(self, Self::Published(_))
    }
}

/// An article's publication: when it is (or will be) public, and when it first was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publication {
    pub published_at: Option<OffsetDateTime>,
    /// The first time it became (or, while only scheduled, will become) public.
    pub first_published_at: Option<OffsetDateTime>,
}

/// What a step on the desk asks of the publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Save the text, leave the publication as it is.
    Keep,
    PublishNow,
    Schedule(OffsetDateTime),
    Unpublish,
}

/// Why a step cannot be taken; the message belongs beside the publish time on the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRefused {
    TimeNotInFuture,
    AlreadyPublished,
}

impl StepRefused {
    pub fn message(self) -> &'static str {
        match self {
            Self::TimeNotInFuture => "Choose a time in the future (UTC) to schedule it.",
            Self::AlreadyPublished => {
                "This article is already published. Unpublish it first to schedule it again."
            }
        }
    }
}

impl Publication {
    pub const DRAFT: Self = Self {
        published_at: None,
        first_published_at: None,
    };

    pub fn stage(self, now: OffsetDateTime) -> Stage {
        Stage::of(self.published_at, now)
    }

    /// True once the article has been public: its address must not change any more.
    pub fn slug_locked(self, now: OffsetDateTime) -> bool {
        self.first_published_at.is_some_and(|first| first <= now)
    }

    /// The publication after `step` at `now`.
    pub fn after(self, step: Step, now: OffsetDateTime) -> Result<Self, StepRefused> {
        let has_been_public = self.slug_locked(now);
        // The first publication stays what it was once it has happened; until then it is
        // whatever publication is now planned.
        let first = |at: Option<OffsetDateTime>| {
            if has_been_public {
                self.first_published_at
            } else {
                at
            }
        };
        Ok(match step {
            Step::Keep => self,
            Step::PublishNow => Self {
                published_at: Some(now),
                first_published_at: first(Some(now)),
            },
            Step::Schedule(at) => {
                if self.stage(now).is_public() {
                    return Err(StepRefused::AlreadyPublished);
                }
                if at <= now {
                    return Err(StepRefused::TimeNotInFuture);
                }
                Self {
                    published_at: Some(at),
                    first_published_at: first(Some(at)),
                }
            }
            Step::Unpublish => Self {
                published_at: None,
                first_published_at: first(None),
            },
        })
    }
}

/// A slug made from `text`: lower-case ASCII words joined by hyphens (accents and other
/// scripts transliterated), at most [`MAX_SLUG_CHARS`], or `fallback` when nothing is left.
pub fn slug_from(text: &str, fallback: &str) -> String {
    let mut slug = slug::slugify(text);
    if slug.len() > MAX_SLUG_CHARS {
        // All ASCII, so every index is a character boundary; cut at the last whole word.
        let cut = slug[..=MAX_SLUG_CHARS].rfind('-').unwrap_or(MAX_SLUG_CHARS);
        slug.truncate(cut);
    }
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug
    }
}

/// The `n`th variant of a slug that is taken: `base-n`, still within [`MAX_SLUG_CHARS`].
pub fn numbered_slug(base: &str, n: usize) -> String {
    let suffix = format!("-{n}");
    let room = MAX_SLUG_CHARS.saturating_sub(suffix.len());
    let stem = base
        .get(..room.min(base.len()))
        .unwrap_or(base)
        .trim_end_matches('-');
    format!("{stem}{suffix}")
}

/// The address of a byline's page.
pub fn author_slug(byline: &str) -> String {
    slug_from(byline, "author")
}

/// A slug as the database keeps them: lower-case ASCII words joined by single hyphens.
pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_SLUG_CHARS
        && text.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The fields of the article form, as typed (and as the form shows them again).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Fields {
    pub title: String,
    pub slug: String,
    pub byline: String,
    pub teaser: String,
    pub body: String,
    /// A ticked checkbox is sent (with any value); an unticked one is not.
    #[serde(deserialize_with = "ticked")]
    pub premium: bool,
    /// The library picture chosen as the feature image, by id; empty for none.
    pub feature_media_id: String,
    /// Its alt text; empty takes the library's.
    pub feature_alt: String,
    pub feature_credit: String,
}

fn ticked<'de, D: serde::Deserializer<'de>>(sent: D) -> Result<bool, D::Error> {
    <Option<String> as serde::Deserialize>::deserialize(sent).map(|value| value.is_some())
}

/// An article that may be stored: every field within its limits, text tidied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub title: String,
    /// The slug asked for; `None` makes one from the title.
    pub slug: Option<String>,
    pub byline: String,
    pub teaser: String,
    pub body_markdown: String,
    pub premium: bool,
    pub feature_media_id: Option<MediaId>,
    /// Empty: the library's alt text stands for the picture.
    pub feature_alt: String,
    pub feature_credit: String,
}

impl Draft {
    /// The slug to store: the one asked for, or one made from the title.
    pub fn slug(&self) -> String {
        self.slug
            .clone()
            .unwrap_or_else(|| slug_from(&self.title, "article"))
    }
}

/// A part of an article's words, in the order the desk's form shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Title,
    Slug,
    Byline,
    Teaser,
    /// Which library picture is the feature image.
    Feature,
    FeatureAlt,
    FeatureCredit,
    Body,
    Premium,
}

/// An article's words: everything a save writes except its publication. Two saves with the
/// same words store the same article.
#[derive(Clone, Copy, Debug)]
pub struct Words<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    pub byline: &'a str,
    pub teaser: &'a str,
    pub body_markdown: &'a str,
    pub premium: bool,
    pub feature_media_id: Option<MediaId>,
    pub feature_alt: &'a str,
    pub feature_credit: &'a str,
}

impl Words<'_> {
    /// The parts in which `other` says something else, in the form's order.
    pub fn differences(&self, other: &Words<'_>) -> Vec<Part> {
        [
            (Part::Title, self.title == other.title),
            (Part::Slug, self.slug == other.slug),
            (Part::Byline, self.byline == other.byline),
            (Part::Teaser, self.teaser == other.teaser),
            (
                Part::Feature,
                self.feature_media_id == other.feature_media_id,
            ),
            (Part::FeatureAlt, self.feature_alt == other.feature_alt),
            (
                Part::FeatureCredit,
                self.feature_credit == other.feature_credit,
            ),
            (Part::Body, self.body_markdown == other.body_markdown),
            (Part::Premium, self.premium == other.premium),
        ]
        .into_iter()
        .filter_map(|(part, same)| (!same).then_some(part))
        .collect()
    }
}

/// Whether a save would erase another one: the form was opened at version `opened_at`, the
/// stored words are at `stored` since then, and the form sends other words (`differences`
/// from the stored ones). A form that sends the words already stored erases nothing (a double
/// click, a second window with the same text), so it goes through; a form that names no
/// version is saved as it always was.
pub fn overwrites_another_save(opened_at: Option<i32>, stored: i32, differences: &[Part]) -> bool {
    opened_at.is_some_and(|opened_at| opened_at != stored) && !differences.is_empty()
}

/// The version after a save: one more when the words change.
pub fn next_version(stored: i32, words_changed: bool) -> i32 {
    if words_changed {
        stored.saturating_add(1)
    } else {
        stored
    }
}

/// One message per field that is wrong, for the form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub byline: Option<String>,
    pub teaser: Option<String>,
    /// The feature image chosen.
    pub feature: Option<String>,
    pub feature_alt: Option<String>,
    pub feature_credit: Option<String>,
    pub body: Option<String>,
    pub publish_at: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn count(&self) -> usize {
        [
            &self.title,
            &self.slug,
            &self.byline,
            &self.teaser,
            &self.feature,
            &self.feature_alt,
            &self.feature_credit,
            &self.body,
            &self.publish_at,
        ]
        .iter()
        .filter(|e| e.is_some())
        .count()
    }
}

/// One line of text: trimmed, inner runs of white space (line breaks included) made one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn length_error(text: &str, what: &str, most: usize) -> Option<String> {
    let chars = text.chars().count();
    if chars == 0 {
        Some(format!("Enter {what}."))
    } else if chars > most {
        Some(format!(
            "Keep {what} to {most} characters (it has {chars})."
        ))
    } else if text.chars().any(char::is_control) {
        Some(format!("Remove the control characters from {what}."))
    } else {
        None
    }
}

/// Checks the form: the article to store, or a message for each field that is wrong.
pub fn check(fields: &Fields) -> Result<Draft, Box<FieldErrors>> {
    let title = one_line(&fields.title);
    let byline = one_line(&fields.byline);
    let teaser = one_line(&fields.teaser);
    // Browsers send line breaks as CR LF; Markdown wants LF.
    let body = fields.body.replace("\r\n", "\n").trim().to_string();
    let typed_slug = fields.slug.trim();
    let slug = (!typed_slug.is_empty()).then(|| slug_from(typed_slug, ""));
    let mut errors = FieldErrors {
        title: length_error(&title, "a title", MAX_TITLE_CHARS),
        slug: match &slug {
            Some(made) if made.is_empty() => {
                Some("Use letters or digits in the address, or leave it empty.".to_string())
            }
            _ => None,
        },
        byline: length_error(&byline, "a byline", MAX_BYLINE_CHARS),
        teaser: length_error(&teaser, "a teaser", MAX_TEASER_CHARS),
        ..FieldErrors::default()
    };
    let typed_feature = fields.feature_media_id.trim();
    let feature_media_id = if typed_feature.is_empty() {
        None
    } else {
        let id = typed_feature
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| typed_feature.parse::<i64>().ok())
            .flatten()
            .filter(|&id| id > 0);
        if id.is_none() {
            errors.feature = Some("Choose a picture from the list, or none.".to_string());
        }
        id.map(MediaId::new)
    };
    let feature_alt = clean_alt(&fields.feature_alt).unwrap_or_else(|| {
        errors.feature_alt = Some(format!(
            "Keep the alt text to {} characters.",
            super::media::MAX_ALT_CHARS
        ));
        String::new()
    });
    if feature_alt.chars().any(char::is_control) {
        errors.feature_alt = Some("Remove the control characters from the alt text.".to_string());
    }
    let feature_credit = one_line(&fields.feature_credit);
    let credit_chars = feature_credit.chars().count();
    if credit_chars > MAX_CREDIT_CHARS {
        errors.feature_credit = Some(format!(
            "Keep the credit to {MAX_CREDIT_CHARS} characters (it has {credit_chars})."
        ));
    } else if feature_credit.chars().any(char::is_control) {
        errors.feature_credit = Some("Remove the control characters from the credit.".to_string());
    }
    let body_chars = body.chars().count();
    errors.body = if body_chars == 0 {
        Some("Write the article's text.".to_string())
    } else if body_chars > MAX_BODY_CHARS {
        Some(format!(
            "Keep the text to {MAX_BODY_CHARS} characters (it has {body_chars})."
        ))
    } else {
        None
    };
    if !errors.is_empty() {
        return Err(Box::new(errors));
    }
    Ok(Draft {
        title,
        slug,
        byline,
        teaser,
        body_markdown: body,
        premium: fields.premium,
        feature_media_id,
        feature_alt,
        feature_credit,
    })
}

/// Why pictures keep an article from being published (or scheduled): each picture readers
/// would see needs alt text, for those who cannot see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MissingAlt {
    /// The feature image has none, neither the article's nor the library's.
    pub feature: bool,
    /// Pictures the body places (`media:<id>`) with none.
    pub placed: Vec<MediaId>,
}

impl MissingAlt {
    /// The messages for the form when the article would be public: (feature image, body).
    /// A draft may save without alt text, so nothing is said until it is published.
    pub fn refusals(&self, public: bool) -> (Option<String>, Option<String>) {
        if !public {
            return (None, None);
        }
        let feature = self.feature.then(|| {
            "Give the feature image alt text before publishing: the library has none for it."
                .to_string()
        });
        let placed = (!self.placed.is_empty()).then(|| {
            let names: Vec<String> = self.placed.iter().map(|id| format!("media:{id}")).collect();
            format!(
                "Give every picture alt text before publishing, as in ![what it shows](media:ID): {} {} none.",
                names.join(", "),
                if names.len() == 1 { "has" } else { "have" }
            )
        });
        (feature, placed)
    }
}

const MINUTES: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]");
const SECONDS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// A publish time as a `datetime-local` field sends it (`2026-12-05T09:30`), read as UTC;
/// `None` when empty.
pub fn parse_publish_at(raw: &str) -> Result<Option<OffsetDateTime>, &'static str> {
    let raw = raw.trim().replace(' ', "T");
    if raw.is_empty() {
        return Ok(None);
    }
    PrimitiveDateTime::parse(&raw, MINUTES)
        .or_else(|_| PrimitiveDateTime::parse(&raw, SECONDS))
        .map(|at| Some(at.assume_utc()))
        .map_err(|_| "Enter a date and time like 2026-12-05 09:30 (UTC).")
}

/// A publish time as a `datetime-local` field shows it.
pub fn publish_at_field(at: OffsetDateTime) -> String {
    at.format(MINUTES).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(title: &'static str, body_markdown: &'static str) -> Words<'static> {
        Words {
            title,
            slug: "a-title",
            byline: "Ada",
            teaser: "Teaser.",
            body_markdown,
            premium: true,
            feature_media_id: None,
            feature_alt: "",
            feature_credit: "",
        }
    }

    #[test]
    fn words_differ_part_by_part_in_the_forms_order() {
        let stored = words("A title", "Body.");
        assert_eq!(stored.differences(&stored), Vec::<Part>::new());
        let sent = Words {
            premium: false,
            ..words("Another title", "Another body.")
        };
        assert_eq!(
            stored.differences(&sent),
            vec![Part::Title, Part::Body, Part::Premium]
        );
    }

    #[test]
    fn only_a_save_from_an_older_version_that_sends_other_words_is_refused() {
        let changed = [Part::Body];
        assert!(overwrites_another_save(Some(3), 4, &changed));
        assert!(!overwrites_another_save(Some(4), 4, &changed), "up to date");
        assert!(!overwrites_another_save(Some(3), 4, &[]), "erases nothing");
        assert!(
            !overwrites_another_save(None, 4, &changed),
            "no version named"
        );
        assert!(
            overwrites_another_save(Some(9), 4, &changed),
            "a version never stored"
        );
    }

    #[test]
    fn the_version_moves_only_when_the_words_change() {
        assert_eq!(next_version(1, true), 2);
        assert_eq!(next_version(7, false), 7);
        assert_eq!(next_version(i32::MAX, true), i32::MAX);
    }
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn fields() -> Fields {
        Fields {
            title: "  The Night  Trains\n".to_string(),
            slug: String::new(),
            byline: "Maren Holt".to_string(),
            teaser: "Why\r\nthey came back.".to_string(),
            body: "First.\r\n\r\nSecond.\r\n".to_string(),
            premium: true,
            ..Fields::default()
        }
    }

    #[test]
    fn the_stage_follows_from_the_time_and_the_clock() {
        assert_eq!(Stage::of(None, NOW), Stage::Draft);
        let later = NOW + Duration::hours(1);
        assert_eq!(Stage::of(Some(later), NOW), Stage::Scheduled(later));
        assert_eq!(Stage::of(Some(later), later), Stage::Published(later));
        assert!(!Stage::of(Some(later), NOW).is_public());
    }

    #[test]
    fn a_valid_form_is_tidied() {
        let draft = check(&fields()).unwrap();
        assert_eq!(draft.title, "The Night Trains");
        assert_eq!(draft.teaser, "Why they came back.");
        assert_eq!(draft.body_markdown, "First.\n\nSecond.");
        assert_eq!(draft.slug(), "the-night-trains");
    }

    #[test]
    fn every_wrong_field_gets_its_own_message() {
        let errors = check(&Fields {
            title: " ".to_string(),
            slug: "!!!".to_string(),
            byline: "x".repeat(MAX_BYLINE_CHARS + 1),
            teaser: String::new(),
            body: "x".repeat(MAX_BODY_CHARS + 1),
            premium: false,
            ..Fields::default()
        })
        .unwrap_err();
        assert_eq!(errors.count(), 5);
        assert!(errors.title.unwrap().contains("title"));
        assert!(errors.byline.unwrap().contains("200"));
        assert!(errors.publish_at.is_none());
    }

    #[test]
    fn the_feature_image_is_an_id_with_tidied_alt_text_and_credit() {
        let draft = check(&Fields {
            feature_media_id: " 12 ".to_string(),
            feature_alt: "  A harbour\n at dawn ".to_string(),
            feature_credit: "Photo:\r\n Ada ".to_string(),
            ..fields()
        })
        .unwrap();
        assert_eq!(draft.feature_media_id, Some(MediaId::new(12)));
        assert_eq!(draft.feature_alt, "A harbour at dawn");
        assert_eq!(draft.feature_credit, "Photo: Ada");
        assert_eq!(check(&fields()).unwrap().feature_media_id, None);

        for bad in ["x", "-3", "0", "1.5", "99999999999999999999"] {
            let errors = check(&Fields {
                feature_media_id: bad.to_string(),
                ..fields()
            })
            .unwrap_err();
            assert!(errors.feature.is_some(), "{bad}");
        }
        let errors = check(&Fields {
            feature_alt: "a".repeat(501),
            feature_credit: "c".repeat(MAX_CREDIT_CHARS + 1),
            ..fields()
        })
        .unwrap_err();
        assert_eq!(errors.count(), 2);
    }

    #[test]
    fn missing_alt_text_is_said_only_when_the_article_would_be_public() {
        let missing = MissingAlt {
            feature: true,
            placed: vec![MediaId::new(3), MediaId::new(9)],
        };
        assert_eq!(missing.refusals(false), (None, None));
        let (feature, placed) = missing.refusals(true);
        assert!(feature.unwrap().contains("feature image"));
        let placed = placed.unwrap();
        assert!(placed.contains("media:3, media:9 have none"), "{placed}");
        assert_eq!(MissingAlt::default().refusals(true), (None, None));
    }

    #[test]
    fn a_typed_slug_is_made_into_a_slug() {
        let draft = check(&Fields {
            slug: " Trains, Again! ".to_string(),
            ..fields()
        })
        .unwrap();
        assert_eq!(draft.slug(), "trains-again");
    }

    #[test]
    fn slugs_are_ascii_words_cut_at_a_word() {
        assert_eq!(slug_from("Lucía Ferrer", "x"), "lucia-ferrer");
        assert_eq!(
            slug_from("Four Days, Same Work: Inside", "x"),
            "four-days-same-work-inside"
        );
        assert_eq!(slug_from("!!!", "article"), "article");
        let long = slug_from(&"word ".repeat(40), "x");
        assert!(
            long.len() <= MAX_SLUG_CHARS && !long.ends_with('-'),
            "{long}"
        );
        assert!(is_slug(&long));
        assert_eq!(numbered_slug("night-trains", 2), "night-trains-2");
        let numbered = numbered_slug(&long, 1000);
        assert!(
            is_slug(&numbered) && numbered.ends_with("-1000"),
            "{numbered}"
        );
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "é"] {
            assert!(!is_slug(bad), "{bad:?}");
        }
    }

    #[test]
    fn publishing_now_records_the_first_publication_once() {
        let published = Publication::DRAFT.after(Step::PublishNow, NOW).unwrap();
        assert_eq!(published.published_at, Some(NOW));
        assert_eq!(published.first_published_at, Some(NOW));
        let later = NOW + Duration::days(1);
        let unpublished = published.after(Step::Unpublish, later).unwrap();
        assert_eq!(unpublished.published_at, None);
        assert_eq!(unpublished.first_published_at, Some(NOW), "it was public");
        assert!(unpublished.slug_locked(later));
        let again = unpublished.after(Step::PublishNow, later).unwrap();
        assert_eq!(again.first_published_at, Some(NOW));
    }

    #[test]
    fn a_schedule_not_yet_reached_can_be_moved_or_dropped_without_locking_the_slug() {
        let at = NOW + Duration::hours(2);
        let scheduled = Publication::DRAFT.after(Step::Schedule(at), NOW).unwrap();
        assert_eq!(scheduled.stage(NOW), Stage::Scheduled(at));
        assert!(!scheduled.slug_locked(NOW));
        let moved = scheduled
            .after(Step::Schedule(at + Duration::hours(1)), NOW)
            .unwrap();
        assert_eq!(moved.first_published_at, Some(at + Duration::hours(1)));
        assert_eq!(
            moved.after(Step::Unpublish, NOW).unwrap(),
            Publication::DRAFT
        );
        // Its time came: it has been public.
        assert!(scheduled.slug_locked(at));
    }

    #[test]
    fn scheduling_needs_a_future_time_and_an_unpublished_article() {
        assert_eq!(
            Publication::DRAFT.after(Step::Schedule(NOW), NOW),
            Err(StepRefused::TimeNotInFuture)
        );
        let published = Publication::DRAFT.after(Step::PublishNow, NOW).unwrap();
        assert_eq!(
            published.after(Step::Schedule(NOW + Duration::hours(1)), NOW),
            Err(StepRefused::AlreadyPublished)
        );
    }

    #[test]
    fn publish_times_are_read_as_utc() {
        assert_eq!(
            parse_publish_at("2026-12-05T09:30"),
            Ok(Some(datetime!(2026-12-05 09:30 UTC)))
        );
        assert_eq!(
            parse_publish_at("2026-12-05 09:30:15"),
            Ok(Some(datetime!(2026-12-05 09:30:15 UTC)))
        );
        assert_eq!(parse_publish_at("  "), Ok(None));
        assert!(parse_publish_at("tomorrow").is_err());
        assert_eq!(
            publish_at_field(datetime!(2026-12-05 09:30 UTC)),
            "2026-12-05T09:30"
        );
    }
}
