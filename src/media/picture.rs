//! The image pipeline: read dimensions from the header, refuse what is too
//! big before decoding, decode (JPEG at reduced DCT scale), apply the EXIF
//! orientation, resize to the card and display sizes and encode them as WebP
//! and JPEG. Every output is re-encoded from pixels, so no metadata (EXIF, XMP,
//! IPTC, GPS, ICC, comments) survives into anything served.

use std::io::Cursor;

use fast_image_resize::images::Image as ResizeImage;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage, RgbaImage};

use super::MediaError;
use super::sniff::Format;

/// Card thumbnails in the waterfall feed.
pub const SMALL_WIDTH: u32 = 540;
/// The note page.
pub const DISPLAY_WIDTH: u32 = 1440;
/// Animated GIFs are kept at most this wide (they are re-encoded frame by frame).
pub const ANIMATION_WIDTH: u32 = 720;
/// Very tall images (long screenshots) keep at most this many heights per width.
const MAX_TALL: u32 = 4;
const WEBP_QUALITY: f32 = 80.0;
const WEBP_METHOD: i32 = 2;
const JPEG_QUALITY: u8 = 82;

/// What a decoder may use, whatever the file claims.
#[derive(Clone, Copy, Debug)]
pub struct PictureLimits {
    /// Largest accepted width × height of the original.
    pub max_pixels: u64,
    /// Frames in an animation.
    pub max_frames: u32,
    /// Width × height summed over all frames of an animation.
    pub max_animation_pixels: u64,
}

impl Default for PictureLimits {
    fn default() -> Self {
        PictureLimits { max_pixels: 50_000_000, max_frames: 1_000, max_animation_pixels: 400_000_000 }
    }
}

