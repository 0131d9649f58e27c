//! The newsletter's mail: an article as a message, in an HTML part that mail clients show well
//! (a 600-pixel table column, every style inline) and a plain-text part, with the headers of a
//! list (`List-Unsubscribe` with its one-click `List-Unsubscribe-Post`, `List-Id`,
//! `Precedence: bulk`).
//!
//! Rules:
//! - A letter is rendered once per version of an article, with [`UNSUBSCRIBE_LINK`] and
//!   [`PREFERENCES_LINK`] standing for the reader's own links ([`Letter::for_reader`]), so ten
//!   thousand readers cost ten thousand replacements, not renderings.
//! - The free version is made without the article's body: the template has no body to show
//!   ([`Body::Opening`]), so no premium word can reach a free reader's mail.
//! - A whole article longer than [`LONGEST_HTML`] (or [`LONGEST_TEXT`] in plain text) is cut
//!   at a block's end with a link to read on, so the message stays under 100 KB and Gmail does
//!   not clip it (and hide the unsubscribe link at its foot).
//! - No tracking: no pixel, no rewritten links; every link leads to the site itself.
//! - The feature image is in both versions' HTML (it is the opening's, as on the paywall), at
//!   the column's width with its address absolute; the plain-text part has no picture.

use askama::Template;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

/// Stands for the reader's unsubscribe address until [`Letter::for_reader`].
pub const UNSUBSCRIBE_LINK: &str = "GAZETTE-UNSUBSCRIBE-LINK";
/// Stands for the reader's preferences address until [`Letter::for_reader`].
pub const PREFERENCES_LINK: &str = "GAZETTE-PREFERENCES-LINK";
/// The most of an article's HTML a message carries.
pub const LONGEST_HTML: usize = 48_000;
/// The most of an article's Markdown the plain-text part carries.
pub const LONGEST_TEXT: usize = 24_000;

/// What a version shows of the article.
pub enum Body<'a> {
    /// The article (sanitised HTML and its Markdown), cut if long.
    Whole { html: &'a str, markdown: &'a str },
    /// Title and teaser only, with an invitation to subscribe.
    Opening,
}

/// A picture as a letter shows it: from the site, at the letter's column width.
pub struct MailPicture<'a> {
    /// Absolute: the reader's mail program is not on the site.
    pub src: &'a str,
    /// As shown: [`COLUMN_WIDTH`] at most, and the height that keeps its proportions.
    pub width: u32,
    pub height: u32,
    pub alt: &'a str,
    pub credit: &'a str,
}

/// The width of the letter's text column, in pixels: 600 less the padding.
pub const COLUMN_WIDTH: u32 = 536;

/// The article as the templates take it.
pub struct Article<'a> {
    pub site_name: &'a str,
    pub title: &'a str,
    pub author: &'a str,
    pub teaser: &'a str,
    /// The article's address on the site.
    pub url: &'a str,
    /// Where a free reader subscribes.
    pub subscribe_url: &'a str,
    /// The feature image, if it has one.
    pub picture: Option<MailPicture<'a>>,
    pub body: Body<'a>,
}

#[derive(Template)]
#[template(path = "mail/newsletter.html")]
struct HtmlPart<'a> {
    site_name: &'a str,
    title: &'a str,
    author: &'a str,
    teaser: &'a str,
    url: &'a str,
    subscribe_url: &'a str,
    picture: Option<&'a MailPicture<'a>>,
    body: Option<String>,
    cut: bool,
    unsubscribe: &'a str,
    preferences: &'a str,
}

#[derive(Template)]
#[template(path = "mail/newsletter.txt")]
struct TextPart<'a> {
    site_name: &'a str,
    title: &'a str,
    author: &'a str,
    teaser: &'a str,
    url: &'a str,
    subscribe_url: &'a str,
    body: Option<&'a str>,
    cut: bool,
    unsubscribe: &'a str,
    preferences: &'a str,
}

