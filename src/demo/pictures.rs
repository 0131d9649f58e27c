//! The demo articles' feature images: one illustration per article, drawn here at first start
//! (nothing fetched, no image file in the repository), 1600 × 900, encoded as JPEG and put
//! through the media library like any upload.
//!
//! Rules:
//! - Each article's header names its [`Scene`] (`picture: night-train`); the scene's alt text
//!   describes what its drawing shows, so a change to one is a change to the other.
//! - Drawing is deterministic: the same scene and seed give the same bytes, so instances
//!   starting at once make the same picture and the library keeps one.

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;

use super::canvas::{
    Canvas, Convex, Dice, Rgb, along, circle, coverage, ellipse, hex, mix, rounded_box, skyline,
    smoothstep,
};

pub const WIDTH: u32 = 1600;
pub const HEIGHT: u32 = 900;
/// The credit line under every demo picture.
pub const CREDIT: &str = "Illustration: Gazette demo";
/// What the JPEG is written at: smooth gradients without visible blocks.
const JPEG_QUALITY: u8 = 90;

const W: f32 = WIDTH as f32;
const H: f32 = HEIGHT as f32;

/// What a demo picture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scene {
    NightTrain,
    Sourdough,
    Lighthouse,
    CityHeat,
    FourDays,
    ForestNetwork,
    Servers,
    Patchwork,
    Arches,
    Crows,
    PrairieNoon,
    NightSky,
    Lamppost,
}

impl Scene {
    pub const ALL: [Self; 13] = [
        Self::NightTrain,
        Self::Sourdough,
        Self::Lighthouse,
        Self::CityHeat,
        Self::FourDays,
        Self::ForestNetwork,
        Self::Servers,
        Self::Patchwork,
        Self::Arches,
        Self::Crows,
        Self::PrairieNoon,
        Self::NightSky,
        Self::Lamppost,
    ];

    /// Its name in an article's header.
    pub fn name(self) -> &'static str {
        match self {
            Self::NightTrain => "night-train",
            Self::Sourdough => "sourdough",
            Self::Lighthouse => "lighthouse",
            Self::CityHeat => "city-heat",
            Self::FourDays => "four-days",
            Self::ForestNetwork => "forest-network",
            Self::Servers => "servers",
            Self::Patchwork => "patchwork",
            Self::Arches => "arches",
            Self::Crows => "crows",
            Self::PrairieNoon => "prairie-noon",
            Self::NightSky => "night-sky",
            Self::Lamppost => "lamppost",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scene| scene.name() == name)
    }

    /// What the picture shows, for readers who do not see it.
    pub fn alt(self) -> &'static str {
        match self {
            Self::NightTrain => {
                "A night train with warm lit windows crossing a stone viaduct at dusk, under a \
                 pale moon, with blue hills fading behind it."
            }
            Self::Sourdough => {
                "A glass jar of bubbly sourdough starter with a wooden lid and a red band marking \
                 how far it has risen, on a kitchen counter against a warm cream wall."
            }
            Self::Lighthouse => {
                "A white lighthouse with red bands on a dark headland at dusk, its beam reaching \
                 out over a calm sea under the first stars."
            }
            Self::CityHeat => {
                "A city skyline at sunset: dark towers with glowing windows against a red and \
                 orange sky, the sun sinking behind them."
            }
            Self::FourDays => {
                "An abstract calendar of five tall cards: four in bright colours filled with \
                 lines of work, and a pale fifth one holding only a small sun."
            }
            Self::ForestNetwork => {
                "A misty pine forest above a cut-away of dark soil, where fine golden threads run \
                 between the roots of the trees."
            }
            Self::Servers => {
                "A row of plain grey server cabinets in a dim blue room, their small status lights \
                 glowing green, with the odd amber one."
            }
            Self::Patchwork => {
                "A patchwork of fabric squares in warm colours, plain, striped, dotted and \
                 checked, joined by visible stitches and mended with two small patches, with a \
                 needle and red thread."
            }
            Self::Arches => {
                "A long corridor of sandstone arches receding towards a bright doorway, each \
                 arch paler than the one before."
            }
            Self::Crows => {
                "Two black crows perched on a power line against a pale winter sky, above the \
                 bare branches of trees."
            }
            Self::PrairieNoon => {
                "A steam train crossing a golden prairie under a great clock face whose hands \
                 both point to twelve."
            }
            Self::NightSky => {
                "The Milky Way arching across a starry sky above dark hills, where a small house \
                 shows a single lit window."
            }
            Self::Lamppost => {
                "A crow perched on top of a glowing street lamp at dusk, above the dark rooftops \
                 of a town, with more crows flying home."
            }
        }
    }

    /// The picture, 1600 × 900; `seed` varies the details (the article's slug).
    pub fn draw(self, seed: &str) -> image::RgbImage {
        let mut canvas = Canvas::new(WIDTH, HEIGHT);
        let mut dice = Dice::from_text(&format!("{}/{seed}", self.name()));
        let (c, d) = (&mut canvas, &mut dice);
        match self {
            Self::NightTrain => night_train(c, d),
            Self::Sourdough => sourdough(c, d),
            Self::Lighthouse => lighthouse(c, d),
            Self::CityHeat => city_heat(c, d),
            Self::FourDays => four_days(c, d),
            Self::ForestNetwork => forest_network(c, d),
            Self::Servers => servers(c, d),
            Self::Patchwork => patchwork(c, d),
            Self::Arches => arches(c, d),
            Self::Crows => crows(c, d),
            Self::PrairieNoon => prairie_noon(c, d),
            Self::NightSky => night_sky(c, d),
            Self::Lamppost => lamppost(c, d),
        }
        canvas.into_image()
    }

    /// The picture as a JPEG file.
    pub fn jpeg(self, seed: &str) -> Result<Vec<u8>, image::ImageError> {
        let picture = self.draw(seed);
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).write_image(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )?;
        Ok(bytes)
    }
}

/// Small stars over the canvas down to `lowest`.
fn stars(c: &mut Canvas, d: &mut Dice, count: usize, lowest: f32, brightness: f32) {
    for _ in 0..count {
        let at = (d.between(0.0, W), d.between(0.0, lowest));
        let size = d.between(0.5, 1.3);
        let fade = 1.0 - smoothstep(lowest * 0.6, lowest, at.1);
        c.circle(
            at,
            size,
            hex(0xf4f1ff),
            brightness * d.between(0.3, 1.0) * fade,
        );
    }
}

/// Points along a quadratic curve from `a` to `b` bent towards `bend`.
fn curve(a: (f32, f32), bend: (f32, f32), b: (f32, f32), steps: usize) -> Vec<(f32, f32)> {
    (0..=steps)
        .map(|step| {
            let t = step as f32 / steps as f32;
            let u = 1.0 - t;
            (
                u * u * a.0 + 2.0 * u * t * bend.0 + t * t * b.0,
                u * u * a.1 + 2.0 * u * t * bend.1 + t * t * b.1,
            )
        })
        .collect()
}

