//! The desk's media library: the upload form, and every picture with its thumbnail, its facts,
//! its alt text, the Markdown that places it in an article and how many articles use it.

use askama::Template;

use super::Pager;
use super::desk::date_and_time;
use crate::domain::ids::MediaId;
use crate::domain::media::Picture;
use crate::models::MediaRow;

/// The width the library's thumbnails are asked at (the narrowest variant).
const THUMBNAIL_WIDTH: u32 = 480;

#[derive(Template)]
#[template(path = "editor/media.html")]
pub struct MediaLibraryPage {
    pub layout: super::Layout,
    pub pictures: Vec<LibraryPicture>,
    /// Only the pictures no article uses are listed.
    pub unused_only: bool,
    pub pager: Pager,
    /// Why the last upload, alt text or deletion did not go through.
    pub error: Option<String>,
    /// The alt text typed in the upload form, shown again with `error`.
    pub alt: String,
    /// The largest upload, as people say it: `15 MB`.
    pub max_size: String,
    /// The listing's query (`?page=2&unused=1`, or nothing), which the forms on the page send
    /// back so their answer returns to the same listing.
    pub listing: String,
}

/// One picture of the library.
pub struct LibraryPicture {
    pub id: MediaId,
    /// Its narrowest variant; `None` if it has none (it always has one once added).
    pub thumbnail: Option<Thumbnail>,
    pub original_name: String,
    /// `2.4 MB`
    pub size: String,
    /// `4000 × 3000`
    pub dimensions: String,
    pub alt: String,
    /// `![alt](media:12)`: what places it in an article's text.
    pub markdown: String,
    pub uses: i64,
    pub uploaded: String,
}

pub struct Thumbnail {
    pub src: String,
    pub width: u32,
    pub height: u32,
}

impl LibraryPicture {
    /// A library row, with the articles using it and its variants (`picture`).
    pub fn of(row: &MediaRow, uses: i64, picture: Option<&Picture>) -> Self {
        let thumbnail = picture.and_then(|picture| {
            let variant = picture.variant_for(THUMBNAIL_WIDTH)?;
            Some(Thumbnail {
                src: picture.path_of(variant),
                width: variant.width,
                height: variant.height,
            })
        });
        Self {
            id: row.id,
            thumbnail,
            original_name: row.original_name.clone(),
            size: file_size(row.original_bytes),
            dimensions: format!("{} × {}", row.width, row.height),
            alt: row.alt.clone(),
            markdown: media_markdown(&row.alt, row.id),
            uses,
            uploaded: date_and_time(row.created_at),
        }
    }

    /// "Not used by any article", "Used by 1 article", "Used by 3 articles".
    pub fn uses_label(&self) -> String {
        match self.uses {
            0 => "Not used by any article".to_string(),
            1 => "Used by 1 article".to_string(),
            n => format!("Used by {n} articles"),
        }
    }
}

/// `![alt](media:12)`, with the brackets and backslashes of the alt text escaped so the
/// Markdown reads it back as written.
pub fn media_markdown(alt: &str, id: MediaId) -> String {
    let mut escaped = String::with_capacity(alt.len());
    for c in alt.chars() {
        if matches!(c, '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("![{escaped}](media:{id})")
}

/// A size in bytes as people say it, in decimal units: `850 KB`, `2.4 MB`, `15 MB`.
pub fn file_size(bytes: i64) -> String {
    let bytes = bytes.max(0);
    if bytes < 1_000 {
        format!("{bytes} bytes")
    } else if bytes < 1_000_000 {
        format!("{} KB", (bytes + 500) / 1_000)
    } else {
        match (bytes + 50_000) / 100_000 {
            tenths if tenths % 10 == 0 => format!("{} MB", tenths / 10),
            tenths => format!("{}.{} MB", tenths / 10, tenths % 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(file_size(512), "512 bytes");
        assert_eq!(file_size(849_600), "850 KB");
        assert_eq!(file_size(2_430_000), "2.4 MB");
        assert_eq!(file_size(15_000_000), "15 MB");
    }

    #[test]
    fn the_markdown_keeps_the_alt_text_as_written() {
        assert_eq!(
            media_markdown("A harbour at dawn", MediaId::new(12)),
            "![A harbour at dawn](media:12)"
        );
        assert_eq!(media_markdown("", MediaId::new(3)), "![](media:3)");
        assert_eq!(
            media_markdown(r"a [b] c\d", MediaId::new(4)),
            r"![a \[b\] c\\d](media:4)"
        );
    }
}