/// One version of an article's mail, with the reader's links still to fill in.
#[derive(Clone, Debug)]
pub struct Letter {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A letter made out to one reader.
#[derive(Clone, Debug)]
pub struct Addressed {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// `List-Unsubscribe`'s address.
    pub unsubscribe_url: String,
}

impl Letter {
    pub fn render(article: &Article<'_>) -> Result<Self, askama::Error> {
        let (html_body, text_body, cut) = match &article.body {
            Body::Whole { html, markdown } => {
                let (html, html_cut) = styled_within(html, LONGEST_HTML);
                let (text, text_cut) = cut_text(markdown, LONGEST_TEXT);
                (Some(html), Some(text), html_cut || text_cut)
            }
            Body::Opening => (None, None, false),
        };
        let html = HtmlPart {
            site_name: article.site_name,
            title: article.title,
            author: article.author,
            teaser: article.teaser,
            url: article.url,
            subscribe_url: article.subscribe_url,
            picture: article.picture.as_ref(),
            body: html_body,
            cut,
            unsubscribe: UNSUBSCRIBE_LINK,
            preferences: PREFERENCES_LINK,
        }
        .render()?;
        let text = TextPart {
            site_name: article.site_name,
            title: article.title,
            author: article.author,
            teaser: article.teaser,
            url: article.url,
            subscribe_url: article.subscribe_url,
            body: text_body.as_deref(),
            cut,
            unsubscribe: UNSUBSCRIBE_LINK,
            preferences: PREFERENCES_LINK,
        }
        .render()?;
        Ok(Self {
            subject: article.title.to_string(),
            html,
            text,
        })
    }

    /// The letter with one reader's links.
    pub fn for_reader(&self, unsubscribe_url: &str, preferences_url: &str) -> Addressed {
        let fill = |part: &str| {
            part.replace(UNSUBSCRIBE_LINK, unsubscribe_url)
                .replace(PREFERENCES_LINK, preferences_url)
        };
        Addressed {
            subject: self.subject.clone(),
            html: fill(&self.html),
            text: fill(&self.text),
            unsubscribe_url: unsubscribe_url.to_string(),
        }
    }
}

/// The message as it travels, for `to`: plain text and HTML as alternatives, with the list's
/// headers. `list_id` is `<name.host>`'s inside, e.g. `newsletter.gazette.example`.
pub fn message(
    from: &Mailbox,
    to: &lettre::Address,
    letter: &Addressed,
    list_id: &str,
    site_name: &str,
) -> Result<Vec<u8>, String> {
    let raw = |name: &'static str, value: String| {
        HeaderValue::dangerous_new_pre_encoded(
            HeaderName::new_from_ascii_str(name),
            value.clone(),
            value,
        )
    };
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to.clone()))
        .subject(letter.subject.clone())
        .message_id(None)
        .raw_header(raw(
            "List-Unsubscribe",
            format!("<{}>", letter.unsubscribe_url),
        ))
        .raw_header(raw(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_string(),
        ))
        .raw_header(raw(
            "List-Id",
            format!("\"{} newsletter\" <{list_id}>", site_name.replace('"', "")),
        ))
        .raw_header(raw("Precedence", "bulk".to_string()))
        .multipart(MultiPart::alternative_plain_html(
            letter.text.clone(),
            letter.html.clone(),
        ))
        .map_err(|e| format!("building the message: {e}"))?;
    Ok(message.formatted())
}

/// The article's HTML with its styles inline, within `most` bytes (the styles count); whether
/// it was cut.
fn styled_within(html: &str, most: usize) -> (String, bool) {
    let mut budget = most;
    loop {
        let (cut, was_cut) = cut_html(html, budget);
        let styled = styled(&cut);
        if styled.len() <= most || budget < 1_000 {
            return (styled, was_cut);
        }
        budget = (budget * most / styled.len()).saturating_sub(500);
    }
}

/// The article's HTML up to `most` bytes, ended at a top-level block's end; whether it was cut.
fn cut_html(html: &str, most: usize) -> (String, bool) {
    if html.len() <= most {
        return (html.to_string(), false);
    }
    // Blocks end with a line break in the stored HTML; a cut at one of them may still leave a
    // list or quotation open, which the sanitiser closes.
    let mut end = most;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let head = &html[..end];
    let at = [
        "</p>\n",
        "</ul>\n",
        "</ol>\n",
        "</blockquote>\n",
        "</pre>\n",
    ]
    .iter()
    .filter_map(|closing| head.rfind(closing).map(|at| at + closing.len()))
    .max()
    .unwrap_or(0);
    (
        ammonia::Builder::default().clean(&html[..at]).to_string(),
        true,
    )
}