fn night_train(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0x0e1433)),
        (0.35, hex(0x2b2f63)),
        (0.6, hex(0x8a5c86)),
        (0.72, hex(0xe6a07f)),
    ]);
    stars(c, d, 120, 380.0, 0.8);
    let moon = (d.between(1100.0, 1380.0), d.between(130.0, 200.0));
    c.glow(moon, 300.0, hex(0xf6efd8), 0.25);
    c.circle(moon, 52.0, hex(0xf6efd8), 1.0);

    let far = skyline(d, WIDTH as usize, 560.0, 60.0, 420.0, 3);
    c.ridge(&far, |y| {
        mix(hex(0x6a6598), hex(0x45477c), smoothstep(480.0, 800.0, y))
    });
    let middle = skyline(d, WIDTH as usize, 640.0, 45.0, 300.0, 3);
    c.ridge(&middle, |y| {
        mix(hex(0x34366a), hex(0x23254b), smoothstep(580.0, 900.0, y))
    });
    // Mist in the valley, under the viaduct.
    c.paint((0.0, 600.0, W, 780.0), |_, y| {
        let bump = 1.0 - ((y - 690.0) / 90.0).powi(2);
        (const { hex(0xc9a6b5) }, 0.22 * bump.max(0.0))
    });

    let stone = hex(0x1a1c3a);
    let deck = 520.0;
    c.rounded_box((-10.0, deck, W + 10.0, deck + 22.0), 2.0, stone, 1.0);
    let span = 170.0;
    let first = d.between(0.0, span);
    let piers: Vec<f32> = (-1..11).map(|i| first + i as f32 * span).collect();
    for &x in &piers {
        c.polygon(
            &[
                (x - 15.0, deck),
                (x + 15.0, deck),
                (x + 24.0, H),
                (x - 24.0, H),
            ],
            stone,
            1.0,
        );
    }
    for pair in piers.windows(2) {
        let (left, right) = (pair[0], pair[1]);
        let middle = (left + right) / 2.0;
        let bounds = (left, deck, right, deck + 110.0);
        c.shape(bounds, stone, 1.0, |x, y| {
            rounded_box(x, y, bounds, 0.0).max(-circle(x, y, middle, deck + 100.0, 72.0))
        });
    }

    // The train, heading right, its windows lit.
    let cars = 6;
    let start = d.between(240.0, 420.0);
    let (top, bottom) = (deck - 48.0, deck - 4.0);
    for car in 0..cars {
        let x0 = start + car as f32 * 156.0;
        let x1 = x0 + 150.0;
        let nose = if car == cars - 1 { 22.0 } else { 7.0 };
        c.rounded_box((x0, top, x1, bottom), nose, hex(0x12142c), 1.0);
        for wheel in [x0 + 22.0, x0 + 42.0, x1 - 42.0, x1 - 22.0] {
            c.circle((wheel, bottom + 1.0), 5.5, hex(0x0b0c1c), 1.0);
        }
        let windows = if car == cars - 1 { 2 } else { 5 };
        for window in 0..windows {
            let wx = x0 + 14.0 + window as f32 * 26.0;
            if d.chance(0.85) {
                c.glow((wx + 8.0, top + 18.0), 26.0, hex(0xffc46b), 0.3);
                c.rounded_box(
                    (wx, top + 11.0, wx + 16.0, top + 24.0),
                    2.0,
                    hex(0xffd48a),
                    1.0,
                );
            } else {
                c.rounded_box(
                    (wx, top + 11.0, wx + 16.0, top + 24.0),
                    2.0,
                    hex(0x2a2c4c),
                    1.0,
                );
            }
        }
    }
    let front = start + cars as f32 * 156.0 - 6.0;
    c.glow((front, bottom - 12.0), 150.0, hex(0xffe7b0), 0.35);
    c.circle((front - 3.0, bottom - 12.0), 4.0, hex(0xfff4d8), 1.0);

    let near = skyline(d, WIDTH as usize, 800.0, 35.0, 500.0, 3);
    c.ridge(&near, |y| {
        mix(hex(0x13152f), hex(0x0a0b1c), smoothstep(760.0, 900.0, y))
    });
}

fn sourdough(c: &mut Canvas, d: &mut Dice) {
    let counter = 760.0;
    c.vertical_gradient(&[
        (0.0, hex(0xf4e6c8)),
        (0.84, hex(0xe8cfa0)),
        (0.845, hex(0xb47e51)),
        (1.0, hex(0x7d5232)),
    ]);
    c.glow((380.0, 160.0), 900.0, hex(0xfff7e6), 0.4);
    c.line((-5.0, counter), (W + 5.0, counter), 5.0, hex(0xc8976a), 1.0);
    for _ in 0..14 {
        let y = d.between(counter + 14.0, H - 6.0);
        let x = d.between(-200.0, W);
        let length = d.between(200.0, 700.0);
        c.line(
            (x, y),
            (x + length, y + d.between(-4.0, 4.0)),
            d.between(1.5, 3.0),
            hex(0x6b4429),
            0.22,
        );
    }

    let jar = (590.0, 230.0, 1010.0, counter);
    // Its shadow on the counter.
    c.paint((520.0, counter - 10.0, 1080.0, counter + 40.0), |x, y| {
        let k = ((x - 800.0) / 260.0).hypot((y - counter - 4.0) / 16.0);
        (
            const { hex(0x4a2e1b) },
            0.35 * (1.0 - smoothstep(0.6, 1.0, k)),
        )
    });
    c.rounded_box(jar, 70.0, hex(0xfbf6ea), 0.45);

    // The starter: a domed, bubbly surface inside the glass.
    let inside = (jar.0 + 14.0, jar.1 + 14.0, jar.2 - 14.0, jar.3 - 14.0);
    let level = d.between(330.0, 370.0);
    let surface = skyline(d, WIDTH as usize, level, 12.0, 70.0, 2);
    c.paint(inside, |x, y| {
        let edge = rounded_box(x, y, inside, 58.0);
        let top = surface[x as usize % surface.len()];
        let cover = coverage(edge.max(top - y));
        let depth = smoothstep(level, inside.3, y);
        let colour = mix(const { hex(0xecdcb4) }, const { hex(0xcfab72) }, depth);
        // A darker skin where the starter meets the air.
        let skin = 1.0 - smoothstep(0.0, 5.0, y - top);
        (mix(colour, const { hex(0xc29a5e) }, skin), cover)
    });
    for _ in 0..190 {
        let r = 3.0 + 22.0 * d.unit().powi(3);
        let x = d.between(inside.0 + r + 10.0, inside.2 - r - 10.0);
        let y = d.between(level + r + 24.0, inside.3 - r - 12.0);
        c.circle((x, y), r, hex(0xf8efd9), 0.8);
        c.shape(
            (x - r, y - r, x + r, y + r),
            hex(0xad8650),
            0.75,
            |px, py| circle(px, py, x, y, r).abs() - 0.9,
        );
        c.circle(
            (x - r * 0.35, y - r * 0.35),
            (r * 0.22).max(0.8),
            hex(0xffffff),
            0.8,
        );
    }
    // The glass: its outline and a highlight.
    c.shape(jar, hex(0xc6b89a), 0.9, |x, y| {
        rounded_box(x, y, jar, 70.0).abs() - 2.5
    });
    c.rounded_box(
        (jar.0 + 34.0, jar.1 + 60.0, jar.0 + 58.0, jar.3 - 80.0),
        12.0,
        hex(0xffffff),
        0.28,
    );
    // The band marking where the starter stood when it was fed.
    let band = level + d.between(130.0, 170.0);
    c.rounded_box(
        (jar.0 - 4.0, band, jar.2 + 4.0, band + 14.0),
        6.0,
        hex(0xc0392b),
        1.0,
    );
    c.rounded_box(
        (jar.0 + 6.0, band + 3.0, jar.2 - 6.0, band + 6.0),
        1.5,
        hex(0xe26a5a),
        0.7,
    );
    // The wooden lid.
    let lid = (jar.0 - 14.0, jar.1 - 58.0, jar.2 + 14.0, jar.1 + 2.0);
    c.rounded_box(lid, 16.0, hex(0xa8713f), 1.0);
    c.rounded_box(
        (lid.0 + 10.0, lid.1 + 8.0, lid.2 - 10.0, lid.1 + 18.0),
        5.0,
        hex(0xc99462),
        0.8,
    );
    for _ in 0..5 {
        let y = d.between(lid.1 + 24.0, lid.3 - 8.0);
        c.line(
            (lid.0 + 20.0, y),
            (lid.2 - 20.0, y + d.between(-3.0, 3.0)),
            1.5,
            hex(0x7f5129),
            0.35,
        );
    }
}

