//! Pictures made in memory for tests: JPEGs carrying EXIF (an orientation, a GPS position),
//! PNGs, two-frame GIFs, and PNGs whose header claims far more pixels than their data holds.
//! Also read by `src/imaging.rs`'s unit tests, so both build their inputs the same way.

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{Delay, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// The latitude `jpeg_with_exif` writes with GPS, as EXIF rationals: 51° 30' 26.42".
pub const GPS_LATITUDE: [(u32, u32); 3] = [(51, 1), (30, 1), (2642, 100)];
/// The longitude: 0° 7' 39.41".
pub const GPS_LONGITUDE: [(u32, u32); 3] = [(0, 1), (7, 1), (3941, 100)];

/// The latitude's bytes as `jpeg_with_exif` writes them (big-endian rationals): a test looks
/// for them in what was written out.
pub fn gps_latitude_bytes() -> Vec<u8> {
    rationals(&GPS_LATITUDE)
}

fn rationals(values: &[(u32, u32)]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|(numerator, denominator)| {
            [numerator.to_be_bytes(), denominator.to_be_bytes()].concat()
        })
        .collect()
}

/// A photo-like picture, `width` × `height` as stored: a gradient, with its top-left corner
/// (a square of a third of the shorter side) pure red, so a test can tell where it went.
fn photo(width: u32, height: u32) -> RgbImage {
    let corner = width.min(height) / 3;
    RgbImage::from_fn(width, height, |x, y| {
        if x < corner && y < corner {
            Rgb([255, 0, 0])
        } else {
            let shade = |value: u32, size: u32| (value * 160 / size.max(1)) as u8;
            Rgb([shade(x, width) / 2, 60 + shade(y, height), 200])
        }
    })
}

/// A JPEG `width` × `height` as stored, with an EXIF block (APP1, right after SOI) giving its
/// `orientation` (1 to 8: 6 is "turn 90° clockwise to show") and, `with_gps`, a GPS position
/// ([`GPS_LATITUDE`], [`GPS_LONGITUDE`]).
pub fn jpeg_with_exif(width: u32, height: u32, orientation: u16, with_gps: bool) -> Vec<u8> {
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&photo(width, height))
        .expect("encoding a JPEG");
    let app1 = exif_app1(orientation, with_gps);
    // SOI, the EXIF segment, then the rest as encoded.
    [&jpeg[..2], &app1, &jpeg[2..]].concat()
}

/// An APP1 segment: marker, length, `Exif\0\0`, then a big-endian TIFF structure: IFD0 with the
/// orientation and, with GPS, a pointer to a GPS IFD with latitude and longitude.
pub fn exif_app1(orientation: u16, with_gps: bool) -> Vec<u8> {
    // Offsets are from the TIFF header's start.
    const IFD0: u32 = 8;
    let ifd0_entries: u16 = if with_gps { 2 } else { 1 };
    let ifd0_len = 2 + 12 * u32::from(ifd0_entries) + 4;
    let gps_ifd = IFD0 + ifd0_len;
    let gps_ifd_len = 2 + 12 * 4 + 4;
    let latitude_at = gps_ifd + gps_ifd_len;
    let longitude_at = latitude_at + 24;

    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        tiff.extend_from_slice(&tag.to_be_bytes());
        tiff.extend_from_slice(&kind.to_be_bytes());
        tiff.extend_from_slice(&count.to_be_bytes());
        tiff.extend_from_slice(&value);
    };
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;

    let mut tiff = b"MM\0\x2a".to_vec();
    tiff.extend_from_slice(&IFD0.to_be_bytes());
    tiff.extend_from_slice(&ifd0_entries.to_be_bytes());
    let [high, low] = orientation.to_be_bytes();
    entry(&mut tiff, 0x0112, SHORT, 1, [high, low, 0, 0]);
    if with_gps {
        entry(&mut tiff, 0x8825, LONG, 1, gps_ifd.to_be_bytes());
    }
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    if with_gps {
        tiff.extend_from_slice(&4u16.to_be_bytes());
        entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
        entry(&mut tiff, 0x0002, RATIONAL, 3, latitude_at.to_be_bytes());
        entry(&mut tiff, 0x0003, ASCII, 2, *b"W\0\0\0");
        entry(&mut tiff, 0x0004, RATIONAL, 3, longitude_at.to_be_bytes());
        tiff.extend_from_slice(&0u32.to_be_bytes());
        tiff.extend_from_slice(&rationals(&GPS_LATITUDE));
        tiff.extend_from_slice(&rationals(&GPS_LONGITUDE));
    }

    let payload = [b"Exif\0\0".as_slice(), &tiff].concat();
    let length = u16::try_from(payload.len() + 2).expect("a small EXIF block");
    [&[0xFF, 0xE1][..], &length.to_be_bytes(), &payload].concat()
}

/// An opaque PNG `width` × `height`: the same gradient as the JPEGs'.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    photo(width, height)
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .expect("encoding a PNG");
    png
}

/// A decompression bomb: a valid PNG header claiming `width` × `height` RGB pixels, followed
/// by a few bytes of data and the end. Under 100 bytes whatever it claims.
pub fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8 bits, RGB, deflate, adaptive filtering, not interlaced.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of one empty stored block: far fewer bytes than the rows need.
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).expect("a small chunk");
    png.extend_from_slice(&length.to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&[kind.as_slice(), data].concat());
    png.extend_from_slice(&crc.to_be_bytes());
}

/// The CRC-32 of PNG chunks (and zlib, gzip): reflected, polynomial 0xEDB88320.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An animated GIF `width` × `height` of two frames: the first red with its right half
/// transparent, the second all green.
pub fn gif(width: u32, height: u32) -> Vec<u8> {
    let first = RgbaImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let second = RgbaImage::from_pixel(width, height, Rgba([0, 255, 0, 255]));
    let delay = Delay::from_numer_denom_ms(100, 1);
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif)
        .encode_frames([
            Frame::from_parts(first, 0, 0, delay),
            Frame::from_parts(second, 0, 0, delay),
        ])
        .expect("encoding a GIF");
    gif
}
