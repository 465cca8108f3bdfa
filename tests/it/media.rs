//! Photos and videos through the API: uploads and their refusals, metadata
//! stripping, renditions, attaching to notes and comments, who may load the
//! files, byte ranges, subtitles, and deleting files with their note.

use std::process::Command;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, TestResponse};

on_both_backends!(
    a_photo_note_end_to_end,
    bad_files_are_refused_and_change_nothing,
    metadata_never_survives,
    large_images_process_in_the_background,
    attaching_follows_the_rules,
    private_notes_keep_their_media_private,
    animated_gifs_stay_animated,
    deleting_notes_and_stale_uploads_deletes_files,
    videos_are_transcoded_without_metadata,
);

/// A JPEG of `width`×`height` with a gradient, and optional extra APP segments (number, data).
pub fn jpeg(width: u16, height: u16, segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let data: Vec<u8> = (0..u32::from(width) * u32::from(height))
        .flat_map(|i| {
            let (x, y) = (i % u32::from(width), i / u32::from(width));
            [(x * 255 / u32::from(width)) as u8, (y * 255 / u32::from(height)) as u8, 120]
        })
        .collect();
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
    for (number, data) in segments {
        encoder.add_app_segment(*number, data.clone()).unwrap();
    }
    encoder.encode(&data, width, height, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

/// EXIF (as an APP1 payload) with an orientation and GPS coordinates.
pub fn exif_with_gps(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0: Orientation, GPS IFD pointer.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
    let gps_ifd = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&(gps_ifd as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    // GPS IFD: latitude ref "N", latitude 37/1 46/1 2999/100.
    let rationals = gps_ifd + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&5u16.to_le_bytes());
    tiff.extend_from_slice(&3u32.to_le_bytes());
    tiff.extend_from_slice(&(rationals as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(37u32, 1u32), (46, 1), (2999, 100)] {
        tiff.extend_from_slice(&n.to_le_bytes());
        tiff.extend_from_slice(&d.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    app1
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A tiny PNG whose header claims `width`×`height` pixels.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// A real PNG, encoded by the image crate.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image =
        image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([(x % 256) as u8, (y % 256) as u8, 50, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// An animated GIF of `frames` frames.
pub fn gif(frames: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        encoder.set_repeat(image::codecs::gif::Repeat::Infinite).unwrap();
        for i in 0..frames {
            let frame = image::RgbaImage::from_fn(64, 48, |x, _| image::Rgba([(x * 4) as u8, (i * 80) as u8, 0, 255]));
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    out
}

impl TestApp {
    /// Uploads a file through `/api/v2/media` (or v1) and returns the response.
    pub async fn upload(
        &self,
        token: &str,
        v1: bool,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let path = if v1 { "/api/v1/media" } else { "/api/v2/media" };
        self.post(path).token(token).multipart(fields, Some(("file", filename, content_type, bytes))).send().await
    }

    /// Uploads a photo that finishes at once and returns its attachment JSON.
    pub async fn photo(&self, token: &str, bytes: &[u8]) -> Value {
        let response = self.upload(token, false, "photo.jpg", "image/jpeg", bytes, &[]).await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// GETs a URL the API handed out (absolute, on the test host).
    pub async fn fetch(&self, url: &str, headers: &[(&str, &str)]) -> TestResponse {
        let path = url.strip_prefix("https://pengyou.test").unwrap_or(url);
        let mut request = self.request(Method::GET, path);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await
    }
}

/// Width and height of a served image (JPEG read by its header, others by the image crate).
fn dims(bytes: &[u8]) -> (u32, u32) {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        return (u32::from(info.width), u32::from(info.height));
    }
    let image = image::load_from_memory(bytes).unwrap();
    (image.width(), image.height())
}

fn unsigned(url: &str) -> &str {
    url.split('?').next().unwrap()
}

/// The ffmpeg tools are here, or the test says it is skipped (CI requires them).
pub fn ffmpeg_here() -> bool {
    let found = Command::new("ffmpeg").arg("-version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("TEST_REQUIRE_FFMPEG").is_none(), "ffmpeg is required (TEST_REQUIRE_FFMPEG is set)");
        eprintln!("skipped: video test (ffmpeg is not installed)");
    }
    found
}

/// A short test video made by ffmpeg, with a GPS location and other metadata in its container.
pub fn video_with_gps(dir: &std::path::Path, extension: &str) -> Vec<u8> {
    let path = dir.join(format!("source.{extension}"));
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
        ])
        .args(["-t", "2", "-metadata", "location=+37.7749-122.4194/", "-metadata", "title=secret-title"])
        .args(["-metadata", "comment=secret-comment", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(path).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Upload, describe, post, read back in feeds, load every rendition.
async fn a_photo_note_end_to_end(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let upload = app
        .upload(
            &alice,
            false,
            "cat.jpg",
            "image/jpeg",
            &jpeg(1600, 1200, &[]),
            &[("description", "一只猫 on a sofa"), ("focus", "0.5,-0.25")],
        )
        .await;
    upload.assert_status(StatusCode::OK);
    let media = upload.json();
    assert_eq!(media["type"], "image");
    assert_eq!(media["description"], "一只猫 on a sofa");
    assert_eq!(media["meta"]["original"]["width"], 1600);
    assert_eq!(media["meta"]["original"]["height"], 1200);
    assert_eq!(media["meta"]["small"]["width"], 540);
    assert_eq!(media["meta"]["small"]["height"], 405);
    assert_eq!(media["meta"]["focus"]["x"], 0.5);
    assert!(media["blurhash"].as_str().is_some_and(|b| b.len() >= 6));
    let id = media["id"].as_str().unwrap().to_owned();

    let shown = app.get(&format!("/api/v1/media/{id}")).token(&alice).send().await;
    shown.assert_status(StatusCode::OK);
    let updated = app
        .request(Method::PUT, &format!("/api/v1/media/{id}"))
        .token(&alice)
        .form(&[("description", "A cat"), ("focus", "0,0")])
        .send()
        .await;
    updated.assert_status(StatusCode::OK);
    assert_eq!(updated.json()["description"], "A cat");
    let bad_focus =
        app.request(Method::PUT, &format!("/api/v1/media/{id}")).token(&alice).form(&[("focus", "3,0")]).send().await;
    bad_focus.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_focus.error_code(), "focus_invalid");

    // A photo note may have no text.
    let note = app.post_note(&alice, &[("media_ids[]", &id), ("title", "周末")]).await;
    let attached = &note["media_attachments"][0];
    assert_eq!(attached["id"], id.as_str());
    let url = attached["url"].as_str().unwrap();
    assert_eq!(unsigned(url), url, "a public note's media URLs are plain");
    for (key, kind, width) in [("url", "image/webp", 1440), ("preview_url", "image/webp", 540)] {
        let file = app.fetch(attached[key].as_str().unwrap(), &[]).await;
        file.assert_status(StatusCode::OK);
        assert_eq!(file.header("content-type").as_deref(), Some(kind));
        assert_eq!(file.header("x-content-type-options").as_deref(), Some("nosniff"));
        assert!(file.header("cache-control").unwrap().contains("immutable"));
        assert_eq!(dims(&file.bytes).0, width);
    }
    for key in ["jpeg_url", "jpeg_preview_url"] {
        let file = app.fetch(attached["pengyou"][key].as_str().unwrap(), &[]).await;
        file.assert_status(StatusCode::OK);
        assert_eq!(file.header("content-type").as_deref(), Some("image/jpeg"));
    }
    // Byte ranges.
    let part = app.fetch(url, &[("range", "bytes=0-99")]).await;
    part.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes.len(), 100);
    assert!(part.header("content-range").unwrap().starts_with("bytes 0-99/"));
    let beyond = app.fetch(url, &[("range", "bytes=999999999-")]).await;
    beyond.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    app.fetch(url, &[("range", "bytes=-0")]).await.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    let tail = app.fetch(url, &[("range", "bytes=-10")]).await;
    tail.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes.len(), 10);
    // Every read path carries the attachment.
    app.run_jobs().await;
    let public = app.json("/api/v1/timelines/public", None).await;
    assert_eq!(public[0]["media_attachments"][0]["id"], id.as_str());
    // Unknown files under a real key, and made-up keys, are 404.
    let key = unsigned(url).split('/').nth(4).unwrap().to_owned();
    app.fetch(&format!("/media/{key}/original.jpg"), &[]).await.assert_status(StatusCode::NOT_FOUND);
    app.fetch("/media/0123456789abcdef0123456789abcdef/display.webp", &[]).await.assert_status(StatusCode::NOT_FOUND);
    app.fetch(&format!("/media/{key}/..%2F..%2Fetc%2Fpasswd"), &[]).await.assert_status(StatusCode::NOT_FOUND);
    // v1 answers with the finished attachment too.
    let v1 = app.upload(&alice, true, "x.png", "image/png", &png(300, 200), &[]).await;
    v1.assert_status(StatusCode::OK);
    assert_eq!(v1.json()["meta"]["original"]["width"], 300);
    // Nobody else can see or change an upload.
    let (bob, _) = app.member("bob").await;
    app.get(&format!("/api/v1/media/{id}")).token(&bob).send().await.assert_status(StatusCode::NOT_FOUND);
}

async fn bad_files_are_refused_and_change_nothing(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let good = jpeg(64, 64, &[]);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("empty.jpg", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "file_empty"),
        ("truncated.jpg", good[..good.len() / 3].to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "media_unreadable"),
        ("bomb.png", png_claiming(100_000, 100_000), StatusCode::UNPROCESSABLE_ENTITY, "image_too_large"),
        (
            "archive.jpg",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00secret.txt".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_media_type",
        ),
        (
            "page.jpg",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_media_type",
        ),
        (
            "logo.svg",
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_media_type",
        ),
        (
            "big.jpg",
            {
                let mut big = jpeg(16, 16, &[]);
                big.resize(21 * 1024 * 1024, 0);
                big
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            "heic.jpg",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_media_type",
        ),
    ];
    for (name, bytes, status, code) in cases {
        let response = app.upload(&alice, false, name, "image/jpeg", &bytes, &[]).await;
        assert_eq!(response.status, status, "{name}: {}", response.body);
        assert_eq!(response.error_code(), code, "{name}");
    }
    let missing = app.post("/api/v2/media").token(&alice).multipart(&[("description", "no file")], None).send().await;
    missing.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.error_code(), "file_missing");
    let too_long = "字".repeat(1501);
    let described = app.upload(&alice, false, "a.jpg", "image/jpeg", &good, &[("description", &too_long)]).await;
    assert_eq!(described.error_code(), "description_too_long");
    let anonymous = app.post("/api/v2/media").multipart(&[], Some(("file", "a.jpg", "image/jpeg", &good))).send().await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    // None of it left anything behind.
    assert_eq!(app.state.media.storage.list(None).await.unwrap(), Vec::<String>::new());
    // A PNG named .jpg and sent as image/jpeg is taken for what it is.
    let png = app.upload(&alice, false, "photo.jpg", "image/jpeg", &png(120, 80), &[]).await;
    png.assert_status(StatusCode::OK);
    assert_eq!(png.json()["meta"]["original"]["width"], 120);
}

async fn metadata_never_survives(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret-xmp-creator</x:xmpmeta>".to_vec();
    let iptc = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x10secret-iptc-byline".to_vec();
    let source = jpeg(400, 200, &[(1, exif_with_gps(6)), (1, xmp), (13, iptc)]);
    assert!(contains(&source, b"Exif") && contains(&source, b"secret-xmp"));
    let media = app.photo(&alice, &source).await;
    // Orientation 6 turns the 400×200 picture upright: 200 wide, 400 high.
    assert_eq!(media["meta"]["original"]["width"], 200);
    assert_eq!(media["meta"]["original"]["height"], 400);
    let note = app.post_note(&alice, &[("media_ids[]", media["id"].as_str().unwrap())]).await;
    let attached = &note["media_attachments"][0];
    for url in [
        &attached["url"],
        &attached["preview_url"],
        &attached["pengyou"]["jpeg_url"],
        &attached["pengyou"]["jpeg_preview_url"],
    ] {
        let file = app.fetch(url.as_str().unwrap(), &[]).await;
        file.assert_status(StatusCode::OK);
        for secret in [&b"Exif"[..], b"secret", b"GPS", b"8BIM", b"xmpmeta", b"ICC_PROFILE"] {
            assert!(!contains(&file.bytes, secret), "{url} still carries {}", String::from_utf8_lossy(secret));
        }
        let (width, height) = dims(&file.bytes);
        assert!(height > width, "served upright");
    }
    // Nothing else was kept: only the four renditions exist in storage.
    let key = unsigned(attached["url"].as_str().unwrap()).split('/').nth(4).unwrap().to_owned();
    let files = app.state.media.storage.list(None).await.unwrap();
    assert_eq!(
        files,
        [
            format!("{key}/display.jpg"),
            format!("{key}/display.webp"),
            format!("{key}/small.jpg"),
            format!("{key}/small.webp")
        ]
    );
}

async fn large_images_process_in_the_background(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let response = app.upload(&alice, false, "big.jpg", "image/jpeg", &jpeg(4200, 4000, &[]), &[]).await;
    response.assert_status(StatusCode::ACCEPTED);
    let media = response.json();
    assert_eq!(media["url"], Value::Null);
    assert_eq!(media["pengyou"]["state"], "processing");
    let id = media["id"].as_str().unwrap().to_owned();
    app.get(&format!("/api/v1/media/{id}")).token(&alice).send().await.assert_status(StatusCode::PARTIAL_CONTENT);
    // Not attachable until it is done.
    let early =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", "big"), ("media_ids[]", &id)]).send().await;
    early.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(early.error_code(), "media_processing");
    app.run_jobs().await;
    let done = app.get(&format!("/api/v1/media/{id}")).token(&alice).send().await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.json()["meta"]["original"]["width"], 4200);
    assert_eq!(done.json()["meta"]["small"]["width"], 540);
    // The waiting upload is gone from storage; only renditions remain.
    assert!(app.state.media.storage.list(Some("incoming")).await.unwrap().is_empty());
    app.post_note(&alice, &[("status", "big"), ("media_ids[]", &id)]).await;
}

async fn attaching_follows_the_rules(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let (bob, _) = app.member("bob").await;
    let tiny = png(8, 8);
    let mut ids = Vec::new();
    for _ in 0..19 {
        ids.push(app.photo(&alice, &tiny).await["id"].as_str().unwrap().to_owned());
    }
    let post = |ids: &[String], extra: Vec<(&'static str, String)>| {
        let mut pairs: Vec<(&str, String)> = ids.iter().map(|id| ("media_ids[]", id.clone())).collect();
        pairs.extend(extra);
        pairs
    };
    let send = |pairs: Vec<(&'static str, String)>, token: String| async move {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        app.post("/api/v1/statuses").token(&token).form(&borrowed).send().await
    };
    let nineteen = send(post(&ids, vec![]), alice.clone()).await;
    assert_eq!(nineteen.error_code(), "too_many_media");
    let not_mine = send(post(&ids[..1], vec![]), bob.clone()).await;
    assert_eq!(not_mine.error_code(), "media_not_found");
    let twice = send(post(&[ids[0].clone(), ids[0].clone()], vec![]), alice.clone()).await;
    assert_eq!(twice.error_code(), "media_duplicate");
    let note = send(post(&ids[..18], vec![("status", "eighteen".into())]), alice.clone()).await;
    note.assert_status(StatusCode::OK);
    let note = note.json();
    let order: Vec<&str> =
        note["media_attachments"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(order, ids[..18].iter().map(String::as_str).collect::<Vec<_>>(), "kept in the author's order");
    let reused = send(post(&ids[..1], vec![("status", "again".into())]), alice.clone()).await;
    assert_eq!(reused.error_code(), "media_attached");
    // A comment carries one photo.
    let note_id = note["id"].as_str().unwrap().to_owned();
    let two =
        [app.photo(&bob, &tiny).await, app.photo(&bob, &tiny).await].map(|m| m["id"].as_str().unwrap().to_owned());
    let crowded = send(post(&two, vec![("in_reply_to_id", note_id.clone())]), bob.clone()).await;
    assert_eq!(crowded.error_code(), "too_many_media");
    let comment = send(post(&two[..1], vec![("in_reply_to_id", note_id.clone())]), bob.clone()).await;
    comment.assert_status(StatusCode::OK);
    let comments = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments"), None).await;
    assert_eq!(
        comments["comments"][0]["comment"]["media_attachments"][0]["id"],
        two[0].as_str(),
        "photo comments show in the comment list"
    );
    // An edit that sends the same media_ids is fine; changing them is refused.
    let edit = app
        .request(Method::PUT, &format!("/api/v1/statuses/{note_id}"))
        .token(&alice)
        .form(&[("status", "edited"), ("media_ids[]", &ids[0])])
        .send()
        .await;
    assert_eq!(edit.error_code(), "unsupported");
}

async fn private_notes_keep_their_media_private(app: &TestApp) {
    let (alice, alice_id) = app.member("alice").await;
    let (bob, _) = app.member("bob").await;
    let (_eve, _) = app.member("eve").await;
    app.act(&format!("/api/v1/accounts/{alice_id}/follow"), &bob).await;
    let media = app.photo(&alice, &jpeg(300, 300, &[])).await;
    // Before it is attached, only signed URLs (given to the uploader) work.
    let signed = media["url"].as_str().unwrap().to_owned();
    assert!(signed.contains("sig="));
    app.fetch(&signed, &[]).await.assert_status(StatusCode::OK);
    app.fetch(unsigned(&signed), &[]).await.assert_status(StatusCode::NOT_FOUND);

    let note = app
        .post_note(
            &alice,
            &[("status", "friends only"), ("visibility", "private"), ("media_ids[]", media["id"].as_str().unwrap())],
        )
        .await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    // A follower gets working signed URLs.
    let seen = app.json(&format!("/api/v1/statuses/{note_id}"), Some(&bob)).await;
    let url = seen["media_attachments"][0]["url"].as_str().unwrap().to_owned();
    let file = app.fetch(&url, &[]).await;
    file.assert_status(StatusCode::OK);
    assert!(file.header("cache-control").unwrap().starts_with("private"));
    // Without the signature, with a forged one, or an expired one: nothing.
    app.fetch(unsigned(&url), &[]).await.assert_status(StatusCode::NOT_FOUND);
    let forged = url.replace("sig=", "sig=AAAA");
    app.fetch(&forged, &[]).await.assert_status(StatusCode::NOT_FOUND);
    let (base, _) = url.split_once('?').unwrap();
    let sig = url.split("sig=").nth(1).unwrap();
    app.fetch(&format!("{base}?exp=1000&sig={sig}"), &[]).await.assert_status(StatusCode::NOT_FOUND);
    app.fetch(&format!("{base}?exp=soon&sig={sig}"), &[]).await.assert_status(StatusCode::NOT_FOUND);
    // A signature is for one key only.
    let other = app.photo(&alice, &png(10, 10)).await;
    let other_key = unsigned(other["url"].as_str().unwrap()).split('/').nth(4).unwrap().to_owned();
    let key = unsigned(&url).split('/').nth(4).unwrap().to_owned();
    app.fetch(&url.replace(&key, &other_key), &[]).await.assert_status(StatusCode::NOT_FOUND);
    // Strangers and visitors cannot see the note, so the API never gives them a URL.
    app.get(&format!("/api/v1/statuses/{note_id}")).send().await.assert_status(StatusCode::NOT_FOUND);
}

async fn animated_gifs_stay_animated(app: &TestApp) {
    use image::AnimationDecoder;
    let (alice, _) = app.member("alice").await;
    let media = app.upload(&alice, false, "dance.gif", "image/gif", &gif(3), &[]).await;
    media.assert_status(StatusCode::OK);
    let media = media.json();
    assert_eq!(media["type"], "gifv");
    let url = media["url"].as_str().unwrap();
    assert!(unsigned(url).ends_with("/animation.gif"));
    let file = app.fetch(url, &[]).await;
    assert_eq!(file.header("content-type").as_deref(), Some("image/gif"));
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&file.bytes)).unwrap().into_frames().count();
    assert_eq!(frames, 3);
    let still = app.photo(&alice, &gif(1)).await;
    assert_eq!(still["type"], "image");
}

async fn deleting_notes_and_stale_uploads_deletes_files(app: &TestApp) {
    let (alice, _) = app.member("alice").await;
    let (bob, _) = app.member("bob").await;
    let media = app.photo(&alice, &jpeg(200, 100, &[])).await;
    let note = app.post_note(&alice, &[("media_ids[]", media["id"].as_str().unwrap())]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let comment_photo = app.photo(&bob, &png(20, 20)).await;
    app.post_note(
        &bob,
        &[("status", "nice"), ("in_reply_to_id", &note_id), ("media_ids[]", comment_photo["id"].as_str().unwrap())],
    )
    .await;
    let stale = app.photo(&alice, &png(30, 30)).await;
    app.run_jobs().await;
    assert_eq!(app.state.media.storage.list(None).await.unwrap().len(), 12);

    app.request(Method::DELETE, &format!("/api/v1/statuses/{note_id}"))
        .token(&alice)
        .send()
        .await
        .assert_status(StatusCode::OK);
    app.run_jobs().await;
    let left = app.state.media.storage.list(None).await.unwrap();
    let stale_key = unsigned(stale["url"].as_str().unwrap()).split('/').nth(4).unwrap().to_owned();
    assert!(left.iter().all(|f| f.starts_with(&stale_key)), "the note's and its comment's files are gone: {left:?}");
    app.fetch(note["media_attachments"][0]["url"].as_str().unwrap(), &[]).await.assert_status(StatusCode::NOT_FOUND);

    // An upload never attached lives a day.
    assert_eq!(app.state.media.purge(app.store.as_ref()).await.unwrap(), 0);
    let a_day_later = pengyou_store::now_ms() + 1;
    assert_eq!(app.state.media.purge_unattached_before(app.store.as_ref(), a_day_later).await.unwrap(), 1);
    assert!(app.state.media.storage.list(None).await.unwrap().is_empty());
    app.get(&format!("/api/v1/media/{}", stale["id"].as_str().unwrap()))
        .token(&alice)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
}

async fn videos_are_transcoded_without_metadata(app: &TestApp) {
    if !ffmpeg_here() {
        return;
    }
    let (alice, _) = app.member("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let source = video_with_gps(dir.path(), "mov");
    assert!(contains(&source, b"secret-title") && contains(&source, b"+37.7749"));
    let response =
        app.upload(&alice, false, "IMG_0001.MOV", "video/quicktime", &source, &[("description", "a test card")]).await;
    response.assert_status(StatusCode::ACCEPTED);
    let id = response.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let media = app.json_with(&format!("/api/v1/media/{id}"), &alice).await;
    assert_eq!(media["type"], "video");
    assert_eq!(media["meta"]["original"]["width"], 320);
    assert!((media["meta"]["duration"].as_f64().unwrap() - 2.0).abs() < 0.2);
    assert!(media["blurhash"].is_string());

    // Subtitles: SRT in, WebVTT out; bad tracks refused.
    let srt = "1\n00:00:00,500 --> 00:00:01,500\n你好 <b>world</b>\n";
    let added = app
        .post(&format!("/api/v1/pengyou/media/{id}/subtitles"))
        .token(&alice)
        .multipart(&[("language", "zh-hans")], Some(("file", "zh.srt", "application/x-subrip", srt.as_bytes())))
        .send()
        .await;
    added.assert_status(StatusCode::OK);
    let track = &added.json()["pengyou"]["subtitles"][0];
    assert_eq!(track["language"], "zh-Hans");
    let bad = app
        .post(&format!("/api/v1/pengyou/media/{id}/subtitles"))
        .token(&alice)
        .multipart(&[("language", "en")], Some(("file", "en.srt", "text/plain", b"not subtitles")))
        .send()
        .await;
    assert_eq!(bad.error_code(), "subtitles_invalid");
    let bad_language = app
        .post(&format!("/api/v1/pengyou/media/{id}/subtitles"))
        .token(&alice)
        .multipart(&[("language", "../../x")], Some(("file", "en.srt", "text/plain", srt.as_bytes())))
        .send()
        .await;
    assert_eq!(bad_language.error_code(), "language_invalid");

    let note = app.post_note(&alice, &[("status", "video"), ("media_ids[]", &id)]).await;
    let attached = &note["media_attachments"][0];
    let video = app.fetch(attached["url"].as_str().unwrap(), &[]).await;
    video.assert_status(StatusCode::OK);
    assert_eq!(video.header("content-type").as_deref(), Some("video/mp4"));
    for secret in [&b"+37.7749"[..], b"secret-title", b"secret-comment", b"Lavf"] {
        assert!(!contains(&video.bytes, secret), "the video still carries {}", String::from_utf8_lossy(secret));
    }
    let out = dir.path().join("served.mp4");
    std::fs::write(&out, &video.bytes).unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name:format_tags", "-of", "json"])
        .arg(&out)
        .output()
        .unwrap();
    let probe = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.contains("h264") && probe.contains("aac"), "{probe}");
    assert!(!probe.contains("location"), "{probe}");
    let range = app.fetch(attached["url"].as_str().unwrap(), &[("range", "bytes=100-")]).await;
    range.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.bytes.len(), video.bytes.len() - 100);
    let vtt = app.fetch(attached["pengyou"]["subtitles"][0]["url"].as_str().unwrap(), &[]).await;
    assert_eq!(vtt.header("content-type").as_deref(), Some("text/vtt; charset=utf-8"));
    assert_eq!(vtt.body, "WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.500\n你好 world\n");
    let poster = app.fetch(attached["preview_url"].as_str().unwrap(), &[]).await;
    assert_eq!(dims(&poster.bytes).0, 320);
}

impl TestApp {
    /// GETs `path` with a token, expecting 200.
    pub async fn json_with(&self, path: &str, token: &str) -> Value {
        self.json(path, Some(token)).await
    }
}

/// Without ffmpeg a video is refused with a clear code, and photos still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ffmpeg_videos_are_refused_clearly() {
    let app = TestApp::with_config(Backend::Sqlite, |config| {
        config.ffmpeg = "/nonexistent/ffmpeg".into();
        config.ffprobe = "/nonexistent/ffprobe".into();
    })
    .await
    .unwrap();
    let (alice, _) = app.member("alice").await;
    let fake_mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41\0\0\0\x08free".to_vec();
    let refused = app.upload(&alice, false, "clip.mp4", "video/mp4", &fake_mp4, &[]).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.error_code(), "video_processing_unavailable");
    assert!(app.state.media.storage.list(None).await.unwrap().is_empty(), "nothing was stored");
    app.photo(&alice, &jpeg(32, 32, &[])).await;
    app.cleanup().await;
}

/// The same uploads and reads against a real S3-compatible server (moto) on 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_in_an_s3_bucket() {
    let Some(server) = crate::s3::S3Server::start().await else { return };
    let app = TestApp::with_config(Backend::Sqlite, |config| {
        config.media_s3_bucket = Some(server.bucket.clone());
        config.media_s3_endpoint = Some(server.endpoint.clone());
        config.media_s3_access_key_id = Some("test".into());
        config.media_s3_secret_access_key = Some("test".into());
    })
    .await
    .unwrap();
    assert!(app.state.media.storage.description.starts_with("s3://"));
    let (alice, _) = app.member("alice").await;
    let media = app.photo(&alice, &jpeg(800, 600, &[(1, exif_with_gps(1))])).await;
    let big = app.upload(&alice, false, "big.jpg", "image/jpeg", &jpeg(4200, 4000, &[]), &[]).await;
    big.assert_status(StatusCode::ACCEPTED);
    app.run_jobs().await;
    let note =
        app.post_note(&alice, &[("status", "in the bucket"), ("media_ids[]", media["id"].as_str().unwrap())]).await;
    let url = note["media_attachments"][0]["url"].as_str().unwrap();
    let file = app.fetch(url, &[]).await;
    file.assert_status(StatusCode::OK);
    assert_eq!(dims(&file.bytes).0, 800);
    assert!(!contains(&file.bytes, b"Exif"));
    let part = app.fetch(url, &[("range", "bytes=10-19")]).await;
    part.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes, file.bytes[10..20]);
    let tail = app.fetch(url, &[("range", "bytes=-10")]).await;
    tail.assert_status(StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes, file.bytes[file.bytes.len() - 10..]);
    let beyond = app.fetch(url, &[("range", "bytes=999999999-")]).await;
    beyond.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.header("content-range"), Some(format!("bytes */{}", file.bytes.len())));
    let objects = server.list().await;
    assert_eq!(objects.len(), 8, "{objects:?}");
    app.request(Method::DELETE, &format!("/api/v1/statuses/{}", note["id"].as_str().unwrap()))
        .token(&alice)
        .send()
        .await
        .assert_status(StatusCode::OK);
    app.run_jobs().await;
    assert_eq!(server.list().await.len(), 4, "the note's files left the bucket");
    app.cleanup().await;
}