fn lighthouse(c: &mut Canvas, d: &mut Dice) {
    let horizon = 570.0;
    c.vertical_gradient(&[
        (0.0, hex(0x101f36)),
        (0.33, hex(0x24486a)),
        (0.52, hex(0x7a8ea0)),
        (0.633, hex(0xf0b884)),
        (0.64, hex(0x2d5670)),
        (1.0, hex(0x0b1b2a)),
    ]);
    stars(c, d, 90, 300.0, 0.7);
    c.glow((420.0, horizon), 650.0, hex(0xf7c08a), 0.3);
    // Light on the water.
    for _ in 0..320 {
        let depth = d.unit().powi(2);
        let y = horizon + 4.0 + depth * (H - horizon);
        let x = d.between(-40.0, W);
        let length = 6.0 + 60.0 * depth * d.unit();
        let warm = 1.0 - smoothstep(0.0, 0.4, depth);
        let colour = mix(hex(0x9fb6c6), hex(0xf3c79a), warm);
        c.line(
            (x, y),
            (x + length, y),
            1.0 + 2.0 * depth,
            colour,
            d.between(0.12, 0.4),
        );
    }

    let bumps = skyline(d, WIDTH as usize, 0.0, 14.0, 90.0, 3);
    let land: Vec<f32> = (0..WIDTH as usize)
        .map(|x| {
            let x = x as f32;
            let rise = smoothstep(860.0, 1160.0, x);
            if x < 860.0 {
                H + 10.0
            } else {
                H + 10.0 - (H + 10.0 - 490.0) * rise + bumps[x as usize] * rise
            }
        })
        .collect();
    c.ridge(&land, |y| {
        mix(hex(0x121c26), hex(0x060b10), smoothstep(480.0, 900.0, y))
    });

    let (tower, base) = (d.between(1230.0, 1300.0), 500.0);
    let lantern = (tower, 216.0);
    // The beam, fading with distance.
    let beam = [
        (lantern.0, lantern.1 - 6.0),
        (lantern.0, lantern.1 + 6.0),
        (-60.0, 380.0),
        (-60.0, 90.0),
    ];
    let beam = Convex::new(&beam);
    c.paint((-60.0, 90.0, lantern.0, 380.0), |x, y| {
        let fade = 1.0 - (lantern.0 - x) / (lantern.0 + 60.0);
        (
            const { hex(0xfff1c1) },
            0.3 * coverage(beam.distance(x, y)) * fade,
        )
    });
    // The keeper's house.
    c.rounded_box(
        (tower + 40.0, base - 44.0, tower + 130.0, base + 6.0),
        2.0,
        hex(0x161f29),
        1.0,
    );
    c.polygon(
        &[
            (tower + 34.0, base - 44.0),
            (tower + 136.0, base - 44.0),
            (tower + 85.0, base - 78.0),
        ],
        hex(0x1d2732),
        1.0,
    );
    c.glow((tower + 98.0, base - 22.0), 40.0, hex(0xffd48a), 0.4);
    c.rounded_box(
        (tower + 90.0, base - 30.0, tower + 106.0, base - 14.0),
        1.5,
        hex(0xffd48a),
        1.0,
    );

    let body = Convex::new(&[
        (tower - 46.0, base),
        (tower + 46.0, base),
        (tower + 24.0, 262.0),
        (tower - 24.0, 262.0),
    ]);
    c.paint((tower - 46.0, 262.0, tower + 46.0, base), |x, y| {
        let shade = smoothstep(tower - 30.0, tower + 40.0, x);
        let mut colour = mix(const { hex(0xf1ece2) }, const { hex(0xb7b3ad) }, shade);
        if (330.0..370.0).contains(&y) || (420.0..460.0).contains(&y) {
            colour = mix(const { hex(0xc0463f) }, const { hex(0x7f2b28) }, shade);
        }
        (colour, coverage(body.distance(x, y)))
    });
    c.rounded_box(
        (tower - 38.0, 246.0, tower + 38.0, 264.0),
        3.0,
        hex(0x1b1f26),
        1.0,
    );
    c.glow(lantern, 190.0, hex(0xffe6a0), 0.6);
    c.rounded_box(
        (tower - 20.0, 196.0, tower + 20.0, 246.0),
        2.0,
        hex(0xffe9a8),
        1.0,
    );
    for bar in [tower - 7.0, tower + 7.0] {
        c.line((bar, 198.0), (bar, 244.0), 2.0, hex(0x4a3a2a), 0.8);
    }
    let dome = (tower - 24.0, 172.0, tower + 24.0, 198.0);
    c.shape(dome, hex(0x8c2f2c), 1.0, |x, y| {
        circle(x, y, tower, 198.0, 24.0).max(y - 198.0)
    });
    c.line((tower, 150.0), (tower, 174.0), 3.0, hex(0x1b1f26), 1.0);
}

fn city_heat(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0x2d1030)),
        (0.3, hex(0x7e2740)),
        (0.55, hex(0xd2503d)),
        (0.72, hex(0xf7a04b)),
        (0.82, hex(0xffc873)),
    ]);
    let sun = (d.between(620.0, 980.0), 500.0);
    c.glow(sun, 720.0, hex(0xffb35c), 0.45);
    c.circle(sun, 130.0, hex(0xffd98a), 1.0);
    // Heat shimmering over the roofs.
    for band in 0..7 {
        let y = 480.0 + band as f32 * 26.0;
        let points: Vec<(f32, f32)> = (0..=80)
            .map(|i| {
                let x = i as f32 * 20.0;
                (x, y + 4.0 * (x / 90.0 + band as f32).sin())
            })
            .collect();
        c.polyline(&points, 2.0, hex(0xffd9a0), 0.12);
    }

    let mut x = -20.0;
    while x < W {
        let width = d.between(40.0, 110.0);
        let top = d.between(330.0, 560.0);
        c.rounded_box((x, top, x + width - 4.0, H + 5.0), 2.0, hex(0x8a3344), 0.9);
        if d.chance(0.25) {
            let mast = x + width / 2.0;
            c.line(
                (mast, top),
                (mast, top - d.between(20.0, 60.0)),
                3.0,
                hex(0x8a3344),
                0.9,
            );
        }
        x += width;
    }
    let mut x = -30.0;
    while x < W {
        let width = d.between(70.0, 160.0);
        let top = d.between(500.0, 720.0);
        let building = (x, top, x + width - 6.0, H + 5.0);
        c.rounded_box(building, 2.0, hex(0x2b0f22), 1.0);
        if d.chance(0.3) {
            let tank = x + d.between(10.0, width - 50.0);
            c.rounded_box(
                (tank, top - 34.0, tank + 30.0, top - 8.0),
                3.0,
                hex(0x2b0f22),
                1.0,
            );
            c.line(
                (tank + 5.0, top - 8.0),
                (tank + 5.0, top),
                3.0,
                hex(0x2b0f22),
                1.0,
            );
            c.line(
                (tank + 25.0, top - 8.0),
                (tank + 25.0, top),
                3.0,
                hex(0x2b0f22),
                1.0,
            );
        }
        let mut wy = top + 18.0;
        while wy < H - 10.0 {
            let mut wx = x + 12.0;
            while wx + 10.0 < building.2 - 8.0 {
                if d.chance(0.32) {
                    let colour = if d.chance(0.5) {
                        hex(0xffb85c)
                    } else {
                        hex(0xffd98a)
                    };
                    c.rounded_box((wx, wy, wx + 9.0, wy + 13.0), 1.0, colour, 0.9);
                }
                wx += 17.0;
            }
            wy += 24.0;
        }
        x += width;
    }
    c.paint((0.0, 760.0, W, H), |_, y| {
        (const { hex(0xff8a3d) }, 0.3 * smoothstep(760.0, 900.0, y))
    });
}

fn four_days(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[(0.0, hex(0xf4f0e7)), (1.0, hex(0xe4dccd))]);
    c.glow((1300.0, 80.0), 900.0, hex(0xfffaf0), 0.5);
    let mut colours = [0xe9965c, 0x5f9e8f, 0x6b8fcf, 0xd9707a, 0xe8c25a];
    // A seeded shuffle of the four bright cards' colours.
    for i in (1..colours.len()).rev() {
        let j = (d.next_u64() % (i as u64 + 1)) as usize;
        colours.swap(i, j);
    }
    let (width, gap, top, bottom) = (200.0, 44.0, 200.0, 720.0);
    let left = (W - (5.0 * width + 4.0 * gap)) / 2.0;
    // Five cards: the last one's colour is left unused, it stays pale.
    for (day, &colour) in colours.iter().enumerate() {
        let x0 = left + day as f32 * (width + gap);
        let card = (x0, top, x0 + width, bottom);
        let shadow = (x0 + 8.0, top + 16.0, x0 + width + 8.0, bottom + 16.0);
        c.paint(
            (
                shadow.0 - 30.0,
                shadow.1 - 30.0,
                shadow.2 + 30.0,
                shadow.3 + 30.0,
            ),
            |x, y| {
                let dist = rounded_box(x, y, shadow, 28.0);
                (
                    const { hex(0x5a5040) },
                    0.16 * (1.0 - smoothstep(-12.0, 26.0, dist)),
                )
            },
        );
        if day < 4 {
            c.rounded_box(card, 28.0, hex(colour), 1.0);
            let mut y = top + 110.0;
            while y < bottom - 40.0 {
                let length = d.between(70.0, 150.0);
                c.rounded_box(
                    (x0 + 26.0, y, x0 + 26.0 + length, y + 12.0),
                    6.0,
                    hex(0xffffff),
                    0.55,
                );
                y += d.between(30.0, 44.0);
            }
        } else {
            c.rounded_box(card, 28.0, hex(0xf8f5ee), 1.0);
            c.shape(card, hex(0xb9b1a3), 1.0, |x, y| {
                let dash = ((x + y) / 14.0).floor() as i64 % 2 == 0;
                if dash {
                    rounded_box(x, y, card, 28.0).abs() - 1.5
                } else {
                    f32::MAX
                }
            });
            let sun = (x0 + width / 2.0, (top + bottom) / 2.0 + 20.0);
            c.glow(sun, 90.0, hex(0xffd86b), 0.35);
            c.circle(sun, 26.0, hex(0xf5c242), 1.0);
            for ray in 0..12 {
                let angle = ray as f32 * std::f32::consts::TAU / 12.0;
                let (sin, cos) = angle.sin_cos();
                c.line(
                    (sun.0 + 36.0 * cos, sun.1 + 36.0 * sin),
                    (sun.0 + 52.0 * cos, sun.1 + 52.0 * sin),
                    5.0,
                    hex(0xf5c242),
                    1.0,
                );
            }
        }
        for ring in [x0 + 60.0, x0 + width - 60.0] {
            c.circle((ring, top + 30.0), 10.0, hex(0x3b362e), 0.85);
            c.line(
                (ring, top - 14.0),
                (ring, top + 28.0),
                6.0,
                hex(0x6d665a),
                1.0,
            );
        }
    }
}

