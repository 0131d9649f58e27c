//! What making the variants of a large photo costs: time and peak memory. A synthetic
//! 40-megapixel photo (7744 × 5164: gradients, soft shapes and sensor-like noise, so it
//! compresses like one) is encoded as a JPEG in memory, then `imaging::process` makes its
//! variants, once as stored and once with an EXIF orientation that turns it sideways.
//!
//! The peak resident memory is the kernel's high-water mark (`VmHWM`), reset after the photo
//! is made (`/proc/self/clear_refs`), so what is reported is the processing's alone, above
//! the photo's own bytes.
//!
//! Usage: `cargo run --release --example imaging [WIDTH HEIGHT]`.

use std::time::Instant;

use gazette::imaging;
use image::codecs::jpeg::JpegEncoder;
use image::{GenericImageView, Rgb};

/// A photo computed pixel by pixel as the encoder asks, so that making it takes no buffer.
struct Synthetic {
    width: u32,
    height: u32,
}

impl GenericImageView for Synthetic {
    type Pixel = Rgb<u8>;

    fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn get_pixel(&self, x: u32, y: u32) -> Rgb<u8> {
        let (fx, fy) = (
            f64::from(x) / f64::from(self.width),
            f64::from(y) / f64::from(self.height),
        );
        // A sky-to-ground gradient and a few soft round shapes.
        let shapes =
            ((fx * 9.0).sin() * (fy * 7.0).cos() * 40.0) + ((fx * 31.0 + fy * 17.0).sin() * 12.0);
        let noise = |channel: u32| {
            let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ channel;
            h ^= h >> 15;
            h = h.wrapping_mul(0x2C1B_3C6D);
            h ^= h >> 12;
            f64::from(h & 0x0F) - 7.5
        };
        let channel = |base: f64, slope: f64, c: u32| {
            (base + slope * fy + shapes + noise(c)).clamp(0.0, 255.0) as u8
        };
        Rgb([
            channel(90.0, 80.0, 0),
            channel(130.0, 30.0, 1),
            channel(200.0, -120.0, 2),
        ])
    }
}

/// One line of `/proc/self/status`, in kB.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn reset_peak() {
    // "5": the peak resident size becomes the current one (Linux 4.0 and later).
    if std::fs::write("/proc/self/clear_refs", "5").is_err() {
        eprintln!("could not reset the peak; it includes making the photo");
    }
}

/// The JPEG with an APP1 EXIF block right after SOI giving orientation 6 (turn 90° clockwise).
fn with_orientation_6(jpeg: &[u8]) -> Vec<u8> {
    let tiff: &[u8] = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
    let payload = [b"Exif\0\0".as_slice(), tiff].concat();
    let length = (payload.len() as u16 + 2).to_be_bytes();
    [&jpeg[..2], &[0xFF, 0xE1], &length, &payload, &jpeg[2..]].concat()
}

fn run(label: &str, jpeg: &[u8]) {
    reset_peak();
    let before = status_kb("VmRSS");
    let started = Instant::now();
    let processed = match imaging::process(jpeg) {
        Ok(processed) => processed,
        Err(error) => {
            eprintln!("{label}: {error}");
            std::process::exit(1);
        }
    };
    let elapsed = started.elapsed();
    let peak = status_kb("VmHWM");
    println!(
        "{label}: {} × {} upright, {} variants in {:.2} s; resident {} before, peak {} (+{})",
        processed.width,
        processed.height,
        processed.variants.len(),
        elapsed.as_secs_f64(),
        mib(before),
        mib(peak),
        mib(peak.saturating_sub(before)),
    );
    for variant in &processed.variants {
        println!(
            "  {:>5} × {:<5} {:<4} {:>8} bytes",
            variant.variant.width,
            variant.variant.height,
            variant.variant.format.name(),
            variant.bytes.len()
        );
    }
}

fn main() {
    gazette::allocator::return_large_blocks_to_the_system();
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>().ok());
    let width = args.next().flatten().unwrap_or(7744);
    let height = args.next().flatten().unwrap_or(5164);

    let started = Instant::now();
    let mut jpeg = Vec::new();
    if let Err(error) =
        JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&Synthetic { width, height })
    {
        eprintln!("making the photo: {error}");
        std::process::exit(1);
    }
    println!(
        "photo: {width} × {height} ({:.1} MP), JPEG {:.1} MB, made in {:.1} s; resident {}",
        f64::from(width) * f64::from(height) / 1e6,
        jpeg.len() as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        mib(status_kb("VmRSS")),
    );

    run("as stored", &jpeg);
    let turned = with_orientation_6(&jpeg);
    drop(jpeg);
    run("orientation 6", &turned);
}