/// The Markdown up to `most` bytes, ended at a paragraph's end; whether it was cut.
fn cut_text(markdown: &str, most: usize) -> (String, bool) {
    if markdown.len() <= most {
        return (markdown.trim().to_string(), false);
    }
    let mut end = most;
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let head = &markdown[..end];
    let at = head.rfind("\n\n").unwrap_or(0);
    (head[..at].trim().to_string(), true)
}

/// The article's blocks with their styles inline (mail clients drop style sheets).
fn styled(html: &str) -> String {
    const P: &str = "margin:0 0 16px; font-size:17px; line-height:1.6;";
    html.replace("<p>", &format!("<p style=\"{P}\">"))
        .replace("<h2>", "<h2 style=\"margin:24px 0 12px; font-size:22px; line-height:1.3;\">")
        .replace("<h3>", "<h3 style=\"margin:20px 0 10px; font-size:19px; line-height:1.3;\">")
        .replace(
            "<blockquote>",
            "<blockquote style=\"margin:0 0 16px; padding:0 0 0 16px; border-left:3px solid #ddd5c6; color:#4a453e;\">",
        )
        .replace("<ul>", "<ul style=\"margin:0 0 16px; padding-left:24px;\">")
        .replace("<ol>", "<ol style=\"margin:0 0 16px; padding-left:24px;\">")
        .replace(
            "<pre>",
            "<pre style=\"margin:0 0 16px; padding:12px; background:#f7f3ea; font-size:14px; white-space:pre-wrap;\">",
        )
        .replace("<img ", "<img style=\"max-width:100%; height:auto;\" ")
        .replace("<a href=", "<a style=\"color:#9c2a1c;\" href=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article<'a>(body: Body<'a>) -> Article<'a> {
        Article {
            site_name: "Gazette",
            title: "The harbour at dawn",
            author: "Ada Editor",
            teaser: "What the fishermen saw.",
            url: "https://gazette.example/articles/1/the-harbour",
            subscribe_url: "https://gazette.example/subscribe",
            picture: None,
            body,
        }
    }

    #[test]
    fn the_opening_has_no_body_and_invites_to_subscribe() {
        let letter = Letter::render(&article(Body::Opening)).unwrap();
        for part in [&letter.html, &letter.text] {
            assert!(part.contains("What the fishermen saw."));
            assert!(part.contains("https://gazette.example/subscribe"));
            assert!(part.contains(UNSUBSCRIBE_LINK) && part.contains(PREFERENCES_LINK));
        }
    }

    #[test]
    fn a_long_article_is_cut_at_a_block_with_a_link_to_read_on() {
        let paragraph = "<p>Words of the long article, again and again.</p>\n".repeat(3000);
        let markdown = "Words of the long article, again and again.\n\n".repeat(3000);
        let letter = Letter::render(&article(Body::Whole {
            html: &paragraph,
            markdown: &markdown,
        }))
        .unwrap();
        assert!(letter.html.len() < 70_000, "{}", letter.html.len());
        assert!(letter.text.len() < 30_000);
        assert!(letter.html.contains("Read the rest on the site"));
        assert!(letter.text.contains("Read the rest on the site"));
        assert!(letter.html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn the_feature_image_is_in_the_html_of_both_versions_only() {
        for body in [
            Body::Opening,
            Body::Whole {
                html: "<p>Words.</p>",
                markdown: "Words.",
            },
        ] {
            let letter = Letter::render(&Article {
                picture: Some(MailPicture {
                    src: "https://gazette.example/media/ab-800.jpg",
                    width: COLUMN_WIDTH,
                    height: 402,
                    alt: "Boats \"at\" dawn",
                    credit: "Photo: Ada",
                }),
                ..article(body)
            })
            .unwrap();
            assert!(letter.html.contains(
                "<img src=\"https://gazette.example/media/ab-800.jpg\" width=\"536\" height=\"402\" alt=\"Boats &#34;at&#34; dawn\""
            ), "{}", letter.html);
            assert!(letter.html.contains("Photo: Ada"));
            assert!(!letter.text.contains("ab-800.jpg"));
        }
    }

    #[test]
    fn each_reader_gets_their_own_links() {
        let letter = Letter::render(&article(Body::Opening)).unwrap();
        let mine = letter.for_reader("https://u.example/mine", "https://p.example/mine");
        assert!(!mine.html.contains(UNSUBSCRIBE_LINK) && !mine.text.contains(PREFERENCES_LINK));
        assert!(mine.html.contains("href=\"https://u.example/mine\""));
        assert!(mine.text.contains("https://p.example/mine"));
    }
}