/// A pine: a trunk and four tiers of branches.
fn pine(c: &mut Canvas, x: f32, ground: f32, height: f32, colour: Rgb) {
    c.rounded_box(
        (
            x - height * 0.025,
            ground - height * 0.25,
            x + height * 0.025,
            ground + 4.0,
        ),
        1.0,
        colour,
        1.0,
    );
    for tier in 0..4 {
        let tier = tier as f32;
        let top = ground - height + tier * height * 0.18;
        let bottom = top + height * 0.36;
        let half = height * (0.1 + tier * 0.045);
        c.polygon(
            &[(x, top), (x + half, bottom), (x - half, bottom)],
            colour,
            1.0,
        );
    }
}

fn forest_network(c: &mut Canvas, d: &mut Dice) {
    let ground = 560.0;
    c.vertical_gradient(&[(0.0, hex(0xe6ede2)), (0.6, hex(0xbfd0bb))]);
    c.glow((d.between(300.0, 1300.0), 110.0), 600.0, hex(0xfdfbec), 0.5);
    let layers = [
        (hex(0xa3b8a2), 34, 0.55, ground - 16.0),
        (hex(0x718d77), 22, 0.8, ground - 6.0),
        (hex(0x3f5a48), 12, 1.0, ground + 4.0),
    ];
    let mut roots = Vec::new();
    for (layer, &(colour, count, scale, base)) in layers.iter().enumerate() {
        for tree in 0..count {
            let x = (tree as f32 + d.between(0.1, 0.9)) * W / count as f32;
            let height = d.between(200.0, 330.0) * scale;
            pine(c, x, base, height, colour);
            if layer == layers.len() - 1 {
                roots.push(x);
            }
        }
        // Mist between the rows.
        c.paint((0.0, base - 160.0, W, base), |_, y| {
            (
                const { hex(0xe6ede2) },
                0.25 * smoothstep(base - 160.0, base, y),
            )
        });
    }

    let soil_edge = skyline(d, WIDTH as usize, ground, 5.0, 70.0, 2);
    c.ridge(&soil_edge, |y| {
        mix(hex(0x4f3a29), hex(0x1f140d), smoothstep(ground, H, y))
    });
    c.line(
        (-5.0, ground + 2.0),
        (W + 5.0, ground + 2.0),
        7.0,
        hex(0x5e4b34),
        0.8,
    );
    for _ in 0..60 {
        let at = (d.between(0.0, W), d.between(ground + 30.0, H));
        let r = (d.between(6.0, 18.0), d.between(4.0, 10.0));
        let angle = d.between(-0.4, 0.4);
        c.shape(
            (at.0 - r.0, at.1 - r.0, at.0 + r.0, at.1 + r.0),
            hex(0x634c38),
            0.55,
            |x, y| ellipse(x, y, at, r, angle),
        );
    }

    // Roots under the front row, then the threads joining their tips.
    let mut tips = Vec::new();
    for &x in &roots {
        for _ in 0..4 {
            let tip = (
                x + d.between(-130.0, 130.0),
                d.between(ground + 80.0, H - 60.0),
            );
            let bend = (x + (tip.0 - x) * 0.15, ground + (tip.1 - ground) * 0.7);
            let points = curve((x, ground), bend, tip, 14);
            // Tapering from the trunk to the tip.
            for (step, pair) in points.windows(2).enumerate() {
                let width = 7.0 - 5.0 * step as f32 / 14.0;
                c.line(pair[0], pair[1], width, hex(0x2b1c12), 1.0);
            }
            tips.push(tip);
        }
    }
    // Each tip joined to its nearest neighbours, as the fungus joins roots close by.
    let thread = hex(0xf0d690);
    for (index, &a) in tips.iter().enumerate() {
        let mut others: Vec<(f32, (f32, f32))> = tips
            .iter()
            .enumerate()
            .filter(|&(other, _)| other != index)
            .map(|(_, &b)| ((b.0 - a.0).hypot(b.1 - a.1), b))
            .collect();
        others.sort_by(|x, y| x.0.total_cmp(&y.0));
        for &(distance, b) in others.iter().take(3) {
            if distance > 320.0 {
                break;
            }
            let bend = (
                (a.0 + b.0) / 2.0 + d.between(-40.0, 40.0),
                (a.1 + b.1) / 2.0 + d.between(10.0, 50.0),
            );
            c.polyline(&curve(a, bend, b, 16), 1.6, thread, 0.5);
        }
        // Fine hairs reaching out into the soil.
        for _ in 0..4 {
            let angle = d.between(0.0, std::f32::consts::TAU);
            let reach = d.between(20.0, 60.0);
            let end = (a.0 + angle.cos() * reach, a.1 + angle.sin() * reach);
            let bend = (
                (a.0 + end.0) / 2.0 + d.between(-12.0, 12.0),
                (a.1 + end.1) / 2.0 + d.between(-12.0, 12.0),
            );
            c.polyline(&curve(a, bend, end, 6), 1.0, thread, 0.4);
        }
    }
    for &tip in &tips {
        c.glow(tip, 16.0, hex(0xffe6a6), 0.7);
        c.circle(tip, 2.5, hex(0xfff1c8), 1.0);
    }
}

fn servers(c: &mut Canvas, d: &mut Dice) {
    let floor = 790.0;
    c.vertical_gradient(&[
        (0.0, hex(0x1e2631)),
        (0.87, hex(0x2c3644)),
        (0.88, hex(0x343f4d)),
        (1.0, hex(0x161b23)),
    ]);
    for lamp in 0..5 {
        c.glow(
            (160.0 + lamp as f32 * 320.0, 20.0),
            260.0,
            hex(0xaac4e0),
            0.22,
        );
    }
    let (width, gap) = (200.0, 24.0);
    let left = (W - (6.0 * width + 5.0 * gap)) / 2.0;
    for cabinet in 0..6 {
        let x0 = left + cabinet as f32 * (width + gap);
        let body = (x0, 150.0, x0 + width, floor);
        // Its reflection on the floor.
        c.paint((x0, floor, x0 + width, H), |_, y| {
            (
                const { hex(0x4a5666) },
                0.25 * (1.0 - smoothstep(floor, floor + 90.0, y)),
            )
        });
        c.paint(body, |x, y| {
            let colour = mix(
                const { hex(0x4d5969) },
                const { hex(0x38424f) },
                smoothstep(150.0, floor, y),
            );
            (colour, coverage(rounded_box(x, y, body, 6.0)))
        });
        c.shape(body, hex(0x262e38), 1.0, |x, y| {
            (rounded_box(x, y, body, 6.0) + 6.0).abs() - 2.0
        });
        c.rounded_box(
            (x0 + 60.0, 166.0, x0 + 140.0, 180.0),
            3.0,
            hex(0x8995a5),
            0.8,
        );
        for unit in 0..14 {
            let y0 = 196.0 + unit as f32 * 41.0;
            c.rounded_box(
                (x0 + 18.0, y0, x0 + width - 18.0, y0 + 33.0),
                3.0,
                hex(0x323b47),
                1.0,
            );
            for hole in 0..6 {
                c.circle(
                    (x0 + 34.0 + hole as f32 * 11.0, y0 + 16.5),
                    2.2,
                    hex(0x232a33),
                    1.0,
                );
            }
            for led in 0..2 {
                let at = (x0 + width - 44.0 + led as f32 * 14.0, y0 + 16.5);
                let roll = d.unit();
                let colour = if roll < 0.86 {
                    Some(hex(0x63e08a))
                } else if roll < 0.9 {
                    Some(hex(0xf2b441))
                } else {
                    None
                };
                match colour {
                    Some(colour) => {
                        c.glow(at, 16.0, colour, 0.35);
                        c.circle(at, 3.2, colour, 1.0);
                    }
                    None => c.circle(at, 3.2, hex(0x2a3a30), 1.0),
                }
            }
        }
    }
    c.line((-5.0, floor), (W + 5.0, floor), 2.0, hex(0x4f5b6b), 0.7);
}

