//! Markdown to safe HTML, done once when an article is stored rather than on every request.
//!
//! Rules:
//! - Whatever an author (or an attacker who got hold of an author's account) writes, no
//!   script, event handler or foreign frame reaches a reader: the HTML is sanitised last.
//! - Pictures come from the media library only. `![alt](media:<id>)` places library picture
//!   `<id>`, rendered here as an `<img>` with every width it has (`srcset`), its size (no
//!   layout shift) and lazy loading; any other image is refused by [`render`], naming it.
//!   The sanitiser allows `<img>` only with addresses under `/media/`, so an image written as
//!   raw HTML pointing elsewhere is dropped.
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
/// The address under which library pictures are served; no other image source is allowed.
const MEDIA_PATH: &str = "/media/";
/// The longest part of a refused address a message repeats.
const QUOTED_CHARS: usize = 100;

/// A library picture as the body shows it: what its `<img>` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The plain `src`, `/media/…`.
    pub src: String,
    /// Every width, `/media/…-480.jpg 480w, …`.
    pub srcset: String,
    pub width: u32,
    pub height: u32,
    /// The library's alt text, used when the Markdown gives none.
    pub alt: String,
}

/// A body as stored: its sanitised HTML and what it places.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// The library pictures it places, each once, in the order they first appear.
    pub placed: Vec<i64>,
    /// Placed pictures with no alt text, neither in the Markdown nor in the library.
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
    let mut events = Vec::new();
    let mut parser = Parser::new_ext(markdown, options());
    while let Some(event) = parser.next() {
        let Event::Start(Tag::Image { dest_url, .. }) = event else {
            events.push(event);
            continue;
        };
        let alt = alt_text(&mut parser);
        let found = media_id(&dest_url).map(|id| (id, picture(id)));
        match found {
            Some((id, Some(image))) => {
                let alt = if alt.is_empty() {
                    image.alt.clone()
                } else {
                    alt
                };
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
                events.push(Event::InlineHtml(CowStr::from(img_tag(&image, &alt))));
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
        html: sanitise(&unsafe_html),
        placed,
        without_alt,
    })
}

/// Renders Markdown with no library at hand: every image is left out (its alt text stays, as
/// words), so nothing is refused.
pub fn to_safe_html(markdown: &str) -> String {
    let events = Parser::new_ext(markdown, options()).filter(|event| {
        !matches!(
            event,
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image)
        )
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    sanitise(&unsafe_html)
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

/// An address of a library picture's variant: `/media/` and a file name, nothing that could
/// lead elsewhere.
fn is_media_address(address: &str) -> bool {
    address.strip_prefix(MEDIA_PATH).is_some_and(|name| {
        !name.is_empty()
            && !name.starts_with('.')
            && !name.contains("..")
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    })
}

/// What `<img>` may carry, and only with values it could have been given here.
fn image_attribute<'u>(attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    let keep = match attribute {
        "src" => is_media_address(value),
        "srcset" => value.split(',').all(|candidate| {
            let mut parts = candidate.split_whitespace();
            parts.next().is_some_and(is_media_address)
                && parts.next().is_none_or(|width| {
                    width
                        .strip_suffix('w')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
                && parts.next().is_none()
        }),
        "width" | "height" => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
        "loading" => matches!(value, "lazy" | "eager"),
        "decoding" => matches!(value, "async" | "sync" | "auto"),
        "alt" | "sizes" => true,
        _ => false,
    };
    keep.then_some(Cow::Borrowed(value))
}

/// Sanitises rendered HTML: the default policy, links marked as leading away, and `<img>`
/// allowed only for library pictures.
fn sanitise(unsafe_html: &str) -> String {
    let clean = ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .add_tag_attributes("img", ["srcset", "sizes", "loading", "decoding"])
        .attribute_filter(|element, attribute, value| {
            if element == "img" {
                image_attribute(attribute, value)
            } else {
                Some(Cow::Borrowed(value))
            }
        })
        .clean(unsafe_html)
        .to_string();
    drop_images_without_source(&clean)
}

/// Removes the `<img>` elements the sanitiser left without a source (their address led
/// elsewhere): an empty image shows nothing useful. `html` is the sanitiser's output, where
/// every attribute value is double-quoted with its own quotes escaped.
fn drop_images_without_source(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let mut quoted = false;
        let end = tag
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(tag.len(), |(at, _)| at + 1);
        let element = &tag[..end];
        if element.contains(" src=\"") {
            out.push_str(element);
        }
        rest = &tag[end..];
    }
    out.push_str(rest);
    out
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
            alt: "The harbour from the library".to_string(),
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
    fn alt_text_falls_back_to_the_librarys_and_is_escaped() {
        let rendered = render(
            "![](media:3) and ![Fish & `\"chips\"` < 4](media:3)",
            harbour,
        )
        .unwrap();
        assert_eq!(rendered.placed, vec![3], "once each");
        assert!(
            rendered
                .html
                .contains("alt=\"The harbour from the library\"")
        );
        assert!(
            rendered
                .html
                .contains("alt=\"Fish &amp; &quot;chips&quot; &lt; 4\""),
            "{}",
            rendered.html
        );
        let bare = |id| {
            harbour(id).map(|p| Placed {
                alt: String::new(),
                ..p
            })
        };
        assert_eq!(render("![ ](media:3)", bare).unwrap().without_alt, vec![3]);
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
    fn raw_images_stay_only_when_they_are_library_pictures() {
        let rendered = render(
            "<img src=\"https://evil.example/x.png\" alt=\"evil\"> <img src=\"/media/ab12-800.jpg\" alt=\"ok\" onload=\"x()\" title=\"t\"> \
             <img src=\"/media/../secret\"> <img srcset=\"https://evil.example/y.png 2x\" src=\"/media/ab12-480.jpg\">",
            harbour,
        )
        .unwrap();
        assert!(!rendered.html.contains("evil"), "{}", rendered.html);
        assert!(!rendered.html.contains("secret"), "{}", rendered.html);
        assert!(!rendered.html.contains("onload") && !rendered.html.contains("title"));
        assert!(
            rendered
                .html
                .contains("<img src=\"/media/ab12-800.jpg\" alt=\"ok\">")
        );
        assert!(rendered.html.contains("<img src=\"/media/ab12-480.jpg\">"));
        assert!(rendered.placed.is_empty());
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
