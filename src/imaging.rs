//! Decoding, turning upright, resizing and encoding pictures: the CPU work of an upload, done
//! once, on the blocking pool, one or two at a time (the caller bounds it).
//!
//! Rules:
//! - The format is sniffed from the bytes (`domain::media::Format::sniff`), and the header's
//!   size is checked against `domain::media::MAX_PIXELS` before a single pixel is decoded.
//!   The decoder is also given limits (a side of at most [`MAX_SIDE`] pixels, at most
//!   [`MAX_DECODED_BYTES`] of pixels), a second guard should a header lie.
//! - A JPEG must end with its end-of-image marker: a cut-off upload is refused as undecodable
//!   rather than stored with its lower part grey (the decoder would fill it in).
//! - The picture is turned upright by its EXIF orientation, and what is written out carries no
//!   metadata at all: no EXIF (GPS position, camera serial), no XMP, no comments, no colour
//!   profile (pixels are written as they were decoded, read as sRGB).
//! - Variants are made at `domain::media::variant_widths` of the upright width, heights by
//!   `domain::media::scaled_height`, with a Lanczos filter. The widest is resized from the
//!   decoded picture, which is then freed; the narrower ones from the widest. Each is turned
//!   upright after resizing, so the full-size picture is never copied to be turned.
//! - Each variant is encoded in the original's format or in lossless WebP where that is
//!   smaller (`Variant::format` says which):
//!   - JPEG: JPEG, quality [`JPEG_QUALITY`]; a photo is never smaller as lossless WebP.
//!   - PNG: PNG or lossless WebP.
//!   - WebP: lossless WebP (the only WebP written); a lossy original without transparency may
//!     also become JPEG, as lossless variants of a photo would be many times its size.
//!   - GIF: its first frame as a still, as PNG or lossless WebP (never GIF).
//! - Transparency is kept where the original has it and some pixel uses it; 16-bit channels
//!   become 8-bit after resizing.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use crate::domain::media::{self, Format, Refusal, Variant};

/// The quality JPEG variants are written at: no visible loss at the sizes pages show them.
pub const JPEG_QUALITY: u8 = 82;

/// The longest side a decoder is allowed, whatever the number of pixels: a panorama of
/// 32768 × 1464 is 48 megapixels.
pub const MAX_SIDE: u32 = 32_768;

/// The most bytes of pixels a decoder may allocate: a 48-megapixel picture with transparency,
/// and a quarter more. A 16-bit picture of more than 30 megapixels is beyond it.
pub const MAX_DECODED_BYTES: u64 = media::MAX_PIXELS * 4 * 5 / 4;

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

impl From<ImageError> for ImagingError {
    fn from(error: ImageError) -> Self {
        match error {
            ImageError::Limits(_) => Self::Undecodable(format!(
                "it is larger than Gazette decodes ({error}): at most {MAX_SIDE} pixels a side"
            )),
            error => Self::Undecodable(error.to_string()),
        }
    }
}

/// Reads the format and header size of `bytes` and checks them, decoding nothing.
pub fn probe(bytes: &[u8]) -> Result<(Format, u32, u32), ImagingError> {
    let (format, decoder) = open(bytes)?;
    let (width, height) = decoder.dimensions();
    Ok((format, width, height))
}