fn patchwork(c: &mut Canvas, d: &mut Dice) {
    const PALETTE: [u32; 7] = [
        0xc8643b, 0xe2a93b, 0x2f7f7a, 0xefe2c8, 0x4d6e9b, 0xd98b8b, 0x7a8f4e,
    ];
    let (columns, rows) = (8, 5);
    let xs: Vec<f32> = (0..=columns)
        .map(|i| {
            let jitter = if i == 0 || i == columns {
                0.0
            } else {
                d.between(-14.0, 14.0)
            };
            i as f32 * W / columns as f32 + jitter
        })
        .collect();
    let ys: Vec<f32> = (0..=rows)
        .map(|i| {
            let jitter = if i == 0 || i == rows {
                0.0
            } else {
                d.between(-12.0, 12.0)
            };
            i as f32 * H / rows as f32 + jitter
        })
        .collect();
    for row in 0..rows {
        for column in 0..columns {
            let patch = (xs[column], ys[row], xs[column + 1], ys[row + 1]);
            let base = hex(d.pick(&PALETTE));
            let accent = if base[0] + base[1] + base[2] > 2.2 {
                hex(0xb0553a)
            } else {
                hex(0xf3e8d2)
            };
            let pattern = d.pick(&[0, 0, 1, 2, 3, 4]);
            let spacing = d.between(18.0, 30.0);
            c.paint(patch, |x, y| {
                let (u, v) = (x - patch.0, y - patch.1);
                let mark = match pattern {
                    1 => ((u + v) / spacing).fract() < 0.35,
                    2 => (v / spacing).fract() < 0.3,
                    3 => {
                        let (cu, cv) = ((u / spacing).fract() - 0.5, (v / spacing).fract() - 0.5);
                        cu.hypot(cv) < 0.2
                    }
                    4 => ((u / spacing).floor() + (v / spacing).floor()) as i64 % 2 == 0,
                    _ => false,
                };
                let colour = if mark { mix(base, accent, 0.55) } else { base };
                let edge = (u.min(patch.2 - x)).min(v.min(patch.3 - y));
                let shade = 1.0 - 0.14 * (1.0 - smoothstep(0.0, 12.0, edge));
                (colour.map(|channel| channel * shade), 1.0)
            });
        }
    }
    let thread = hex(0xf6ecd8);
    for &x in &xs[1..columns] {
        let mut y = 4.0;
        while y < H {
            c.line((x, y), (x, y + 10.0), 2.6, thread, 0.9);
            y += 18.0;
        }
    }
    for &y in &ys[1..rows] {
        let mut x = 4.0;
        while x < W {
            c.line((x, y), (x + 10.0, y), 2.6, thread, 0.9);
            x += 18.0;
        }
    }
    // Two small mends, set at a slant and sewn on with a running stitch.
    for _ in 0..2 {
        let centre = (d.between(200.0, 1000.0), d.between(160.0, 480.0));
        let (half, angle) = (d.between(48.0, 66.0), d.between(-0.3, 0.3));
        let (sin, cos) = angle.sin_cos();
        let corner = |u: f32, v: f32| (centre.0 + u * cos - v * sin, centre.1 + u * sin + v * cos);
        let square = [
            corner(-half, -half),
            corner(half, -half),
            corner(half, half),
            corner(-half, half),
        ];
        let shadow: Vec<(f32, f32)> = square.iter().map(|&(x, y)| (x + 4.0, y + 6.0)).collect();
        c.polygon(&shadow, hex(0x2a1f18), 0.25);
        c.polygon(&square, hex(d.pick(&PALETTE)), 1.0);
        let inset = half - 9.0;
        let stitches = [
            corner(-inset, -inset),
            corner(inset, -inset),
            corner(inset, inset),
            corner(-inset, inset),
        ];
        for side in 0..4 {
            let (a, b) = (stitches[side], stitches[(side + 1) % 4]);
            for step in 0..6 {
                let (t0, t1) = (step as f32 / 6.0 + 0.03, (step as f32 + 0.55) / 6.0);
                c.line(
                    (a.0 + (b.0 - a.0) * t0, a.1 + (b.1 - a.1) * t0),
                    (a.0 + (b.0 - a.0) * t1, a.1 + (b.1 - a.1) * t1),
                    3.0,
                    hex(0x3b2a22),
                    0.9,
                );
            }
        }
    }
    // A needle trailing red thread.
    let eye = (d.between(1080.0, 1180.0), d.between(540.0, 600.0));
    let point = (eye.0 + 330.0, eye.1 + 170.0);
    let thread_end = (eye.0 - 520.0, H + 20.0);
    c.polyline(
        &curve(eye, (eye.0 - 160.0, eye.1 + 300.0), thread_end, 40),
        5.0,
        hex(0xb3322c),
        1.0,
    );
    let (ux, uy) = {
        let (dx, dy) = (point.0 - eye.0, point.1 - eye.1);
        let length = dx.hypot(dy);
        (dx / length, dy / length)
    };
    let (nx, ny) = (-uy, ux);
    let needle = [
        (eye.0 - ux * 16.0 + nx * 7.0, eye.1 - uy * 16.0 + ny * 7.0),
        (eye.0 - ux * 16.0 - nx * 7.0, eye.1 - uy * 16.0 - ny * 7.0),
        point,
    ];
    let shadow: Vec<(f32, f32)> = needle.iter().map(|&(x, y)| (x + 5.0, y + 8.0)).collect();
    c.polygon(&shadow, hex(0x2a1f18), 0.3);
    c.polygon(&needle, hex(0xaeb4bb), 1.0);
    c.line(
        (eye.0 + nx * 3.0, eye.1 + ny * 3.0),
        (
            point.0 - ux * 80.0 + nx * 1.0,
            point.1 - uy * 80.0 + ny * 1.0,
        ),
        2.0,
        hex(0xf4f6f8),
        0.9,
    );
    c.shape(
        (eye.0 - 16.0, eye.1 - 16.0, eye.0 + 16.0, eye.1 + 16.0),
        hex(0x4b5058),
        1.0,
        |x, y| {
            ellipse(
                x,
                y,
                (eye.0 + ux * 2.0, eye.1 + uy * 2.0),
                (9.0, 2.5),
                uy.atan2(ux),
            )
        },
    );
}