/// One file made from an upload.
#[derive(Clone, Debug)]
pub struct Rendition {
    /// The fixed file name under the media's storage key.
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// Everything the pipeline made from one image.
#[derive(Clone, Debug)]
pub struct Picture {
    /// The original's size as displayed (after orientation).
    pub width: u32,
    pub height: u32,
    pub animated: bool,
    pub blurhash: String,
    pub files: Vec<Rendition>,
}

/// The file names a picture is stored under.
pub mod names {
    pub const SMALL_WEBP: &str = "small.webp";
    pub const SMALL_JPEG: &str = "small.jpg";
    pub const DISPLAY_WEBP: &str = "display.webp";
    pub const DISPLAY_JPEG: &str = "display.jpg";
    pub const ANIMATION: &str = "animation.gif";
}

/// Width and height from the header alone, without decoding pixels.
pub fn dimensions(bytes: &[u8], format: Format) -> Result<(u32, u32), MediaError> {
    let dims = match format {
        Format::Jpeg => {
            let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
            decoder.read_info().map_err(|_| MediaError::unreadable(format))?;
            let info = decoder.info().ok_or_else(|| MediaError::unreadable(format))?;
            (u32::from(info.width), u32::from(info.height))
        }
        Format::Png | Format::Gif | Format::Webp => ImageReader::with_format(Cursor::new(bytes), image_format(format))
            .into_dimensions()
            .map_err(|_| MediaError::unreadable(format))?,
        Format::Heic | Format::Avif => return Err(MediaError::no_decoder(format)),
        Format::Mp4 | Format::Mov | Format::Webm => return Err(MediaError::unreadable(format)),
    };
    if dims.0 == 0 || dims.1 == 0 {
        return Err(MediaError::unreadable(format));
    }
    Ok(dims)
}

/// Refuses an image whose header claims more pixels than allowed.
pub fn check_size((width, height): (u32, u32), limits: &PictureLimits) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(MediaError::new(
            "image_too_large",
            format!(
                "The image is {width}×{height} ({:.0} megapixels); the limit is {:.0} megapixels.",
                pixels as f64 / 1e6,
                limits.max_pixels as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// Runs the whole pipeline on one image. CPU-bound: call it from a blocking thread.
pub fn process(bytes: &[u8], format: Format, limits: &PictureLimits) -> Result<Picture, MediaError> {
    let dims = dimensions(bytes, format)?;
    check_size(dims, limits)?;
    if format == Format::Gif {
        return gif(bytes, limits);
    }
    let (pixels, orientation) = decode(bytes, format, dims, limits)?;
    let mut picture = renditions(pixels, orientation, false)?;
    // JPEGs decode at reduced scale: report the original's size, upright.
    (picture.width, picture.height) = if turns_sideways(orientation) { (dims.1, dims.0) } else { dims };
    Ok(picture)
}

/// Makes the card and display sizes, WebP and JPEG, and the blurhash.
fn renditions(pixels: Pixels, orientation: Orientation, animated: bool) -> Result<Picture, MediaError> {
    let turned = turns_sideways(orientation);
    let (width, height) = if turned { (pixels.height, pixels.width) } else { (pixels.width, pixels.height) };
    let display_size = fit(width, height, DISPLAY_WIDTH);
    let small_size = fit(width, height, SMALL_WIDTH);
    let stored = |(w, h): (u32, u32)| if turned { (h, w) } else { (w, h) };
    let display = pixels.resized(stored(display_size))?;
    let small = display.resized(stored(small_size))?;
    let display = display.oriented(orientation);
    let small = small.oriented(orientation);
    let blurhash = blurhash_of(&small)?;
    let mut files = Vec::with_capacity(4);
    for (image, webp, jpeg) in
        [(&small, names::SMALL_WEBP, names::SMALL_JPEG), (&display, names::DISPLAY_WEBP, names::DISPLAY_JPEG)]
    {
        files.push(Rendition { name: webp, width: image.width, height: image.height, bytes: image.webp() });
        files.push(Rendition { name: jpeg, width: image.width, height: image.height, bytes: image.jpeg()? });
    }
    Ok(Picture { width, height, animated, blurhash, files })
}

/// The size that fits `max_width` (and at most `MAX_TALL` widths high), never enlarged.
pub fn fit(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    let scale =
        (f64::from(max_width) / f64::from(width)).min(f64::from(max_width * MAX_TALL) / f64::from(height)).min(1.0);
    let w = ((f64::from(width) * scale).round() as u32).max(1);
    let h = ((f64::from(height) * scale).round() as u32).max(1);
    (w, h)
}

fn turns_sideways(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

fn image_format(format: Format) -> ImageFormat {
    match format {
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        _ => ImageFormat::WebP,
    }
}

/// Decoded pixels: RGB, or RGBA when the image has any transparency.
struct Pixels {
    width: u32,
    height: u32,
    alpha: bool,
    data: Vec<u8>,
}

impl Pixels {
    fn from_dynamic(image: DynamicImage) -> Pixels {
        let (width, height) = (image.width(), image.height());
        if image.color().has_alpha() {
            let rgba = image.into_rgba8();
            if rgba.pixels().any(|p| p.0[3] != 255) {
                return Pixels { width, height, alpha: true, data: rgba.into_raw() };
            }
            let rgb = DynamicImage::ImageRgba8(rgba).into_rgb8();
            return Pixels { width, height, alpha: false, data: rgb.into_raw() };
        }
        Pixels { width, height, alpha: false, data: image.into_rgb8().into_raw() }
    }

    fn pixel_type(&self) -> PixelType {
        if self.alpha { PixelType::U8x4 } else { PixelType::U8x3 }
    }

    fn resized(&self, (width, height): (u32, u32)) -> Result<Pixels, MediaError> {
        if (width, height) == (self.width, self.height) {
            return Ok(Pixels { width, height, alpha: self.alpha, data: self.data.clone() });
        }
        let src = fast_image_resize::images::ImageRef::new(self.width, self.height, &self.data, self.pixel_type())
            .map_err(|e| MediaError::internal(format!("resize source: {e}")))?;
        let mut dst = ResizeImage::new(width, height, self.pixel_type());
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
        Resizer::new().resize(&src, &mut dst, &options).map_err(|e| MediaError::internal(format!("resize: {e}")))?;
        Ok(Pixels { width, height, alpha: self.alpha, data: dst.into_vec() })
    }

    fn oriented(self, orientation: Orientation) -> Pixels {
        if orientation == Orientation::NoTransforms {
            return self;
        }
        let mut image = self.into_dynamic();
        image.apply_orientation(orientation);
        Pixels::from_dynamic(image)
    }

    fn into_dynamic(self) -> DynamicImage {
        if self.alpha {
            DynamicImage::ImageRgba8(RgbaImage::from_raw(self.width, self.height, self.data).unwrap_or_default())
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(self.width, self.height, self.data).unwrap_or_default())
        }
    }

    fn rgba(&self) -> Vec<u8> {
        if self.alpha {
            return self.data.clone();
        }
        self.data.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect()
    }

    /// RGB on white, for formats without transparency.
    fn rgb_on_white(&self) -> Vec<u8> {
        if !self.alpha {
            return self.data.clone();
        }
        self.data
            .chunks_exact(4)
            .flat_map(|p| {
                let a = u32::from(p[3]);
                let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8;
                [mix(p[0]), mix(p[1]), mix(p[2])]
            })
            .collect()
    }

    fn webp(&self) -> Vec<u8> {
        let encoder = if self.alpha {
            webp::Encoder::from_rgba(&self.data, self.width, self.height)
        } else {
            webp::Encoder::from_rgb(&self.data, self.width, self.height)
        };
        // Method 2 (of 0–6) encodes about twice as fast as the default 4 for a few percent more bytes.
        let config = webp::WebPConfig::new().ok().map(|mut config| {
            config.quality = WEBP_QUALITY;
            config.method = WEBP_METHOD;
            config
        });
        match config.map(|config| encoder.encode_advanced(&config)) {
            Some(Ok(memory)) => memory.to_vec(),
            _ => encoder.encode(WEBP_QUALITY).to_vec(),
        }
    }

    fn jpeg(&self) -> Result<Vec<u8>, MediaError> {
        let mut out = Vec::new();
        let width = u16::try_from(self.width).map_err(|_| MediaError::internal("jpeg width"))?;
        let height = u16::try_from(self.height).map_err(|_| MediaError::internal("jpeg height"))?;
        jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
            .encode(&self.rgb_on_white(), width, height, jpeg_encoder::ColorType::Rgb)
            .map_err(|e| MediaError::internal(format!("jpeg encode: {e}")))?;
        Ok(out)
    }
}

fn blurhash_of(small: &Pixels) -> Result<String, MediaError> {
    let tiny = small.resized(fit(small.width, small.height, 32))?;
    let (x, y) = if tiny.width >= tiny.height { (4, 3) } else { (3, 4) };
    blurhash::encode(x, y, tiny.width, tiny.height, &tiny.rgba())
        .map_err(|e| MediaError::internal(format!("blurhash: {e}")))
}

/// Decodes a still image; JPEG decodes at the smallest DCT scale that still
/// covers the display size, which is most of the pipeline's speed.
fn decode(
    bytes: &[u8],
    format: Format,
    (width, height): (u32, u32),
    limits: &PictureLimits,
) -> Result<(Pixels, Orientation), MediaError> {
    let max_bytes = (limits.max_pixels * 4) as usize;
    if format == Format::Jpeg {
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        decoder.set_max_decoding_buffer_size(max_bytes);
        decoder.read_info().map_err(|_| MediaError::unreadable(format))?;
        // EXIF comes before the frame header, so the orientation is known before decoding.
        let orientation = decoder.exif_data().map(exif_orientation).unwrap_or(Orientation::NoTransforms);
        let turned = turns_sideways(orientation);
        let (shown_w, shown_h) = if turned { (height, width) } else { (width, height) };
        let (want_w, want_h) = fit(shown_w, shown_h, DISPLAY_WIDTH);
        let (want_w, want_h) = if turned { (want_h, want_w) } else { (want_w, want_h) };
        let (w, h) = decoder.scale(clamp16(want_w), clamp16(want_h)).map_err(|_| MediaError::unreadable(format))?;
        let data = decoder.decode().map_err(|_| MediaError::unreadable(format))?;
        let info = decoder.info().ok_or_else(|| MediaError::unreadable(format))?;
        let (w, h) = (u32::from(w), u32::from(h));
        let rgb = match info.pixel_format {
            jpeg_decoder::PixelFormat::RGB24 => data,
            jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&l| [l, l, l]).collect(),
            jpeg_decoder::PixelFormat::L16 => data.chunks_exact(2).flat_map(|l| [l[0], l[0], l[0]]).collect(),
            jpeg_decoder::PixelFormat::CMYK32 => data
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    let channel = |c: u8| (u16::from(c) * k / 255) as u8;
                    [channel(p[0]), channel(p[1]), channel(p[2])]
                })
                .collect(),
        };
        if rgb.len() != (w * h * 3) as usize {
            return Err(MediaError::unreadable(format));
        }
        return Ok((Pixels { width: w, height: h, alpha: false, data: rgb }, orientation));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format));
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(format, e))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(format, e))?;
    Ok((Pixels::from_dynamic(image), orientation))
}