/// Makes the variants of an upload.
pub fn process(bytes: &[u8]) -> Result<Processed, ImagingError> {
    let (format, mut decoder) = open(bytes)?;
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImagingError::Undecodable(
            "the JPEG ends before its last pixels".to_string(),
        ));
    }
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        let (width, height) = decoder.dimensions();
        return Err(ImagingError::Undecodable(format!(
            "{width} × {height} pixels of {:?} would need more than {} MB to decode",
            decoder.color_type(),
            MAX_DECODED_BYTES / 1_000_000
        )));
    }
    // A broken EXIF block is no reason to refuse a picture: it is shown as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // A GIF's decoder reads its first frame only; an animated PNG's, its default image.
    let decoded = DynamicImage::from_decoder(decoder)?;

    let turned = turns_sideways(orientation);
    let (stored_width, stored_height) = (decoded.width(), decoded.height());
    let (width, height) = if turned {
        (stored_height, stored_width)
    } else {
        (stored_width, stored_height)
    };
    let sizes: Vec<(u32, u32)> = media::variant_widths(width)
        .into_iter()
        .map(|w| (w, media::scaled_height(w, width, height)))
        .collect();
    // Resized as stored, turned upright after.
    let stored_size = |(w, h): (u32, u32)| if turned { (h, w) } else { (w, h) };

    let candidates = candidates(format, bytes);
    let mut resizer = Resizer::new();
    let Some((&widest, narrower)) = sizes.split_last() else {
        return Err(ImagingError::Undecodable("it has no pixels".to_string()));
    };
    let widest_image = resize(&mut resizer, &decoded, stored_size(widest))?;
    // The full-size pixels are the bulk of the memory an upload takes: gone before encoding.
    drop(decoded);

    let mut variants = Vec::with_capacity(sizes.len());
    for &size in narrower {
        let image = resize(&mut resizer, &widest_image, stored_size(size))?;
        variants.push(finish(image, orientation, size, candidates)?);
    }
    drop(resizer);
    variants.push(finish(widest_image, orientation, widest, candidates)?);

    Ok(Processed {
        format,
        width,
        height,
        variants,
    })
}

/// Sniffs the format, reads the header and checks its size; the decoder is returned with its
/// limits set, ready to read pixels.
fn open(bytes: &[u8]) -> Result<(Format, impl ImageDecoder + '_), ImagingError> {
    let format = Format::sniff(bytes).ok_or(ImagingError::Refused(Refusal::NotAnImage))?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format));
    // No limit on the sides yet, so that a bomb is refused below by its pixels, as a refusal,
    // rather than by a decoder's limit; the allocation limit bounds what reading the header
    // may inflate (a PNG's compressed colour profile).
    reader.limits(limits(None));
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    media::check_pixels(width, height).map_err(ImagingError::Refused)?;
    decoder.set_limits(limits(Some(MAX_SIDE)))?;
    Ok((format, decoder))
}

fn limits(max_side: Option<u32>) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = max_side;
    limits.max_image_height = max_side;
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

fn image_format(format: Format) -> ImageFormat {
    match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::WebP => ImageFormat::WebP,
        Format::Gif => ImageFormat::Gif,
    }
}

/// Whether turning the picture upright swaps its width and height.
fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The formats a variant of an original in `format` is tried in, the original's first: the
/// smallest is kept, the first on a tie.
fn candidates(format: Format, bytes: &[u8]) -> &'static [Format] {
    match format {
        Format::Jpeg => &[Format::Jpeg],
        Format::Png | Format::Gif => &[Format::Png, Format::WebP],
        Format::WebP if webp_is_lossy(bytes) => &[Format::WebP, Format::Jpeg],
        Format::WebP => &[Format::WebP],
    }
}

fn resize(
    resizer: &mut Resizer,
    source: &DynamicImage,
    (width, height): (u32, u32),
) -> Result<DynamicImage, ImagingError> {
    let mut target = DynamicImage::new(width, height, source.color());
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    resizer
        .resize(source, &mut target, &options)
        .map_err(|error| ImagingError::Undecodable(format!("it could not be resized: {error}")))?;
    Ok(target)
}

