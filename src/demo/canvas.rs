//! A small painter for the demo illustrations: a canvas of colours, soft gradients, and shapes
//! with smooth edges (each shape is a signed distance: negative inside, in pixels, so its edge
//! is blended over one pixel), and a seeded random source.
//!
//! Rules: everything here is deterministic (no clock, no operating-system randomness, no
//! threads): the same calls give the same pixels, so the same picture hashes the same on
//! every machine and instance. Shapes are painted within their bounding box only, so a debug
//! build still draws a picture in a fraction of a second.

use image::RgbImage;

/// A colour, each channel from 0 to 1.
pub type Rgb = [f32; 3];

/// A colour from its `0xRRGGBB` value. Inside a closure run for every pixel, write
/// `const { hex(..) }`: a debug build would convert it again for each pixel otherwise.
pub const fn hex(value: u32) -> Rgb {
    [
        ((value >> 16) & 0xFF) as f32 / 255.0,
        ((value >> 8) & 0xFF) as f32 / 255.0,
        (value & 0xFF) as f32 / 255.0,
    ]
}

/// `a` at 0, `b` at 1.
pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// 0 below `edge0`, 1 above `edge1`, smooth between.
pub fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// How much of a pixel a shape covers, from the signed distance of its centre to the edge.
pub fn coverage(distance: f32) -> f32 {
    (0.5 - distance).clamp(0.0, 1.0)
}

/// Distance to a circle.
pub fn circle(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> f32 {
    (x - cx).hypot(y - cy) - r
}

/// Distance to a box from `(x0, y0)` to `(x1, y1)` with corners rounded by `r`.
pub fn rounded_box(x: f32, y: f32, (x0, y0, x1, y1): (f32, f32, f32, f32), r: f32) -> f32 {
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let (hx, hy) = ((x1 - x0) / 2.0 - r, (y1 - y0) / 2.0 - r);
    let (qx, qy) = ((x - cx).abs() - hx, (y - cy).abs() - hy);
    qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0) - r
}

