//! The rules of pictures, before any is decoded: which files are images Gazette takes, how
//! large they may be, which widths are made of each, and the addresses variants are served at.
//!
//! Rules:
//! - A file's type is what its first bytes say, never its name or the type a browser sent:
//!   JPEG, PNG, WebP and GIF (kept as a still). Anything else, SVG included (it can carry
//!   script), is refused.
//! - An image is refused by its size in bytes and by its pixels, read from its header, before
//!   it is decoded: a decompression bomb is a small file that claims many pixels.
//! - Variants are made at each of [`WIDTHS`] the original reaches, and at the original's own
//!   width when it falls short of the widest of them; never wider than the original.
//! - A variant's address names the hash of its original's bytes, its width and its format:
//!   `/media/<hash>-<width>.<ext>`. It never changes, so it may be cached for ever.

use std::fmt;

/// The widths variants are made at, narrowest first.
pub const WIDTHS: [u32; 4] = [480, 800, 1200, 1600];

/// The most pixels an upload may have: a 48-megapixel phone photo (8000 × 6000) is taken,
/// a 50-megapixel one is not.
pub const MAX_PIXELS: u64 = 48_000_000;

/// The length of a hash in an address: a SHA-256 in hexadecimal.
const HASH_LEN: usize = 64;

/// The formats Gazette takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    /// Kept as a still: its first frame.
    Gif,
}

impl Format {
    /// The format the first bytes of a file say it is, if it is one Gazette takes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Self::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Self::Png),
            [
                b'R',
                b'I',
                b'F',
                b'F',
                _,
                _,
                _,
                _,
                b'W',
                b'E',
                b'B',
                b'P',
                ..,
            ] => Some(Self::WebP),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Self::Gif),
            _ => None,
        }
    }

    /// Its name in the database: `jpeg`, `png`, `webp`, `gif`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
        }
    }

    /// The format the database's name gives.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::WebP, Self::Gif]
            .into_iter()
            .find(|format| format.name() == name)
    }

    /// The extension of its addresses.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::WebP => "webp",
            Self::Gif => "gif",
        }
    }

    /// The format an address's extension names.
    pub fn from_extension(extension: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::WebP, Self::Gif]
            .into_iter()
            .find(|format| format.extension() == extension)
    }

    /// The `Content-Type` it is served with.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }
}

/// Why an upload is refused before it is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the limit of bytes.
    TooLarge { limit: u64 },
    /// Not JPEG, PNG, WebP or GIF, whatever its name says.
    NotAnImage,
    /// Its header claims more than [`MAX_PIXELS`], or no pixels at all.
    TooManyPixels { width: u32, height: u32 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { limit } => write!(
                f,
                "the file is larger than {} MB",
                limit.div_ceil(1_000_000)
            ),
            Self::NotAnImage => write!(f, "the file is not a JPEG, PNG, WebP or GIF image"),
            Self::TooManyPixels { width, height } => write!(
                f,
                "the image is {width} × {height} pixels; at most {} megapixels are taken",
                MAX_PIXELS / 1_000_000
            ),
        }
    }
}

/// Checks an upload's size in bytes against `limit` (`MEDIA_MAX_BYTES`).
pub fn check_size(bytes: u64, limit: u64) -> Result<(), Refusal> {
    if bytes > limit {
        return Err(Refusal::TooLarge { limit });
    }
    Ok(())
}

/// Checks the dimensions an image's header claims, before anything is decoded.
pub fn check_pixels(width: u32, height: u32) -> Result<(), Refusal> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > MAX_PIXELS {
        return Err(Refusal::TooManyPixels { width, height });
    }
    Ok(())
}

/// The longest alt text a picture may have, in characters.
pub const MAX_ALT_CHARS: usize = 500;

/// Alt text as stored: trimmed, with runs of whitespace made one space (it is read aloud as
/// one line); `None` when longer than [`MAX_ALT_CHARS`].
pub fn clean_alt(alt: &str) -> Option<String> {
    let cleaned = alt.split_whitespace().collect::<Vec<_>>().join(" ");
    (cleaned.chars().count() <= MAX_ALT_CHARS).then_some(cleaned)
}

