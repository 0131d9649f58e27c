//! Markdown to safe HTML, done once when an article is stored rather than on every request.
//!
//! Rules:
//! - Whatever an author (or an attacker who got hold of an author's account) writes, no
//!   script, event handler or foreign frame reaches a reader: the HTML is sanitised last.
//! - Pictures come from the media library only. `![alt](media:<id>)` places library picture
//!   `<id>`, rendered here as an `<img>` with every width it has (`srcset`), its size (no
//!   layout shift) and lazy loading; any other image is refused by [`render`], naming it.
//!   The alt text is the article's own words, between the brackets.
//! - An author never writes an `<img>`: the sanitiser removes every one written as HTML, and
//!   the library's pictures are put in after it has run, where a placeholder (made of
//!   characters taken out of the author's text first) marks each.
//! - This module knows nothing of the library: the caller looks up the ids [`placed_ids`]
//!   finds and hands each picture over as a [`Placed`].

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// The `sizes` of a picture in the article column: the whole screen on a phone, at most the
/// column's 800 pixels elsewhere.
pub const ARTICLE_SIZES: &str = "(max-width: 800px) 100vw, 800px";

/// The scheme that names a library picture in Markdown: `media:12`.
const SCHEME: &str = "media:";
/// The longest part of a refused address a message repeats.
const QUOTED_CHARS: usize = 100;
/// Around the number of a placed picture in the HTML until the sanitiser has run: characters
/// of Unicode's private use area, removed from the author's text before it is parsed.
const PLACEHOLDER_OPEN: char = '\u{E000}';
const PLACEHOLDER_CLOSE: char = '\u{E001}';

/// A library picture as the body shows it: what its `<img>` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The plain `src`, `/media/…`.
    pub src: String,
    /// Every width, `/media/…-480.jpg 480w, …`.
    pub srcset: String,
    pub width: u32,
    pub height: u32,
}

/// A body as stored: its sanitised HTML and what it places.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// The library pictures it places, each once, in the order they first appear.
    pub placed: Vec<i64>,
    /// Placed pictures with no alt text between their brackets.
    pub without_alt: Vec<i64>,
}

/// An image the body may not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRefused {
    /// Not `media:<id>`: an address on the web, a file, anything else.
    NotFromLibrary(String),
    /// `media:<id>` naming no picture in the library.
    Unknown(i64),
    /// Alt text longer than the library allows.
    AltTooLong(i64),
}

impl fmt::Display for ImageRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFromLibrary(address) => {
                let mut quoted: String = address.chars().take(QUOTED_CHARS).collect();
                if address.chars().count() > QUOTED_CHARS {
                    quoted.push('…');
                }
                if quoted.is_empty() {
                    quoted.push_str("(no address)");
                }
                write!(
                    f,
                    "The image {quoted} is not from the media library: place pictures from the library as ![alt text](media:ID)."
                )
            }
            Self::Unknown(id) => write!(f, "There is no picture media:{id} in the media library."),
            Self::AltTooLong(id) => write!(
                f,
                "The alt text of media:{id} is too long: keep it to {MAX_ALT_CHARS} characters."
            ),
        }
    }
}

/// The longest alt text, as the media library keeps it (`domain::media::MAX_ALT_CHARS`).
const MAX_ALT_CHARS: usize = 500;

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION
}

/// The library picture an image's address names, if it is `media:<id>`.
fn media_id(address: &str) -> Option<i64> {
    let digits = address.trim().strip_prefix(SCHEME)?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&id| id > 0)
}

/// The library pictures `markdown` names, each once, in order: what to look up before
/// [`render`].
pub fn placed_ids(markdown: &str) -> Vec<i64> {
    let mut seen = HashSet::new();
    Parser::new_ext(markdown, options())
        .filter_map(|event| match event {
            Event::Start(Tag::Image { dest_url, .. }) => media_id(&dest_url),
            _ => None,
        })
        .filter(|id| seen.insert(*id))
        .collect()
}

/// Renders `markdown`, placing each `media:<id>` picture `picture(id)` gives; every image that
/// is not one of them is refused.
pub fn render(
    markdown: &str,
    picture: impl Fn(i64) -> Option<Placed>,
) -> Result<Rendered, Vec<ImageRefused>> {
    let mut refused = Vec::new();
    let mut placed = Vec::new();
    let mut without_alt = Vec::new();
    let mut tags = Vec::new();
    let mut events = Vec::new();
    let markdown = without_placeholders(markdown);
    let mut parser = Parser::new_ext(&markdown, options());
    while let Some(event) = parser.next() {
        let Event::Start(Tag::Image { dest_url, .. }) = event else {
            events.push(event);
            continue;
        };
        let alt = alt_text(&mut parser);
        let found = media_id(&dest_url).map(|id| (id, picture(id)));
        match found {
            Some((id, Some(image))) => {
                if alt.chars().count() > MAX_ALT_CHARS {
                    refused.push(ImageRefused::AltTooLong(id));
                    continue;
                }
                if !placed.contains(&id) {
                    placed.push(id);
                }
                if alt.is_empty() && !without_alt.contains(&id) {
                    without_alt.push(id);
                }
                events.push(Event::Text(CowStr::from(format!(
                    "{PLACEHOLDER_OPEN}{}{PLACEHOLDER_CLOSE}",
                    tags.len()
                ))));
                tags.push(img_tag(&image, &alt));
            }
            Some((id, None)) => refused.push(ImageRefused::Unknown(id)),
            None => refused.push(ImageRefused::NotFromLibrary(dest_url.to_string())),
        }
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    Ok(Rendered {
        html: put_pictures(&sanitise(&unsafe_html), &tags),
        placed,
        without_alt,
    })
}

/// The author's text without the characters that mark placed pictures.
fn without_placeholders(markdown: &str) -> Cow<'_, str> {
    if markdown.contains([PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE]) {
        Cow::Owned(markdown.replace([PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE], ""))
    } else {
        Cow::Borrowed(markdown)
    }
}