/// Turns a resized variant upright and encodes it.
fn finish(
    image: DynamicImage,
    orientation: Orientation,
    (width, height): (u32, u32),
    candidates: &[Format],
) -> Result<EncodedVariant, ImagingError> {
    let mut image = eight_bit(image);
    image.apply_orientation(orientation);
    let mut best: Option<(Format, Vec<u8>)> = None;
    for &format in candidates {
        // JPEG has no transparency: it is only tried for an opaque variant.
        if format == Format::Jpeg && image.color().has_alpha() {
            continue;
        }
        let bytes = encode(&image, format)?;
        if best
            .as_ref()
            .is_none_or(|(_, kept)| bytes.len() < kept.len())
        {
            best = Some((format, bytes));
        }
    }
    let Some((format, bytes)) = best else {
        return Err(ImagingError::Undecodable(
            "no format could hold it".to_string(),
        ));
    };
    Ok(EncodedVariant {
        variant: Variant {
            width,
            height,
            format,
        },
        bytes,
    })
}

/// The variant with 8-bit channels, its alpha channel dropped when no pixel uses it.
fn eight_bit(image: DynamicImage) -> DynamicImage {
    match image.color() {
        ColorType::L8 | ColorType::Rgb8 => image,
        ColorType::L16 => image.into_luma8().into(),
        ColorType::La8 | ColorType::La16 => {
            let image = image.into_luma_alpha8();
            if image.pixels().all(|pixel| pixel.0[1] == u8::MAX) {
                DynamicImage::ImageLumaA8(image).into_luma8().into()
            } else {
                image.into()
            }
        }
        ColorType::Rgba8 | ColorType::Rgba16 | ColorType::Rgba32F => {
            let image = image.into_rgba8();
            if image.pixels().all(|pixel| pixel.0[3] == u8::MAX) {
                DynamicImage::ImageRgba8(image).into_rgb8().into()
            } else {
                image.into()
            }
        }
        _ => image.into_rgb8().into(),
    }
}

fn encode(image: &DynamicImage, format: Format) -> Result<Vec<u8>, ImagingError> {
    // None of these encoders writes metadata unless given it (EXIF, ICC): none is.
    let mut bytes = Vec::new();
    match format {
        Format::Jpeg => {
            image.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY))?
        }
        Format::Png => image.write_with_encoder(PngEncoder::new_with_quality(
            &mut bytes,
            CompressionType::Default,
            PngFilter::Adaptive,
        ))?,
        Format::WebP => image.write_with_encoder(WebPEncoder::new_lossless(&mut bytes))?,
        Format::Gif => {
            return Err(ImagingError::Undecodable(
                "variants are not written as GIF".to_string(),
            ));
        }
    }
    Ok(bytes)
}

/// Whether a JPEG's data runs to its end-of-image marker. Segments are stepped over by their
/// lengths (an EXIF thumbnail's own end marker is inside one), and entropy-coded data is read
/// to the next marker that is not a stuffed byte or a restart.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    const SOS: u8 = 0xDA;
    const EOI: u8 = 0xD9;
    let mut at = 2; // after SOI
    loop {
        // The next marker: 0xFF, fill bytes, then its code.
        while bytes.get(at).is_some_and(|&b| b != 0xFF) {
            at += 1;
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = bytes.get(at) else {
            return false;
        };
        at += 1;
        match marker {
            EOI => return true,
            // Standalone markers, no length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(&[high, low]) = bytes.get(at..at + 2) else {
            return false;
        };
        at += usize::from(u16::from_be_bytes([high, low]));
        if marker == SOS {
            // Entropy-coded data up to a real marker.
            loop {
                match (bytes.get(at), bytes.get(at + 1)) {
                    (Some(0xFF), Some(0x00 | 0xD0..=0xD7 | 0xFF)) => at += 1,
                    (Some(0xFF), Some(_)) => break,
                    (Some(_), _) => at += 1,
                    (None, _) => return false,
                }
            }
        }
    }
}