/// The widths made of an original `width` pixels wide, narrowest first: each of [`WIDTHS`]
/// it reaches, and its own width when it falls between them (or below the narrowest).
pub fn variant_widths(width: u32) -> Vec<u32> {
    let mut widths: Vec<u32> = WIDTHS.into_iter().filter(|&w| w <= width).collect();
    if width > 0 && width < WIDTHS[WIDTHS.len() - 1] && !widths.contains(&width) {
        widths.push(width);
    }
    widths
}

/// The height of a variant `width` wide of an original `original_width` × `original_height`,
/// rounded to the nearest pixel and never zero.
pub fn scaled_height(width: u32, original_width: u32, original_height: u32) -> u32 {
    if original_width == 0 {
        return 0;
    }
    let height = (u64::from(original_height) * u64::from(width) + u64::from(original_width) / 2)
        / u64::from(original_width);
    u32::try_from(height.max(1)).unwrap_or(u32::MAX)
}

/// One variant's address, as the reader's browser asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantName {
    /// The original's hash, lower-case hexadecimal.
    pub hash: String,
    pub width: u32,
    pub format: Format,
}

impl VariantName {
    /// `/media/<hash>-<width>.<ext>`.
    pub fn path(&self) -> String {
        format!("/media/{}", self.file_name())
    }

    /// `<hash>-<width>.<ext>`: the address's last part, and the name the store keeps it by.
    pub fn file_name(&self) -> String {
        format!("{}-{}.{}", self.hash, self.width, self.format.extension())
    }

    /// Reads the last part of an address, `<hash>-<width>.<ext>`; `None` for anything that is
    /// not one Gazette could have made.
    pub fn parse(name: &str) -> Option<Self> {
        let (stem, extension) = name.rsplit_once('.')?;
        let (hash, width) = stem.rsplit_once('-')?;
        let well_formed_hash = hash.len() == HASH_LEN
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        // Digits only: `+800` or `0800` would be a second address for one variant.
        let well_formed_width = !width.starts_with('0')
            && width.len() <= 5
            && width.bytes().all(|b| b.is_ascii_digit());
        if !well_formed_hash || !well_formed_width {
            return None;
        }
        Some(Self {
            hash: hash.to_string(),
            width: width.parse().ok().filter(|&w| w > 0)?,
            format: Format::from_extension(extension)?,
        })
    }
}

/// One width of a picture as a page offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub format: Format,
}

/// A library picture as pages show it: its variants (narrowest first), its size and the words
/// that stand for it. Everything a page needs to write `<img src srcset sizes width height>`
/// with no layout shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    pub hash: String,
    /// The upright size of the original; pages give it as `width` and `height` so the browser
    /// keeps the space before the bytes arrive.
    pub width: u32,
    pub height: u32,
    pub alt: String,
    pub variants: Vec<Variant>,
}

/// The width a page's plain `src` names, for browsers that ignore `srcset` and for mail: the
/// article column is 800 pixels wide at most on a page.
pub const DEFAULT_WIDTH: u32 = 800;

impl Picture {
    /// The address of one variant.
    pub fn path_of(&self, variant: &Variant) -> String {
        VariantName {
            hash: self.hash.clone(),
            width: variant.width,
            format: variant.format,
        }
        .path()
    }

    /// The narrowest variant at least `width` wide, or the widest there is.
    pub fn variant_for(&self, width: u32) -> Option<&Variant> {
        self.variants
            .iter()
            .find(|variant| variant.width >= width)
            .or_else(|| self.variants.last())
    }

    /// The plain `src`: the variant for [`DEFAULT_WIDTH`].
    pub fn src(&self) -> String {
        self.variant_for(DEFAULT_WIDTH)
            .map(|variant| self.path_of(variant))
            .unwrap_or_default()
    }