fn clamp16(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

fn image_limits(limits: &PictureLimits) -> image::Limits {
    let mut out = image::Limits::default();
    let side = u32::try_from(limits.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    out.max_image_width = Some(side);
    out.max_image_height = Some(side);
    out.max_alloc = Some(limits.max_pixels * 8);
    out
}

fn decode_error(format: Format, error: image::ImageError) -> MediaError {
    match error {
        image::ImageError::Limits(_) => {
            MediaError::new("image_too_large", "The image needs more memory to decode than allowed.")
        }
        _ => MediaError::unreadable(format),
    }
}

/// The orientation tag of raw EXIF data (a TIFF structure).
fn exif_orientation(raw: &[u8]) -> Orientation {
    exif::Reader::new()
        .read_raw(raw.to_vec())
        .ok()
        .and_then(|exif| {
            exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY).and_then(|field| field.value.get_uint(0))
        })
        .and_then(|value| u8::try_from(value).ok())
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms)
}

/// An animated GIF stays animated: frames are decoded, shrunk and re-encoded
/// one at a time, so memory holds one frame whatever the file's length.
fn gif(bytes: &[u8], limits: &PictureLimits) -> Result<Picture, MediaError> {
    let open = || -> Result<GifDecoder<Cursor<&[u8]>>, MediaError> {
        let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(Format::Gif, e))?;
        decoder.set_limits(image_limits(limits)).map_err(|e| decode_error(Format::Gif, e))?;
        Ok(decoder)
    };
    let mut frames = open()?.into_frames();
    let first = match frames.next() {
        Some(frame) => frame.map_err(|e| decode_error(Format::Gif, e))?,
        None => return Err(MediaError::unreadable(Format::Gif)),
    };
    let animated = frames.next().is_some();
    drop(frames);
    let poster = Pixels::from_dynamic(DynamicImage::ImageRgba8(first.into_buffer()));
    let mut picture = renditions(poster, Orientation::NoTransforms, animated)?;
    if !animated {
        return Ok(picture);
    }
    let (width, height) = fit(picture.width, picture.height, ANIMATION_WIDTH);
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut out, 20);
        encoder.set_repeat(Repeat::Infinite).map_err(|e| MediaError::internal(format!("gif: {e}")))?;
        let (mut count, mut pixels) = (0u32, 0u64);
        for frame in open()?.into_frames() {
            let frame = frame.map_err(|e| decode_error(Format::Gif, e))?;
            count += 1;
            pixels += u64::from(picture.width) * u64::from(picture.height);
            if count > limits.max_frames || pixels > limits.max_animation_pixels {
                return Err(MediaError::new(
                    "animation_too_long",
                    format!("An animation may have at most {} frames of this size.", count - 1),
                ));
            }
            let delay = frame.delay();
            let canvas = Pixels {
                width: picture.width,
                height: picture.height,
                alpha: true,
                data: frame.into_buffer().into_raw(),
            };
            let shrunk = canvas.resized((width, height))?;
            let buffer =
                RgbaImage::from_raw(width, height, shrunk.data).ok_or_else(|| MediaError::internal("gif frame"))?;
            encoder
                .encode_frame(image::Frame::from_parts(buffer, 0, 0, delay))
                .map_err(|e| MediaError::internal(format!("gif encode: {e}")))?;
        }
    }
    picture.files.push(Rendition { name: names::ANIMATION, width, height, bytes: out });
    Ok(picture)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let data: Vec<u8> = (0..width * height).flat_map(|i| [(i % 251) as u8, (i / width % 256) as u8, 90]).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&data, width as u16, height as u16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(4000, 3000, 1440), (1440, 1080));
        assert_eq!(fit(800, 600, 1440), (800, 600));
        assert_eq!(fit(1000, 20000, 540), (108, 2160));
    }

    #[test]
    fn a_jpeg_becomes_four_renditions_and_a_blurhash() {
        let picture = process(&jpeg(3000, 2000), Format::Jpeg, &PictureLimits::default()).unwrap();
        assert_eq!((picture.width, picture.height), (3000, 2000));
        let sizes: Vec<_> = picture.files.iter().map(|f| (f.name, f.width, f.height)).collect();
        assert_eq!(
            sizes,
            [
                ("small.webp", 540, 360),
                ("small.jpg", 540, 360),
                ("display.webp", 1440, 960),
                ("display.jpg", 1440, 960)
            ]
        );
        assert!(picture.files[0].bytes.starts_with(b"RIFF"));
        assert!(picture.files[1].bytes.starts_with(&[0xFF, 0xD8]));
        assert!(blurhash::decode(&picture.blurhash, 8, 6, 1.0).is_ok());
    }

    #[test]
    fn a_header_claiming_too_many_pixels_is_refused_before_decoding() {
        let limits = PictureLimits { max_pixels: 1_000_000, ..PictureLimits::default() };
        let error = process(&jpeg(1200, 1000), Format::Jpeg, &limits).unwrap_err();
        assert_eq!(error.code, "image_too_large");
    }

    /// Mutated files (bytes flipped, cut short, lengths garbled) must be refused
    /// cleanly: an error, never a panic or an allocation past the limits.
    #[test]
    fn mutated_files_are_refused_without_panicking() {
        let mut png = Vec::new();
        image::RgbaImage::from_fn(40, 30, |x, y| image::Rgba([x as u8, y as u8, 7, 255]))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for i in 0..3u8 {
                let frame = RgbaImage::from_fn(20, 10, |x, _| image::Rgba([x as u8 * 9, i * 60, 0, 255]));
                encoder.encode_frame(image::Frame::new(frame)).unwrap();
            }
        }
        let webp = Pixels { width: 30, height: 20, alpha: false, data: vec![90; 30 * 20 * 3] }.webp();
        let limits = PictureLimits { max_pixels: 4_000_000, max_frames: 50, max_animation_pixels: 10_000_000 };
        let mut state = 0x2545_f491_u32;
        let mut random = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as usize % below.max(1)
        };
        for (format, original) in
            [(Format::Jpeg, jpeg(48, 32)), (Format::Png, png), (Format::Gif, gif), (Format::Webp, webp)]
        {
            assert!(process(&original, format, &limits).is_ok(), "{format:?} fixture");
            for round in 0..300 {
                let mut bytes = original.clone();
                match round % 3 {
                    0 => {
                        for _ in 0..1 + random(8) {
                            let at = random(bytes.len());
                            bytes[at] = random(256) as u8;
                        }
                    }
                    1 => bytes.truncate(random(bytes.len())),
                    _ => {
                        let at = random(bytes.len().saturating_sub(4));
                        bytes[at..at + 4].copy_from_slice(&[0xFF, 0xFF, random(256) as u8, 0xFF]);
                    }
                }
                let outcome = std::panic::catch_unwind(|| process(&bytes, format, &limits).map(|p| p.files.len()));
                assert!(outcome.is_ok(), "{format:?} mutation {round} panicked");
            }
        }
    }
}