fn arches(c: &mut Canvas, d: &mut Dice) {
    let vanishing = (800.0 + d.between(-40.0, 40.0), 500.0);
    c.vertical_gradient(&[(0.0, hex(0x3e271c)), (1.0, hex(0x2a1a12))]);
    let walls = [
        (0.0, hex(0x5a3a28)),
        (0.5, hex(0xb57d4f)),
        (0.85, hex(0xe9c08a)),
        (1.0, hex(0xfff1d6)),
    ];
    let floors = [
        (0.0, hex(0x3f281b)),
        (0.6, hex(0x9b6a43)),
        (1.0, hex(0xf1d3a4)),
    ];
    let count = 11;
    let shape = |i: usize| {
        let scale = 0.78f32.powi(i as i32);
        let half = 760.0 * scale;
        let spring = vanishing.1 - 120.0 * scale;
        let bottom = vanishing.1 + 520.0 * scale;
        (scale, half, spring, bottom)
    };
    let opening = move |x: f32, y: f32, (_, half, spring, bottom): (f32, f32, f32, f32)| {
        let sides = rounded_box(
            x,
            y,
            (vanishing.0 - half, spring, vanishing.0 + half, bottom),
            0.0,
        );
        sides.min(circle(x, y, vanishing.0, spring, half))
    };
    // The floor's colour by row: darker nearer, as one plane running to the doorway.
    let floor_rows: Vec<Rgb> = (0..HEIGHT)
        .map(|row| {
            let below = (row as f32 + 0.5 - vanishing.1).max(1.0) / 520.0;
            let depth = below.ln() / 0.78f32.ln() / (count - 1) as f32;
            along(&floors, depth)
        })
        .collect();
    let rim_colour = hex(0x2a1a12);
    for i in 0..count {
        let arch = shape(i);
        let next = shape(i + 1);
        let wall = along(&walls, i as f32 / (count - 1) as f32);
        let (scale, half, spring, bottom) = arch;
        let rim_width = 3.0 * scale.max(0.3);
        c.paint(
            (
                vanishing.0 - half - 4.0,
                spring - half - 4.0,
                vanishing.0 + half + 4.0,
                bottom + 2.0,
            ),
            |x, y| {
                let distance = opening(x, y, arch);
                let inside = if y > next.3 {
                    floor_rows[(y as usize).min(floor_rows.len() - 1)]
                } else {
                    wall
                };
                // The arch's edge, but not along the floor, which runs on unbroken.
                let rim = if y < bottom - 4.0 {
                    0.45 * coverage(distance.abs() - rim_width)
                } else {
                    0.0
                };
                (mix(inside, rim_colour, rim), coverage(distance).max(rim))
            },
        );
    }
    c.glow(
        (vanishing.0, vanishing.1 - 30.0),
        420.0,
        hex(0xfff0cc),
        0.45,
    );
}

/// A bare branch and, `depth` times over, the smaller branches growing from its end.
fn branch(
    c: &mut Canvas,
    d: &mut Dice,
    from: (f32, f32),
    (angle, length, width): (f32, f32, f32),
    depth: u32,
    colour: Rgb,
) {
    let to = (from.0 + angle.sin() * length, from.1 - angle.cos() * length);
    c.line(from, to, width, colour, 1.0);
    if depth == 0 {
        return;
    }
    let children = if d.chance(0.35) { 3 } else { 2 };
    for child in 0..children {
        let spread = d.between(0.25, 0.6);
        let turn = match child {
            0 => -spread,
            1 => spread,
            _ => d.between(-0.15, 0.15),
        };
        let shape = (
            angle + turn,
            length * d.between(0.66, 0.8),
            (width * 0.68).max(1.2),
        );
        branch(c, d, to, shape, depth - 1, colour);
    }
}

/// A crow perched at `foot` on a wire, facing right (`facing` 1) or left (-1).
fn crow(c: &mut Canvas, foot: (f32, f32), facing: f32, scale: f32) {
    let black = hex(0x15181b);
    let at = |dx: f32, dy: f32| (foot.0 + dx * scale * facing, foot.1 + dy * scale);
    let oval =
        |c: &mut Canvas, centre: (f32, f32), radii: (f32, f32), angle: f32, colour, opacity| {
            let reach = radii.0.max(radii.1) * scale + 2.0;
            c.shape(
                (
                    centre.0 - reach,
                    centre.1 - reach,
                    centre.0 + reach,
                    centre.1 + reach,
                ),
                colour,
                opacity,
                |x, y| ellipse(x, y, centre, (radii.0 * scale, radii.1 * scale), angle),
            );
        };
    for leg in [-7.0, 7.0] {
        c.line(at(leg, -22.0), at(leg * 0.7, 0.0), 3.5 * scale, black, 1.0);
    }
    c.polygon(
        &[
            at(-28.0, -42.0),
            at(-22.0, -30.0),
            at(-94.0, 18.0),
            at(-116.0, -8.0),
        ],
        black,
        1.0,
    );
    oval(c, at(0.0, -48.0), (52.0, 28.0), -0.45 * facing, black, 1.0);
    oval(c, at(30.0, -68.0), (22.0, 17.0), -0.9 * facing, black, 1.0);
    oval(
        c,
        at(-8.0, -54.0),
        (36.0, 11.0),
        -0.45 * facing,
        hex(0x2a3036),
        0.45,
    );
    c.circle(at(44.0, -80.0), 18.0 * scale, black, 1.0);
    c.polygon(
        &[at(54.0, -89.0), at(57.0, -72.0), at(88.0, -80.0)],
        black,
        1.0,
    );
    c.circle(at(49.0, -84.0), 2.8 * scale, hex(0x6e747a), 1.0);
}

fn crows(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0xd9e1e6)),
        (0.5, hex(0xeceeea)),
        (0.85, hex(0xf4eadc)),
    ]);
    let sun = (d.between(1150.0, 1350.0), 630.0);
    c.glow(sun, 520.0, hex(0xfff4e2), 0.55);
    c.circle(sun, 40.0, hex(0xfdf7ec), 0.85);
    let distant = skyline(d, WIDTH as usize, 790.0, 26.0, 50.0, 3);
    c.ridge(&distant, |_| hex(0xbcc3c7));
    for (x, trunk, colour) in [
        (d.between(80.0, 220.0), 250.0, hex(0x8f979d)),
        (d.between(1050.0, 1200.0), 230.0, hex(0x8f979d)),
        (d.between(420.0, 620.0), 300.0, hex(0x4a5259)),
        (d.between(1350.0, 1500.0), 280.0, hex(0x4a5259)),
    ] {
        let shape = (d.between(-0.08, 0.08), trunk * 0.55, 18.0);
        branch(c, d, (x, H + 10.0), shape, 7, colour);
    }
    let wire = |x: f32, offset: f32| {
        let t = (x + 10.0) / (W + 20.0);
        250.0 + offset + 50.0 * t + 110.0 * 4.0 * t * (1.0 - t)
    };
    let pole = 1540.0;
    c.line(
        (pole, wire(pole, 0.0) - 20.0),
        (pole, H + 5.0),
        14.0,
        hex(0x3a3f44),
        1.0,
    );
    c.line(
        (pole - 40.0, wire(pole, 0.0)),
        (pole + 40.0, wire(pole, 0.0)),
        8.0,
        hex(0x3a3f44),
        1.0,
    );
    for (offset, width) in [(0.0, 2.6), (46.0, 1.8)] {
        let points: Vec<(f32, f32)> = (0..=82)
            .map(|i| {
                let x = -10.0 + i as f32 * 20.0;
                (x, wire(x, offset))
            })
            .collect();
        c.polyline(&points, width, hex(0x2b2f33), 1.0);
    }
    let first = d.between(560.0, 700.0);
    let second = first + d.between(220.0, 320.0);
    crow(c, (first, wire(first, 0.0) - 1.0), 1.0, 1.25);
    crow(c, (second, wire(second, 0.0) - 1.0), -1.0, 1.15);
}