/// Whether a WebP file holds a lossy picture (a `VP8 ` bitstream) rather than a lossless one
/// (`VP8L`). The chunks are walked by their sizes; an animation's frames hold their own.
fn webp_is_lossy(bytes: &[u8]) -> bool {
    let mut at: usize = 12; // after "RIFF", the size and "WEBP"
    while let Some(&[a, b, c, d, s0, s1, s2, s3]) = bytes.get(at..at.saturating_add(8)) {
        match &[a, b, c, d] {
            b"VP8 " => return true,
            b"VP8L" => return false,
            // A frame: 16 bytes of position and timing, then its chunks.
            b"ANMF" => {
                at = at.saturating_add(8 + 16);
                continue;
            }
            _ => {}
        }
        let size = usize::try_from(u32::from_le_bytes([s0, s1, s2, s3])).unwrap_or(usize::MAX);
        // Chunks are padded to an even length.
        at = at
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size % 2);
    }
    false
}

#[cfg(test)]
#[path = "../tests/support/pictures.rs"]
mod pictures;

#[cfg(test)]
mod tests {
    use super::pictures;
    use super::*;
    use std::time::{Duration, Instant};

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).expect("a variant decodes")
    }

    fn refusal(result: Result<Processed, ImagingError>) -> Refusal {
        match result {
            Err(ImagingError::Refused(refusal)) => refusal,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    /// The markers of a JPEG's segments up to its first scan.
    fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
        let mut markers = Vec::new();
        let mut at = 2;
        while let Some(&[0xFF, marker, high, low]) = bytes.get(at..at + 4) {
            markers.push(marker);
            if marker == 0xDA {
                break;
            }
            at += 2 + usize::from(u16::from_be_bytes([high, low]));
        }
        markers
    }

    #[test]
    fn the_type_is_read_from_the_bytes_not_the_name() {
        let png = pictures::png(640, 480);
        assert_eq!(probe(&png).unwrap(), (Format::Png, 640, 480));
        let processed = process(&png).unwrap();
        assert_eq!(processed.format, Format::Png);
        assert_eq!((processed.width, processed.height), (640, 480));

        let jpeg = pictures::jpeg_with_exif(64, 48, 1, false);
        assert_eq!(probe(&jpeg).unwrap(), (Format::Jpeg, 64, 48));

        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert_eq!(refusal(process(svg)), Refusal::NotAnImage);
        assert_eq!(refusal(process(b"just some text")), Refusal::NotAnImage);
        assert_eq!(refusal(process(b"")), Refusal::NotAnImage);
    }

    #[test]
    fn a_bomb_is_refused_by_its_header_before_anything_is_decoded() {
        let bomb = pictures::bomb_png(60_000, 60_000);
        assert!(bomb.len() < 200, "{} bytes", bomb.len());
        let started = Instant::now();
        assert_eq!(
            refusal(process(&bomb)),
            Refusal::TooManyPixels {
                width: 60_000,
                height: 60_000
            }
        );
        // Decoding 3.6 gigapixels would take minutes and 10 GB; reading a header takes nothing.
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(probe(&bomb), Err(ImagingError::Refused(_))));

        // 50 megapixels, the header honest: refused all the same.
        assert_eq!(
            refusal(process(&pictures::bomb_png(8192, 6144))),
            Refusal::TooManyPixels {
                width: 8192,
                height: 6144
            }
        );
        // A JPEG whose frame header claims 65000 × 65000.
        let mut jpeg = pictures::jpeg_with_exif(16, 16, 1, false);
        let sof = jpeg
            .windows(2)
            .position(|pair| pair == [0xFF, 0xC0])
            .expect("a baseline frame header");
        // Marker, length, precision, then height and width.
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        assert_eq!(
            refusal(process(&jpeg)),
            Refusal::TooManyPixels {
                width: 65_000,
                height: 65_000
            }
        );

        // Within the pixels but longer a side than the decoders are allowed.
        assert!(matches!(
            process(&pictures::bomb_png(40_000, 1_000)),
            Err(ImagingError::Undecodable(_))
        ));
    }

    #[test]
    fn the_exif_orientation_turns_the_picture_upright() {
        // Stored 40 × 20 with its top-left corner red; orientation 6: turn 90° clockwise.
        let jpeg = pictures::jpeg_with_exif(40, 20, 6, false);
        let processed = process(&jpeg).unwrap();
        assert_eq!((processed.width, processed.height), (20, 40));
        let [variant] = processed.variants.as_slice() else {
            panic!("one variant for a picture narrower than every width");
        };
        assert_eq!(
            variant.variant,
            Variant {
                width: 20,
                height: 40,
                format: Format::Jpeg
            }
        );
        let upright = decode(&variant.bytes).into_rgb8();
        assert_eq!(upright.dimensions(), (20, 40));
        let red = |x, y| {
            let [r, g, b] = upright.get_pixel(x, y).0;
            r > 200 && g < 60 && b < 60
        };
        // The stored top-left corner is now the top-right one.
        assert!(red(17, 2), "top right: {:?}", upright.get_pixel(17, 2));
        assert!(!red(2, 2), "top left: {:?}", upright.get_pixel(2, 2));
        assert!(!red(17, 37) && !red(2, 37));

        // Without an orientation it stays as stored.
        let processed = process(&pictures::jpeg_with_exif(40, 20, 1, false)).unwrap();
        assert_eq!((processed.width, processed.height), (40, 20));
    }

    #[test]
    fn no_metadata_survives_in_any_variant() {
        let jpeg = pictures::jpeg_with_exif(1000, 600, 1, true);
        let gps = pictures::gps_latitude_bytes();
        assert!(contains(&jpeg, b"Exif") && contains(&jpeg, &gps));
        assert!(jpeg_markers(&jpeg).contains(&0xE1));

        let processed = process(&jpeg).unwrap();
        assert_eq!(processed.variants.len(), 3);
        for variant in &processed.variants {
            let bytes = &variant.bytes;
            assert!(!contains(bytes, b"Exif"), "{:?}", variant.variant);
            assert!(!contains(bytes, &gps), "{:?}", variant.variant);
            let markers = jpeg_markers(bytes);
            assert_eq!(markers.last(), Some(&0xDA), "{markers:x?}");
            // Only the JFIF header among the application segments, no APP1 (EXIF, XMP), no
            // comment.
            assert!(
                markers
                    .iter()
                    .all(|&m| m == 0xE0 || !(0xE1..=0xEF).contains(&m) && m != 0xFE),
                "{markers:x?}"
            );
        }
    }

    #[test]
    fn variants_are_never_wider_than_the_original_and_keep_its_proportions() {
        for (bytes, width, height) in [
            (pictures::jpeg_with_exif(1700, 1000, 1, false), 1700, 1000),
            (pictures::png(1000, 333), 1000, 333),
            (pictures::png(300, 200), 300, 200),
        ] {
            let processed = process(&bytes).unwrap();
            let widths: Vec<u32> = processed.variants.iter().map(|v| v.variant.width).collect();
            assert_eq!(widths, media::variant_widths(width));
            for encoded in &processed.variants {
                let variant = &encoded.variant;
                assert!(variant.width <= width);
                assert_eq!(
                    variant.height,
                    media::scaled_height(variant.width, width, height)
                );
                // The bytes are what the variant says they are.
                assert_eq!(Format::sniff(&encoded.bytes), Some(variant.format));
                let image = decode(&encoded.bytes);
                assert_eq!(
                    (image.width(), image.height()),
                    (variant.width, variant.height)
                );
            }
        }
    }

    #[test]
    fn a_jpeg_stays_jpeg_and_a_png_is_png_or_the_smaller_webp() {
        let processed = process(&pictures::jpeg_with_exif(900, 600, 1, false)).unwrap();
        assert!(
            processed
                .variants
                .iter()
                .all(|v| v.variant.format == Format::Jpeg)
        );
        let png = pictures::png(900, 600);
        let processed = process(&png).unwrap();
        for variant in &processed.variants {
            let image = decode(&variant.bytes);
            assert_eq!(image.color(), ColorType::Rgb8, "opaque: no alpha channel");
            let png = encode(&image, Format::Png).unwrap();
            let webp = encode(&image, Format::WebP).unwrap();
            assert_eq!(variant.bytes.len(), png.len().min(webp.len()));
        }
    }

    #[test]
    fn transparency_is_kept() {
        let mut image = image::RgbaImage::from_pixel(600, 400, image::Rgba([0, 90, 200, 255]));
        for (x, _, pixel) in image.enumerate_pixels_mut() {
            if x >= 300 {
                pixel.0[3] = 0;
            }
        }
        let mut png = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let processed = process(&png).unwrap();
        assert_eq!(processed.variants.len(), 2);
        for variant in &processed.variants {
            let decoded = decode(&variant.bytes);
            assert!(decoded.color().has_alpha());
            let decoded = decoded.into_rgba8();
            let (width, height) = decoded.dimensions();
            assert_eq!(decoded.get_pixel(10, height / 2).0, [0, 90, 200, 255]);
            assert_eq!(decoded.get_pixel(width - 10, height / 2).0[3], 0);
        }
    }

    #[test]
    fn a_gif_becomes_a_still_of_its_first_frame() {
        // First frame red with a transparent right half, second frame green.
        let gif = pictures::gif(200, 100);
        let processed = process(&gif).unwrap();
        assert_eq!(processed.format, Format::Gif);
        let [variant] = processed.variants.as_slice() else {
            panic!("one variant");
        };
        assert_ne!(variant.variant.format, Format::Gif);
        assert_eq!(Format::sniff(&variant.bytes), Some(variant.variant.format));
        let still = decode(&variant.bytes).into_rgba8();
        assert_eq!(still.dimensions(), (200, 100));
        assert_eq!(still.get_pixel(20, 50).0, [255, 0, 0, 255]);
        assert_eq!(still.get_pixel(180, 50).0[3], 0);
    }

    #[test]
    fn a_truncated_jpeg_is_undecodable_never_a_panic() {
        let jpeg = pictures::jpeg_with_exif(300, 200, 6, true);
        assert!(process(&jpeg).is_ok());
        for cut in [4, 20, 100, jpeg.len() / 3, jpeg.len() / 2, jpeg.len() - 2] {
            assert!(
                matches!(process(&jpeg[..cut]), Err(ImagingError::Undecodable(_))),
                "cut at {cut} of {}",
                jpeg.len()
            );
        }
        // Other formats cut short: refused or read, never a panic.
        let png = pictures::png(300, 200);
        assert!(matches!(
            process(&png[..png.len() / 2]),
            Err(ImagingError::Undecodable(_))
        ));
        let gif = pictures::gif(200, 100);
        let _ = process(&gif[..gif.len() / 2]);
    }

    #[test]
    fn a_lossy_webp_is_told_from_a_lossless_one() {
        let lossless = {
            let mut bytes = Vec::new();
            DynamicImage::new_rgb8(8, 8)
                .write_with_encoder(WebPEncoder::new_lossless(&mut bytes))
                .unwrap();
            bytes
        };
        assert!(!webp_is_lossy(&lossless));
        assert_eq!(candidates(Format::WebP, &lossless), &[Format::WebP]);
        // A simple lossy file: its bitstream's chunk is `VP8 `.
        let lossy = b"RIFF\x1a\0\0\0WEBPVP8 \x0e\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert!(webp_is_lossy(lossy));
        // An extended file: `VP8X`, then an `ALPH` chunk of odd length, then `VP8 `.
        let extended =
            b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\0\0\0\0\0\0ALPH\x01\0\0\0\0\0VP8 \0\0\0\0";
        assert!(webp_is_lossy(extended));
        assert!(!webp_is_lossy(b"RIFF\0\0\0\0WEBP"));
    }
}
