//! Measures the image pipeline on 12-megapixel JPEGs: images per second through
//! everything an upload goes through (header check, DCT-scaled decode, resize,
//! WebP + JPEG at two sizes, blurhash) with one worker per core, the process's
//! peak memory, and `vipsthumbnail` making the same four files from the same
//! images in the same run, for a ratio against a well-known fast tool.
//!
//! `cargo run --release --example media_bench -- [IMAGES]` (default 24)

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pengyou::media::picture::{self, PictureLimits};
use pengyou::media::sniff::Format;

const WIDTH: u16 = 4000;
const HEIGHT: u16 = 3000;

/// A photo-like 12 MP JPEG: smooth gradients with fine noise, quality 90.
fn photo(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 24) as i32 - 12
    };
    let (w, h) = (u32::from(WIDTH), u32::from(HEIGHT));
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let r = (x * 255 / w) as i32 + noise();
            let g = (y * 255 / h) as i32 + noise();
            let b = (((x + y + seed * 97) / 7) % 256) as i32 + noise();
            data.extend([r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90).encode(&data, WIDTH, HEIGHT, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(24);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let dir = tempfile::tempdir().unwrap();
    let distinct = 4;
    let images: Vec<Arc<Vec<u8>>> = (0..distinct).map(|i| Arc::new(photo(i as u32 + 1))).collect();
    for (i, image) in images.iter().enumerate() {
        std::fs::write(dir.path().join(format!("photo{i}.jpg")), image.as_slice()).unwrap();
    }
    let mean_mb = images.iter().map(|i| i.len()).sum::<usize>() as f64 / distinct as f64 / 1e6;
    println!("{count} images of {WIDTH}×{HEIGHT} ({mean_mb:.1} MB JPEG each), {cores} workers");
    let base_rss = peak_rss_mib();

    // pengyou: one thread per core, each taking the next image, as the media workers do.
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..cores)
        .map(|_| {
            let (next, images) = (next.clone(), images.clone());
            std::thread::spawn(move || {
                let mut bytes_out = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return bytes_out;
                    }
                    let made =
                        picture::process(&images[i % distinct], Format::Jpeg, &PictureLimits::default()).unwrap();
                    bytes_out += made.files.iter().map(|f| f.bytes.len()).sum::<usize>();
                }
            })
        })
        .collect();
    let bytes_out: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let ours = started.elapsed().as_secs_f64();
    let ours_rate = count as f64 / ours;
    println!(
        "pengyou pipeline: {ours:.2} s, {ours_rate:.1} images/s ({:.0} ms per image per core), {:.0} KB out per image",
        ours * 1000.0 * cores as f64 / count as f64,
        bytes_out as f64 / count as f64 / 1024.0
    );
    println!("peak memory: {:.0} MiB (of which {:.0} MiB are the test images and runtime)", peak_rss_mib(), base_rss);

    // The straightforward way, for scale: full-size decode, then one resize to 1440 wide (no encoding).
    let started = Instant::now();
    for image in &images {
        let mut decoder = jpeg_decoder::Decoder::new(image.as_slice());
        let pixels = decoder.decode().unwrap();
        let src = fast_image_resize::images::Image::from_vec_u8(
            u32::from(WIDTH),
            u32::from(HEIGHT),
            pixels,
            fast_image_resize::PixelType::U8x3,
        )
        .unwrap();
        let mut dst = fast_image_resize::images::Image::new(1440, 1080, fast_image_resize::PixelType::U8x3);
        fast_image_resize::Resizer::new().resize(&src, &mut dst, None).unwrap();
    }
    let naive = started.elapsed().as_secs_f64() / distinct as f64;
    println!("full decode + one resize (no encoding), one core: {:.0} ms per image", naive * 1000.0);

    // vipsthumbnail: the same four outputs, each run over every image.
    let files: Vec<String> =
        (0..count).map(|i| dir.path().join(format!("photo{}.jpg", i % distinct)).display().to_string()).collect();
    let outputs = [
        ("1440x", "%s_d.webp[Q=80,strip]"),
        ("1440x", "%s_d.jpg[Q=82,strip]"),
        ("540x", "%s_s.webp[Q=80,strip]"),
        ("540x", "%s_s.jpg[Q=82,strip]"),
    ];
    if Command::new("vipsthumbnail").arg("--vips-version").output().is_err() {
        println!("vipsthumbnail not installed (Debian: libvips-tools); no comparison");
        return;
    }
    let started = Instant::now();
    let mut first = 0.0;
    for (size, output) in outputs {
        let status = Command::new("vipsthumbnail")
            // A relative output name lands beside each input, in the temporary directory.
            .args(["-s", size, "-o", output])
            .args(&files)
            .status()
            .unwrap();
        assert!(status.success());
        if first == 0.0 {
            first = started.elapsed().as_secs_f64();
        }
    }
    let vips = started.elapsed().as_secs_f64();
    let vips_rate = count as f64 / vips;
    println!("vipsthumbnail (4 runs: 1440 and 540 wide, WebP and JPEG): {vips:.2} s, {vips_rate:.1} images/s");
    println!(
        "vipsthumbnail, the 1440 WebP alone (one decode per image, like pengyou): {:.1} images/s",
        count as f64 / first
    );
    println!(
        "ratio pengyou / vipsthumbnail: {:.2} (all four files), {:.2} (pengyou's four files against vips's one)",
        ours_rate / vips_rate,
        ours_rate * first / count as f64
    );
}
