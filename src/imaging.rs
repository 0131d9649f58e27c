//! Decoding, turning upright, resizing and encoding pictures: the CPU work of an upload, done
//! once, on the blocking pool, one or two at a time (the caller bounds it).
//!
//! Rules:
//! - The format is sniffed from the bytes (`domain::media::Format::sniff`), and the header's
//!   size is checked against `domain::media::MAX_PIXELS` before a single pixel is decoded.
//! - The picture is turned upright by its EXIF orientation, and what is written out carries no
//!   metadata at all: no EXIF (GPS position, camera serial), no XMP, no comments.
//! - Variants are made at `domain::media::variant_widths`, each in the original's format or in
//!   WebP where that is smaller; a GIF is kept as its first frame.

use crate::domain::media::{Format, Refusal, Variant};

/// A picture made ready for the library: its upright size and its encoded variants.
#[derive(Debug)]
pub struct Processed {
    pub format: Format,
    /// Upright, as readers will see it.
    pub width: u32,
    pub height: u32,
    /// Narrowest first, one per width.
    pub variants: Vec<EncodedVariant>,
}

/// One variant's bytes, ready to be stored and served.
#[derive(Debug)]
pub struct EncodedVariant {
    pub variant: Variant,
    pub bytes: Vec<u8>,
}

/// Why a file could not be made into a picture.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// Refused by a rule, before decoding.
    #[error("{0}")]
    Refused(Refusal),
    /// It said it was an image but could not be read as one.
    #[error("the image could not be read: {0}")]
    Undecodable(String),
}

/// Reads the format and header size of `bytes` and checks them, decoding nothing.
pub fn probe(bytes: &[u8]) -> Result<(Format, u32, u32), ImagingError> {
    let format = Format::sniff(bytes).ok_or(ImagingError::Refused(Refusal::NotAnImage))?;
    Err(ImagingError::Undecodable(format!(
        "{} decoding is not built yet",
        format.name()
    )))
}

/// Makes the variants of an upload.
pub fn process(bytes: &[u8]) -> Result<Processed, ImagingError> {
    probe(bytes)?;
    Err(ImagingError::Undecodable("not built yet".to_string()))
}