    /// `srcset`: every variant with its width, `/media/…-480.jpg 480w, …`.
    pub fn srcset(&self) -> String {
        self.variants
            .iter()
            .map(|variant| format!("{} {}w", self.path_of(variant), variant.width))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_what_the_bytes_say() {
        let cases: [(&[u8], Option<Format>); 7] = [
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Some(Format::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(Format::Png)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(Format::WebP)),
            (b"GIF89a\x01\0\x01\0", Some(Format::Gif)),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\">", None),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
            (b"", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Format::sniff(bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn size_and_pixels_are_checked_against_their_limits() {
        assert_eq!(check_size(15_000_000, 15_000_000), Ok(()));
        assert_eq!(
            check_size(15_000_001, 15_000_000),
            Err(Refusal::TooLarge { limit: 15_000_000 })
        );
        assert_eq!(check_pixels(8000, 6000), Ok(()));
        assert!(check_pixels(8192, 6144).is_err(), "50 megapixels");
        assert!(check_pixels(65_535, 65_535).is_err(), "a bomb's header");
        assert!(check_pixels(0, 100).is_err());
    }

    #[test]
    fn variants_are_never_wider_than_the_original() {
        assert_eq!(variant_widths(4000), vec![480, 800, 1200, 1600]);
        assert_eq!(variant_widths(1600), vec![480, 800, 1200, 1600]);
        assert_eq!(variant_widths(800), vec![480, 800]);
        assert_eq!(variant_widths(1000), vec![480, 800, 1000]);
        assert_eq!(variant_widths(300), vec![300]);
        assert_eq!(variant_widths(0), Vec::<u32>::new());
    }

    #[test]
    fn alt_text_is_one_trimmed_line_of_bounded_length() {
        assert_eq!(
            clean_alt("  A harbour\n at   dawn "),
            Some("A harbour at dawn".to_string())
        );
        assert_eq!(clean_alt(""), Some(String::new()));
        assert_eq!(clean_alt(&"é".repeat(500)).map(|a| a.len()), Some(1000));
        assert_eq!(clean_alt(&"a".repeat(501)), None);
    }

    #[test]
    fn heights_keep_the_proportions() {
        assert_eq!(scaled_height(800, 4000, 3000), 600);
        assert_eq!(scaled_height(480, 1000, 333), 160);
        assert_eq!(scaled_height(480, 10_000, 1), 1);
    }

    #[test]
    fn a_picture_offers_every_variant_and_a_plain_source_for_the_column() {
        let variant = |width, format| Variant {
            width,
            height: width / 2,
            format,
        };
        let picture = Picture {
            hash: "ab".repeat(32),
            width: 2000,
            height: 1000,
            alt: "A harbour".to_string(),
            variants: vec![
                variant(480, Format::Jpeg),
                variant(800, Format::WebP),
                variant(1200, Format::Jpeg),
                variant(1600, Format::Jpeg),
            ],
        };
        let hash = "ab".repeat(32);
        assert_eq!(picture.src(), format!("/media/{hash}-800.webp"));
        assert_eq!(
            picture.srcset(),
            format!(
                "/media/{hash}-480.jpg 480w, /media/{hash}-800.webp 800w, \
                 /media/{hash}-1200.jpg 1200w, /media/{hash}-1600.jpg 1600w"
            )
        );
        assert_eq!(picture.variant_for(1000).map(|v| v.width), Some(1200));
        assert_eq!(picture.variant_for(5000).map(|v| v.width), Some(1600));
        for format in [Format::Jpeg, Format::Png, Format::WebP, Format::Gif] {
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
    }

    #[test]
    fn an_address_is_read_back_only_when_gazette_could_have_made_it() {
        let name = VariantName {
            hash: "ab12".repeat(16),
            width: 800,
            format: Format::WebP,
        };
        let path = name.path();
        assert_eq!(path, format!("/media/{}-800.webp", "ab12".repeat(16)));
        let last = path.rsplit('/').next().unwrap_or_default();
        assert_eq!(VariantName::parse(last), Some(name));
        for bad in [
            "ab12-800.svg",
            "ab12-800.jpg",
            "AB12-800.jpg",
            "ab12-0800.jpg",
            "ab12-+800.jpg",
            "ab12-0.jpg",
            "ab12-800",
            "-800.jpg",
            "../x-800.jpg",
            &format!("{}-800.jpg", "a".repeat(65)),
        ] {
            assert_eq!(VariantName::parse(bad), None, "{bad}");
        }
    }
}