fn prairie_noon(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0xf7e7b9)),
        (0.55, hex(0xf2cf8a)),
        (0.72, hex(0xe8b56a)),
    ]);
    let centre = (800.0, 300.0);
    c.glow(centre, 340.0, hex(0xfff4d6), 0.5);
    c.circle(centre, 200.0, hex(0xfbf3de), 1.0);
    c.shape((590.0, 90.0, 1010.0, 510.0), hex(0x7b5634), 1.0, |x, y| {
        circle(x, y, centre.0, centre.1, 200.0).abs() - 7.0
    });
    c.shape((600.0, 100.0, 1000.0, 500.0), hex(0xb08a62), 1.0, |x, y| {
        circle(x, y, centre.0, centre.1, 178.0).abs() - 1.2
    });
    for tick in 0..60 {
        let angle = tick as f32 * std::f32::consts::TAU / 60.0;
        let (sin, cos) = angle.sin_cos();
        let (inner, width) = if tick % 5 == 0 {
            (150.0, 7.0)
        } else {
            (166.0, 2.5)
        };
        c.line(
            (centre.0 + inner * sin, centre.1 - inner * cos),
            (centre.0 + 174.0 * sin, centre.1 - 174.0 * cos),
            width,
            hex(0x4a3526),
            1.0,
        );
    }
    c.line(
        centre,
        (centre.0, centre.1 - 100.0),
        13.0,
        hex(0x3a2a1e),
        1.0,
    );
    c.line(
        centre,
        (centre.0, centre.1 - 158.0),
        7.0,
        hex(0x3a2a1e),
        1.0,
    );
    c.circle(centre, 13.0, hex(0x3a2a1e), 1.0);

    let far = skyline(d, WIDTH as usize, 600.0, 18.0, 260.0, 3);
    c.ridge(&far, |_| hex(0xd9a862));
    let middle = skyline(d, WIDTH as usize, 650.0, 10.0, 200.0, 2);
    c.ridge(&middle, |_| hex(0xc98f45));
    let track = 690.0;
    c.paint((0.0, track + 6.0, W, H), |_, y| {
        (
            mix(
                const { hex(0xb7793a) },
                const { hex(0x8e5a2a) },
                smoothstep(track, H, y),
            ),
            1.0,
        )
    });
    // Telegraph poles and their wires.
    let first_pole = d.between(40.0, 180.0);
    let poles: Vec<f32> = (0..9).map(|i| first_pole + i as f32 * 190.0).collect();
    for &x in &poles {
        c.line((x, track + 4.0), (x, 560.0), 5.0, hex(0x6b4a2e), 1.0);
        c.line(
            (x - 16.0, 572.0),
            (x + 16.0, 572.0),
            4.0,
            hex(0x6b4a2e),
            1.0,
        );
    }
    for pair in poles.windows(2) {
        let (a, b) = ((pair[0], 572.0), (pair[1], 572.0));
        c.polyline(
            &curve(a, ((a.0 + b.0) / 2.0, 592.0), b, 12),
            1.4,
            hex(0x6b4a2e),
            0.9,
        );
    }
    c.line((-5.0, track), (W + 5.0, track), 4.0, hex(0x5b3b22), 1.0);
    let mut tie = 0.0;
    while tie < W {
        c.rounded_box(
            (tie, track + 2.0, tie + 12.0, track + 8.0),
            1.0,
            hex(0x6e4a2c),
            1.0,
        );
        tie += 24.0;
    }

    // The train heading left, smoke trailing behind.
    let iron = hex(0x3b2a20);
    let x = d.between(880.0, 1060.0);
    let rail = track - 2.0;
    c.polygon(
        &[
            (x - 26.0, rail),
            (x, rail - 34.0),
            (x + 6.0, rail - 34.0),
            (x + 6.0, rail),
        ],
        iron,
        1.0,
    );
    c.rounded_box((x, rail - 72.0, x + 170.0, rail - 28.0), 20.0, iron, 1.0);
    c.rounded_box(
        (x + 20.0, rail - 104.0, x + 40.0, rail - 66.0),
        3.0,
        iron,
        1.0,
    );
    c.rounded_box(
        (x + 14.0, rail - 112.0, x + 46.0, rail - 100.0),
        3.0,
        iron,
        1.0,
    );
    c.circle((x + 95.0, rail - 74.0), 12.0, iron, 1.0);
    c.rounded_box(
        (x + 150.0, rail - 98.0, x + 220.0, rail - 20.0),
        3.0,
        iron,
        1.0,
    );
    c.rounded_box(
        (x + 140.0, rail - 106.0, x + 228.0, rail - 96.0),
        3.0,
        iron,
        1.0,
    );
    c.rounded_box(
        (x + 168.0, rail - 88.0, x + 204.0, rail - 62.0),
        2.0,
        hex(0xf1d9a6),
        1.0,
    );
    c.rounded_box(
        (x + 226.0, rail - 66.0, x + 300.0, rail - 18.0),
        3.0,
        iron,
        1.0,
    );
    for wheel in [x + 60.0, x + 104.0, x + 148.0] {
        c.circle((wheel, rail - 18.0), 18.0, iron, 1.0);
        c.circle((wheel, rail - 18.0), 6.0, hex(0x8a6a48), 1.0);
    }
    c.circle((x + 20.0, rail - 10.0), 10.0, iron, 1.0);
    c.line(
        (x + 60.0, rail - 18.0),
        (x + 148.0, rail - 18.0),
        4.0,
        hex(0x8a6a48),
        1.0,
    );
    for car in 0..2 {
        let x0 = x + 308.0 + car as f32 * 150.0;
        c.rounded_box((x0, rail - 84.0, x0 + 142.0, rail - 16.0), 6.0, iron, 1.0);
        c.rounded_box(
            (x0 - 4.0, rail - 92.0, x0 + 146.0, rail - 82.0),
            4.0,
            iron,
            1.0,
        );
        for window in 0..5 {
            let wx = x0 + 12.0 + window as f32 * 26.0;
            c.rounded_box(
                (wx, rail - 72.0, wx + 16.0, rail - 54.0),
                2.0,
                hex(0xf1d9a6),
                1.0,
            );
        }
        for wheel in [x0 + 24.0, x0 + 118.0] {
            c.circle((wheel, rail - 12.0), 11.0, iron, 1.0);
        }
    }
    for puff in 0..14 {
        let t = puff as f32 / 13.0;
        let at = (
            x + 30.0 + t * 520.0 + d.between(-10.0, 10.0),
            rail - 120.0 - 90.0 * t.sqrt() + d.between(-8.0, 8.0),
        );
        c.circle(at, 12.0 + 40.0 * t, hex(0xf8eedb), 0.75 - 0.5 * t);
    }
    for _ in 0..500 {
        let y = d.between(track + 40.0, H + 10.0);
        let x = d.between(0.0, W);
        let length = 8.0 + 20.0 * (y - track) / (H - track);
        let lean = d.between(-4.0, 4.0);
        c.line(
            (x, y),
            (x + lean, y - length),
            2.0,
            hex(0xe3b56a),
            d.between(0.3, 0.6),
        );
    }
}

/// A smooth random field over the canvas, from a coarse grid of values.
struct Field {
    columns: usize,
    cell: f32,
    values: Vec<f32>,
}

impl Field {
    fn new(d: &mut Dice, cell: f32) -> Self {
        let columns = (W / cell).ceil() as usize + 2;
        let rows = (H / cell).ceil() as usize + 2;
        Self {
            columns,
            cell,
            values: (0..columns * rows).map(|_| d.unit()).collect(),
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let (u, v) = (x.max(0.0) / self.cell, y.max(0.0) / self.cell);
        let (i, j) = (u as usize, v as usize);
        let (s, t) = (
            smoothstep(0.0, 1.0, u.fract()),
            smoothstep(0.0, 1.0, v.fract()),
        );
        let value = |i: usize, j: usize| self.values.get(j * self.columns + i).copied();
        let (Some(a), Some(b), Some(c), Some(e)) = (
            value(i, j),
            value(i + 1, j),
            value(i, j + 1),
            value(i + 1, j + 1),
        ) else {
            return 0.5;
        };
        let top = a + (b - a) * s;
        let bottom = c + (e - c) * s;
        top + (bottom - top) * t
    }
}

fn night_sky(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0x03061a)),
        (0.45, hex(0x0c1438)),
        (0.72, hex(0x1d2650)),
        (0.82, hex(0x2c3360)),
    ]);
    // The Milky Way: a band of light from the lower left to the upper right, with dark lanes.
    let (from, to): ((f32, f32), (f32, f32)) = ((-100.0, 780.0), (1700.0, -80.0));
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length = dx.hypot(dy);
    let (nx, ny) = (-dy / length, dx / length);
    let clouds = Field::new(d, 90.0);
    let grain = Field::new(d, 28.0);
    let dust = Field::new(d, 50.0);
    c.paint((0.0, 0.0, W, 780.0), |x, y| {
        let across = (x - from.0) * nx + (y - from.1) * ny;
        let core = (-(across / 170.0).powi(2)).exp();
        let texture = 0.55 * clouds.at(x, y) + 0.45 * grain.at(x, y);
        let lane = (-((across + 25.0) / 40.0).powi(2)).exp() * dust.at(x, y);
        let light = (core * (0.35 + 0.75 * texture) - 0.7 * lane).clamp(0.0, 1.0);
        let colour = mix(
            const { hex(0x8e86c2) },
            const { hex(0xf6ead6) },
            core * texture,
        );
        (colour, 0.6 * light)
    });
    for _ in 0..1500 {
        let near_band = d.chance(0.5);
        let at = if near_band {
            let t = d.unit();
            let offset = (d.unit() + d.unit() + d.unit() - 1.5) * 160.0;
            (from.0 + dx * t + nx * offset, from.1 + dy * t + ny * offset)
        } else {
            (d.between(0.0, W), d.between(0.0, 760.0))
        };
        c.circle(
            at,
            d.between(0.45, 1.1),
            hex(0xf4f1ff),
            d.between(0.3, 0.95),
        );
    }
    for _ in 0..26 {
        let at = (d.between(0.0, W), d.between(0.0, 620.0));
        let tint = hex(d.pick(&[0xcfe0ff, 0xffe2c0, 0xffffff]));
        c.glow(at, d.between(8.0, 18.0), tint, 0.7);
        c.circle(at, d.between(1.3, 2.0), tint, 1.0);
    }

    let back = skyline(d, WIDTH as usize, 740.0, 45.0, 360.0, 3);
    c.ridge(&back, |_| hex(0x0b1027));
    let front = skyline(d, WIDTH as usize, 810.0, 45.0, 420.0, 3);
    c.ridge(&front, |_| hex(0x05070f));
    let house = d.between(1050.0, 1300.0);
    let ground = front[house as usize] + 6.0;
    let walls = (house, ground - 60.0, house + 90.0, ground + 8.0);
    c.rounded_box(walls, 1.0, hex(0x05070f), 1.0);
    c.polygon(
        &[
            (house - 10.0, walls.1),
            (house + 100.0, walls.1),
            (house + 45.0, walls.1 - 44.0),
        ],
        hex(0x05070f),
        1.0,
    );
    c.rounded_box(
        (house + 64.0, walls.1 - 40.0, house + 76.0, walls.1 - 10.0),
        1.0,
        hex(0x05070f),
        1.0,
    );
    let window = (house + 22.0, ground - 42.0, house + 40.0, ground - 24.0);
    c.glow((house + 31.0, ground - 33.0), 70.0, hex(0xffc25e), 0.45);
    c.rounded_box(window, 1.0, hex(0xffd27a), 1.0);
    c.line(
        (house + 31.0, window.1),
        (house + 31.0, window.3),
        1.5,
        hex(0x7a5a2a),
        0.8,
    );
}