/// Distance to a stroke `width` wide from `a` to `b`, with round ends.
pub fn segment(x: f32, y: f32, a: (f32, f32), b: (f32, f32), width: f32) -> f32 {
    let (px, py) = (x - a.0, y - a.1);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length = dx * dx + dy * dy;
    let t = if length > 0.0 {
        ((px * dx + py * dy) / length).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (px - dx * t).hypot(py - dy * t) - width / 2.0
}

/// A convex polygon, ready for distances: its edges' outward normals worked out once.
pub struct Convex {
    /// A point of each edge and its outward unit normal.
    edges: Vec<[f32; 4]>,
}

impl Convex {
    /// From its corners, in either turning order.
    pub fn new(corners: &[(f32, f32)]) -> Self {
        let next = || corners.iter().cycle().skip(1);
        let area: f32 = corners
            .iter()
            .zip(next())
            .map(|(a, b)| a.0 * b.1 - b.0 * a.1)
            .sum();
        let turn = if area < 0.0 { -1.0 } else { 1.0 };
        let edges = corners
            .iter()
            .zip(next())
            .map(|(a, b)| {
                let (ex, ey) = (b.0 - a.0, b.1 - a.1);
                let length = ex.hypot(ey).max(f32::EPSILON);
                // The outward normal of a counter-clockwise edge (y down) is (ey, -ex).
                [a.0, a.1, turn * ey / length, -turn * ex / length]
            })
            .collect();
        Self { edges }
    }

    /// The distance from a point to the polygon: exact inside and along the edges, which is
    /// all the smoothing needs.
    pub fn distance(&self, x: f32, y: f32) -> f32 {
        let mut distance = f32::MIN;
        for edge in &self.edges {
            distance = distance.max((x - edge[0]) * edge[2] + (y - edge[1]) * edge[3]);
        }
        distance
    }
}

/// Distance to an ellipse of radii `rx`, `ry` turned by `angle` radians (close to the edge,
/// which is where it matters).
pub fn ellipse(x: f32, y: f32, (cx, cy): (f32, f32), (rx, ry): (f32, f32), angle: f32) -> f32 {
    let (sin, cos) = angle.sin_cos();
    let (dx, dy) = (x - cx, y - cy);
    let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
    let k = (u / rx).hypot(v / ry);
    (k - 1.0) * rx.min(ry)
}

/// A picture being painted.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<Rgb>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width as usize, height as usize);
        Self {
            width,
            height,
            pixels: vec![[0.0; 3]; width * height],
        }
    }

    pub fn width(&self) -> f32 {
        self.width as f32
    }

    pub fn height(&self) -> f32 {
        self.height as f32
    }

    /// Fills the whole canvas with colours from top to bottom: `stops` are (place from 0 at
    /// the top to 1 at the bottom, colour), in order.
    pub fn vertical_gradient(&mut self, stops: &[(f32, Rgb)]) {
        for y in 0..self.height {
            let place = (y as f32 + 0.5) / self.height as f32;
            let colour = along(stops, place);
            self.pixels[y * self.width..(y + 1) * self.width].fill(colour);
        }
    }

    /// Paints `paint(x, y)` = (colour, opacity) over the pixels of a box (clipped to the
    /// canvas), `x` and `y` being the pixel's centre.
    pub fn paint(
        &mut self,
        (x0, y0, x1, y1): (f32, f32, f32, f32),
        mut paint: impl FnMut(f32, f32) -> (Rgb, f32),
    ) {
        let columns = self.span(x0, x1, self.width);
        let rows = self.span(y0, y1, self.height);
        for row in rows {
            let y = row as f32 + 0.5;
            let line = &mut self.pixels[row * self.width..(row + 1) * self.width];
            for column in columns.clone() {
                let (colour, opacity) = paint(column as f32 + 0.5, y);
                if opacity > 0.0 {
                    let pixel = &mut line[column];
                    let opacity = opacity.min(1.0);
                    pixel[0] += (colour[0] - pixel[0]) * opacity;
                    pixel[1] += (colour[1] - pixel[1]) * opacity;
                    pixel[2] += (colour[2] - pixel[2]) * opacity;
                }
            }
        }
    }

    /// A shape in one colour: `distance(x, y)` is its signed distance, `bounds` a box holding it.
    pub fn shape(
        &mut self,
        bounds: (f32, f32, f32, f32),
        colour: Rgb,
        opacity: f32,
        distance: impl Fn(f32, f32) -> f32,
    ) {
        let (x0, y0, x1, y1) = bounds;
        self.paint((x0 - 1.0, y0 - 1.0, x1 + 1.0, y1 + 1.0), |x, y| {
            (colour, opacity * coverage(distance(x, y)))
        });
    }

    pub fn circle(&mut self, (cx, cy): (f32, f32), r: f32, colour: Rgb, opacity: f32) {
        self.shape((cx - r, cy - r, cx + r, cy + r), colour, opacity, |x, y| {
            circle(x, y, cx, cy, r)
        });
    }

    pub fn rounded_box(&mut self, bounds: (f32, f32, f32, f32), r: f32, colour: Rgb, opacity: f32) {
        self.shape(bounds, colour, opacity, |x, y| rounded_box(x, y, bounds, r));
    }

    pub fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, colour: Rgb, opacity: f32) {
        let pad = width / 2.0;
        let bounds = (
            a.0.min(b.0) - pad,
            a.1.min(b.1) - pad,
            a.0.max(b.0) + pad,
            a.1.max(b.1) + pad,
        );
        self.shape(bounds, colour, opacity, |x, y| segment(x, y, a, b, width));
    }

    /// A stroke through `points`. Where two pieces meet, each pixel is painted by the nearer
    /// one only, so a see-through stroke has no darker knots at its joints.
    pub fn polyline(&mut self, points: &[(f32, f32)], width: f32, colour: Rgb, opacity: f32) {
        let pad = width / 2.0 + 1.0;
        for (index, pair) in points.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let before = index.checked_sub(1).map(|previous| (points[previous], a));
            let after = points.get(index + 2).map(|&next| (b, next));
            let bounds = (
                a.0.min(b.0) - pad,
                a.1.min(b.1) - pad,
                a.0.max(b.0) + pad,
                a.1.max(b.1) + pad,
            );
            self.paint(bounds, |x, y| {
                let distance = segment(x, y, a, b, width);
                let nearer_before =
                    before.is_some_and(|(p, q)| segment(x, y, p, q, width) <= distance);
                let nearer_after =
                    after.is_some_and(|(p, q)| segment(x, y, p, q, width) < distance);
                if nearer_before || nearer_after {
                    return (colour, 0.0);
                }
                (colour, opacity * coverage(distance))
            });
        }
    }

    pub fn polygon(&mut self, corners: &[(f32, f32)], colour: Rgb, opacity: f32) {
        let bounds = corners.iter().fold(
            (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
            |(x0, y0, x1, y1), &(x, y)| (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
        );
        let polygon = Convex::new(corners);
        self.shape(bounds, colour, opacity, |x, y| polygon.distance(x, y));
    }

    /// A soft light: `colour` at `strength` in the middle, fading to nothing at `radius`.
    pub fn glow(&mut self, (cx, cy): (f32, f32), radius: f32, colour: Rgb, strength: f32) {
        self.paint(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            |x, y| {
                let fade = 1.0 - (x - cx).hypot(y - cy) / radius;
                (colour, strength * fade.max(0.0).powi(2))
            },
        );
    }

    /// Fills everything below a skyline: `top(x)` is the height of its edge at column `x`,
    /// `colour(y)` the fill at row `y` (a haze, a shadow).
    pub fn ridge(&mut self, top: &[f32], colour: impl Fn(f32) -> Rgb) {
        let colours: Vec<Rgb> = (0..self.height)
            .map(|row| colour(row as f32 + 0.5))
            .collect();
        for (column, &edge) in top.iter().enumerate().take(self.width) {
            let first = edge.floor().max(0.0) as usize;
            for (row, &colour) in colours.iter().enumerate().skip(first) {
                let cover = (row as f32 + 1.0 - edge).clamp(0.0, 1.0);
                let pixel = &mut self.pixels[row * self.width + column];
                *pixel = mix(*pixel, colour, cover);
            }
        }
    }

    /// The picture in 8 bits a channel, with a fixed ordered dither so gradients do not band.
    pub fn into_image(self) -> RgbImage {
        const BAYER: [[f32; 4]; 4] = [
            [0.0, 8.0, 2.0, 10.0],
            [12.0, 4.0, 14.0, 6.0],
            [3.0, 11.0, 1.0, 9.0],
            [15.0, 7.0, 13.0, 5.0],
        ];
        let mut bytes = Vec::with_capacity(self.pixels.len() * 3);
        for row in 0..self.height {
            let thresholds = BAYER[row % 4].map(|step| step / 16.0 + 0.03);
            for (column, pixel) in self.pixels[row * self.width..(row + 1) * self.width]
                .iter()
                .enumerate()
            {
                let threshold = thresholds[column % 4];
                // `as u8` saturates: below 0 is 0, above 255 is 255.
                bytes.push((pixel[0] * 255.0 + threshold) as u8);
                bytes.push((pixel[1] * 255.0 + threshold) as u8);
                bytes.push((pixel[2] * 255.0 + threshold) as u8);
            }
        }
        // The buffer has exactly width × height pixels, so this never fails.
        RgbImage::from_raw(self.width as u32, self.height as u32, bytes)
            .unwrap_or_else(|| RgbImage::new(1, 1))
    }

    fn span(&self, from: f32, to: f32, limit: usize) -> std::ops::Range<usize> {
        let start = from.floor().max(0.0) as usize;
        let end = (to.ceil().max(0.0) as usize).min(limit);
        start.min(end)..end
    }
}

/// The colour at `place` along gradient `stops`.
pub fn along(stops: &[(f32, Rgb)], place: f32) -> Rgb {
    let Some(&(first_place, first)) = stops.first() else {
        return [0.0; 3];
    };
    if place <= first_place {
        return first;
    }
    for pair in stops.windows(2) {
        let ((a_place, a), (b_place, b)) = (pair[0], pair[1]);
        if place <= b_place {
            return mix(a, b, smoothstep(a_place, b_place, place));
        }
    }
    stops.last().map_or(first, |&(_, last)| last)
}

/// A seeded random source (SplitMix64): the same seed gives the same numbers everywhere.
pub struct Dice(u64);

impl Dice {
    /// Seeded by a text (FNV-1a of its bytes).
    pub fn from_text(text: &str) -> Self {
        let seed = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number from 0 (included) to 1 (excluded).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// A number from `low` to `high`.
    pub fn between(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// True once in `1 / chance` draws.
    pub fn chance(&mut self, chance: f32) -> bool {
        self.unit() < chance
    }

    /// One of `choices`.
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        let index = (self.next_u64() % choices.len().max(1) as u64) as usize;
        choices[index.min(choices.len().saturating_sub(1))]
    }
}

/// A smooth random line across the canvas: `width` heights around `base`, rising and falling
/// by up to `amplitude`, with detail from `octaves` layers (each twice as fine, half as tall)
/// starting at features about `scale` pixels wide.
pub fn skyline(
    dice: &mut Dice,
    width: usize,
    base: f32,
    amplitude: f32,
    scale: f32,
    octaves: u32,
) -> Vec<f32> {
    let layers: Vec<Vec<f32>> = (0..octaves)
        .map(|octave| {
            let step = scale / 2f32.powi(octave as i32);
            let knots = (width as f32 / step).ceil() as usize + 2;
            (0..knots).map(|_| dice.between(-1.0, 1.0)).collect()
        })
        .collect();
    (0..width)
        .map(|x| {
            let mut height = 0.0;
            let mut weight = 1.0;
            let mut total = 0.0;
            for (octave, knots) in layers.iter().enumerate() {
                let step = scale / 2f32.powi(octave as i32);
                let place = x as f32 / step;
                let index = place.floor() as usize;
                let t = smoothstep(0.0, 1.0, place.fract());
                let (a, b) = (knots[index], knots[index + 1]);
                height += weight * (a + (b - a) * t);
                total += weight;
                weight /= 2.0;
            }
            base - amplitude * height / total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_covers_its_inside_and_blends_its_edge() {
        let mut canvas = Canvas::new(20, 20);
        canvas.circle((10.0, 10.0), 5.0, [1.0; 3], 1.0);
        let image = canvas.into_image();
        assert_eq!(image.get_pixel(10, 10).0, [255; 3]);
        assert_eq!(image.get_pixel(1, 1).0, [0; 3]);
        let edge = image.get_pixel(14, 12).0[0];
        assert!(edge > 0 && edge < 255, "edge {edge}");
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_another_seed_others() {
        let draw = |text: &str| {
            let mut dice = Dice::from_text(text);
            (0..8).map(|_| dice.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw("night-trains"), draw("night-trains"));
        assert_ne!(draw("night-trains"), draw("night-sky"));
        let mut dice = Dice::from_text("range");
        assert!((0..1000).all(|_| (0.0..1.0).contains(&dice.unit())));
    }

    #[test]
    fn a_skyline_stays_within_its_amplitude() {
        let mut dice = Dice::from_text("hills");
        let line = skyline(&mut dice, 300, 100.0, 20.0, 80.0, 3);
        assert_eq!(line.len(), 300);
        assert!(line.iter().all(|&h| (80.0..=120.0).contains(&h)));
    }

    #[test]
    fn convex_polygons_are_inside_either_way_round() {
        let square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];
        let reversed: Vec<_> = square.iter().rev().copied().collect();
        for corners in [&square[..], &reversed[..]] {
            let polygon = Convex::new(corners);
            assert_eq!(polygon.distance(5.0, 5.0), -5.0);
            assert_eq!(polygon.distance(15.0, 5.0), 5.0);
        }
    }
}