/// Puts each placed picture's `<img>` where its placeholder is in the sanitised HTML.
fn put_pictures(html: &str, tags: &[String]) -> String {
    if tags.is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len() + tags.iter().map(String::len).sum::<usize>());
    let mut rest = html;
    while let Some(start) = rest.find(PLACEHOLDER_OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + PLACEHOLDER_OPEN.len_utf8()..];
        let Some(end) = after.find(PLACEHOLDER_CLOSE) else {
            rest = after;
            continue;
        };
        if let Some(tag) = after[..end].parse::<usize>().ok().and_then(|n| tags.get(n)) {
            out.push_str(tag);
        }
        rest = &after[end + PLACEHOLDER_CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// Renders Markdown with no library at hand: every image is left out (its alt text stays, as
/// words), so nothing is refused.
pub fn to_safe_html(markdown: &str) -> String {
    let markdown = without_placeholders(markdown);
    let events = Parser::new_ext(&markdown, options()).filter(|event| {
        !matches!(
            event,
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image)
        )
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    sanitise(&unsafe_html)
}

/// `markdown` for a plain-text reader (a mail's text part): each image written as
/// `[Picture: its alt text]`, the rest as written.
pub fn pictures_as_words(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut copied = 0;
    let mut events = Parser::new_ext(markdown, options()).into_offset_iter();
    while let Some((event, range)) = events.next() {
        if !matches!(event, Event::Start(Tag::Image { .. })) || range.start < copied {
            continue;
        }
        let alt = alt_text(&mut (&mut events).map(|(event, _)| event));
        out.push_str(markdown.get(copied..range.start).unwrap_or_default());
        if alt.is_empty() {
            out.push_str("[Picture]");
        } else {
            out.push_str(&format!("[Picture: {alt}]"));
        }
        copied = range.end;
    }
    out.push_str(markdown.get(copied..).unwrap_or_default());
    out
}

/// The words between an image's start and its end, on one line (what Markdown makes its alt
/// text), consuming them.
fn alt_text<'a>(parser: &mut impl Iterator<Item = Event<'a>>) -> String {
    let mut alt = String::new();
    let mut depth = 1;
    for event in parser.by_ref() {
        match event {
            Event::Start(Tag::Image { .. }) => depth += 1,
            Event::End(TagEnd::Image) => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Event::Text(text) | Event::Code(text) => alt.push_str(&text),
            Event::SoftBreak | Event::HardBreak => alt.push(' '),
            _ => {}
        }
    }
    alt.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A placed picture's `<img>`: below the fold as far as the browser knows, so loaded lazily.
fn img_tag(image: &Placed, alt: &str) -> String {
    format!(
        "<img src=\"{}\" srcset=\"{}\" sizes=\"{ARTICLE_SIZES}\" width=\"{}\" height=\"{}\" alt=\"{}\" loading=\"lazy\" decoding=\"async\">",
        escape_attribute(&image.src),
        escape_attribute(&image.srcset),
        image.width,
        image.height,
        escape_attribute(alt),
    )
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Sanitises rendered HTML: the default policy with no images at all (the library's are put
/// in afterwards), and links marked as leading away.
fn sanitise(unsafe_html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .rm_tags(["img"])
        .clean(unsafe_html)
        .to_string()
}

/// `html` (as [`render`] made it) with its pictures' addresses made absolute under `site_url`,
/// for readers away from the site: mail programs and feed readers.
pub fn with_absolute_media(html: &str, site_url: &str) -> String {
    let site = site_url.trim_end_matches('/');
    html.replace(" src=\"/media/", &format!(" src=\"{site}/media/"))
        .replace(" srcset=\"/media/", &format!(" srcset=\"{site}/media/"))
        .replace("w, /media/", &format!("w, {site}/media/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harbour(id: i64) -> Option<Placed> {
        (id == 3).then(|| Placed {
            src: "/media/ab12-800.jpg".to_string(),
            srcset: "/media/ab12-480.jpg 480w, /media/ab12-800.jpg 800w".to_string(),
            width: 1000,
            height: 750,
        })
    }

    #[test]
    fn renders_common_markdown() {
        let html = to_safe_html("## Heading\n\nSome *emphasis* and a list:\n\n- one\n- two\n");
        assert!(html.contains("<h2>Heading</h2>"));
        assert!(html.contains("<em>emphasis</em>"));
        assert!(html.contains("<li>one</li>"));
    }

    #[test]
    fn strips_scripts_and_event_handlers() {
        let html = to_safe_html(
            "Hi <script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))",
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn a_library_picture_is_placed_with_every_width_and_its_size() {
        let rendered = render("Before.\n\n![Boats at *dawn*](media:3)\n\nAfter.", harbour)
            .expect("a library picture");
        assert_eq!(rendered.placed, vec![3]);
        assert!(rendered.without_alt.is_empty());
        assert!(
            rendered.html.contains(
                "<p><img src=\"/media/ab12-800.jpg\" srcset=\"/media/ab12-480.jpg 480w, /media/ab12-800.jpg 800w\" \
                 sizes=\"(max-width: 800px) 100vw, 800px\" width=\"1000\" height=\"750\" alt=\"Boats at dawn\" \
                 loading=\"lazy\" decoding=\"async\"></p>"
            ),
            "{}",
            rendered.html
        );
    }

    #[test]
    fn alt_text_is_the_articles_own_and_is_escaped() {
        let rendered = render(
            "![](media:3) and ![Fish & `\"chips\"` < 4](media:3)",
            harbour,
        )
        .unwrap();
        assert_eq!(rendered.placed, vec![3], "once each");
        assert_eq!(rendered.without_alt, vec![3], "the first has none");
        assert!(rendered.html.contains("alt=\"\""), "{}", rendered.html);
        assert!(
            rendered
                .html
                .contains("alt=\"Fish &amp; &quot;chips&quot; &lt; 4\""),
            "{}",
            rendered.html
        );
        assert_eq!(
            render("![ ](media:3)", harbour).unwrap().without_alt,
            vec![3]
        );
    }

    #[test]
    fn any_image_not_from_the_library_is_refused_by_name() {
        let refused = render(
            "![a](https://evil.example/x.png) ![b](media:999) ![c](/media/ab12-800.jpg) ![d](media:3)",
            harbour,
        )
        .unwrap_err();
        assert_eq!(
            refused,
            vec![
                ImageRefused::NotFromLibrary("https://evil.example/x.png".to_string()),
                ImageRefused::Unknown(999),
                ImageRefused::NotFromLibrary("/media/ab12-800.jpg".to_string()),
            ]
        );
        assert!(
            refused[0]
                .to_string()
                .contains("https://evil.example/x.png")
        );
        assert!(refused[1].to_string().contains("media:999"));
        assert_eq!(
            placed_ids("![x](media:4) ![y](media:4) ![z](media:07)"),
            [4, 7]
        );
    }

    #[test]
    fn an_author_never_writes_an_img_not_even_of_a_library_picture() {
        let rendered = render(
            "<img src=\"https://evil.example/x.png\" alt=\"evil\"> <img src=\"/media/ab12-800.jpg\" alt=\"ok\" onload=\"x()\"> \
             <span title=\"<img src=/media/ab12-480.jpg>\">t</span> <picture><source srcset=\"https://evil.example/y.png\"></picture>",
            harbour,
        )
        .unwrap();
        assert!(!rendered.html.contains("<img"), "{}", rendered.html);
        assert!(!rendered.html.contains("evil.example"), "{}", rendered.html);
        assert!(!rendered.html.contains("onload"), "{}", rendered.html);
        assert!(rendered.placed.is_empty());
    }

    #[test]
    fn placeholders_typed_by_an_author_place_nothing() {
        let typed = format!("{PLACEHOLDER_OPEN}0{PLACEHOLDER_CLOSE} and ![x](media:3)");
        let rendered = render(&typed, harbour).unwrap();
        assert_eq!(
            rendered.html.matches("<img").count(),
            1,
            "{}",
            rendered.html
        );
        assert!(!rendered.html.contains(PLACEHOLDER_OPEN));
        let plain = to_safe_html(&typed);
        assert!(
            !plain.contains(PLACEHOLDER_OPEN) && !plain.contains("<img"),
            "{plain}"
        );
    }

    #[test]
    fn a_plain_text_reader_is_told_what_each_picture_shows() {
        assert_eq!(
            pictures_as_words("Before.\n\n![Boats at *dawn*](media:3)\n\nAnd ![](media:4) after."),
            "Before.\n\n[Picture: Boats at dawn]\n\nAnd [Picture] after."
        );
        assert_eq!(pictures_as_words("No pictures, é."), "No pictures, é.");
    }

    #[test]
    fn addresses_are_made_absolute_for_mail_and_feeds() {
        let html = render("![x](media:3)", harbour).unwrap().html;
        let absolute = with_absolute_media(&html, "https://gazette.example/");
        assert!(absolute.contains(
            "src=\"https://gazette.example/media/ab12-800.jpg\" srcset=\"https://gazette.example/media/ab12-480.jpg 480w, https://gazette.example/media/ab12-800.jpg 800w\""
        ), "{absolute}");
    }
}