fn lamppost(c: &mut Canvas, d: &mut Dice) {
    c.vertical_gradient(&[
        (0.0, hex(0x2b3a5c)),
        (0.45, hex(0x6d7a9c)),
        (0.75, hex(0xe3a98a)),
        (0.85, hex(0xf2c59a)),
    ]);
    stars(c, d, 40, 260.0, 0.6);
    // Roofs and chimneys of the town below.
    let mut x = -20.0;
    while x < W {
        let width = d.between(90.0, 190.0);
        let eaves = d.between(700.0, 780.0);
        let ridge = eaves - d.between(40.0, 90.0);
        let roof = hex(0x1c2238);
        c.rounded_box((x, eaves, x + width, H + 5.0), 1.0, roof, 1.0);
        c.polygon(
            &[
                (x - 6.0, eaves + 1.0),
                (x + width + 6.0, eaves + 1.0),
                (x + width / 2.0, ridge),
            ],
            roof,
            1.0,
        );
        if d.chance(0.5) {
            let chimney = x + d.between(15.0, width - 35.0);
            c.rounded_box(
                (chimney, ridge + 10.0, chimney + 18.0, eaves),
                1.0,
                roof,
                1.0,
            );
        }
        if d.chance(0.6) {
            let wx = x + d.between(15.0, width - 35.0);
            let wy = eaves + d.between(30.0, 80.0);
            c.glow((wx + 9.0, wy + 10.0), 30.0, hex(0xffc46b), 0.3);
            c.rounded_box((wx, wy, wx + 18.0, wy + 22.0), 1.0, hex(0xffd48a), 1.0);
        }
        x += width + d.between(10.0, 40.0);
    }

    // The lamp: a post, a curled arm and a glowing lantern.
    let iron = hex(0x161a24);
    let post = d.between(640.0, 760.0);
    c.rounded_box((post - 9.0, 330.0, post + 9.0, H + 5.0), 4.0, iron, 1.0);
    c.rounded_box((post - 22.0, 840.0, post + 22.0, H + 5.0), 6.0, iron, 1.0);
    c.rounded_box((post - 16.0, 700.0, post + 16.0, 716.0), 4.0, iron, 1.0);
    let head = (post, 300.0);
    c.glow((head.0, head.1 + 40.0), 420.0, hex(0xffd99a), 0.45);
    c.polygon(
        &[
            (head.0 - 34.0, head.1),
            (head.0 + 34.0, head.1),
            (head.0 + 22.0, head.1 + 70.0),
            (head.0 - 22.0, head.1 + 70.0),
        ],
        hex(0xffe6b0),
        1.0,
    );
    c.line(
        (head.0 - 34.0, head.1),
        (head.0 - 22.0, head.1 + 70.0),
        5.0,
        iron,
        1.0,
    );
    c.line(
        (head.0 + 34.0, head.1),
        (head.0 + 22.0, head.1 + 70.0),
        5.0,
        iron,
        1.0,
    );
    c.line((head.0, head.1), (head.0, head.1 + 70.0), 3.0, iron, 0.8);
    c.rounded_box(
        (head.0 - 28.0, head.1 + 66.0, head.0 + 28.0, head.1 + 80.0),
        3.0,
        iron,
        1.0,
    );
    c.rounded_box(
        (head.0 - 8.0, head.1 + 78.0, head.0 + 8.0, 340.0),
        2.0,
        iron,
        1.0,
    );
    c.polygon(
        &[
            (head.0 - 44.0, head.1 + 2.0),
            (head.0 + 44.0, head.1 + 2.0),
            (head.0, head.1 - 40.0),
        ],
        iron,
        1.0,
    );
    crow(c, (head.0 + 6.0, head.1 - 38.0), -1.0, 0.95);

    // A few more crows flying home.
    for _ in 0..5 {
        let at = (d.between(980.0, 1500.0), d.between(120.0, 380.0));
        let span = d.between(14.0, 26.0);
        let wing = [
            (at.0 - span, at.1 - span * 0.35),
            (at.0 - span * 0.45, at.1 - span * 0.45),
            at,
            (at.0 + span * 0.45, at.1 - span * 0.45),
            (at.0 + span, at.1 - span * 0.35),
        ];
        c.polyline(&wing, 3.5, hex(0x1a1d26), 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scene_has_a_name_and_an_alt_text_of_its_own() {
        for scene in Scene::ALL {
            assert_eq!(Scene::from_name(scene.name()), Some(scene));
            assert!(scene.alt().len() > 60, "{}", scene.name());
            assert!(crate::domain::media::clean_alt(scene.alt()).is_some());
        }
        let mut alts: Vec<_> = Scene::ALL.iter().map(|s| s.alt()).collect();
        alts.sort_unstable();
        alts.dedup();
        assert_eq!(alts.len(), Scene::ALL.len());
    }

    #[test]
    fn a_scene_draws_the_same_bytes_twice_and_other_seeds_differ() {
        let once = Scene::Crows.jpeg("a").unwrap();
        assert_eq!(once, Scene::Crows.jpeg("a").unwrap());
        assert_ne!(once, Scene::Crows.jpeg("b").unwrap());
        assert_eq!(
            crate::domain::media::Format::sniff(&once),
            Some(crate::domain::media::Format::Jpeg)
        );
    }

    /// Not noise: a picture has large calm areas, so neighbouring pixels are mostly alike,
    /// and it is not one flat colour either.
    #[test]
    fn every_scene_is_a_calm_picture_with_something_in_it() {
        for scene in Scene::ALL {
            let picture = scene.draw("test");
            assert_eq!((picture.width(), picture.height()), (WIDTH, HEIGHT));
            let (mut steps, mut pairs) = (0u64, 0u64);
            let mut lightest = 0u8;
            let mut darkest = 255u8;
            for y in (0..HEIGHT).step_by(7) {
                for x in (1..WIDTH).step_by(7) {
                    let (a, b) = (picture.get_pixel(x - 1, y).0, picture.get_pixel(x, y).0);
                    steps += a
                        .iter()
                        .zip(b)
                        .map(|(a, b)| u64::from(a.abs_diff(b)))
                        .sum::<u64>();
                    pairs += 1;
                    lightest = lightest.max(b[1]);
                    darkest = darkest.min(b[1]);
                }
            }
            let mean_step = steps as f64 / pairs as f64;
            assert!(mean_step < 20.0, "{}: {mean_step}", scene.name());
            assert!(lightest - darkest > 80, "{}", scene.name());
        }
    }
}
