//! Media over HTTP: uploads (`/api/v1/media`, `/api/v2/media`), alt text and
//! focal points, subtitle tracks, and serving the stored files with the right
//! type, cache headers, byte ranges and the visibility check of their note.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use pengyou_store::{Media, MediaId, MediaKind, MediaState};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::api::entities::MediaAttachment;
use crate::domain::validate::{ValidationError, language_tag, media_description};
use crate::domain::visibility;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Input, User};
use crate::media::sniff::{self, Family};
use crate::media::storage::{self, ByteRange};
use crate::media::{self, subtitles};
use crate::state::AppState;

/// Routes with their own body limit (uploads are larger than any other request).
pub fn router(max_upload: u64) -> Router<AppState> {
    let limit = usize::try_from(max_upload).unwrap_or(usize::MAX).saturating_add(64 * 1024);
    Router::new()
        .route("/api/v1/media", post(upload_v1))
        .route("/api/v2/media", post(upload_v2))
        .route("/api/v1/media/{id}", get(show).put(update))
        .route("/api/v1/pengyou/media/{id}/subtitles", post(add_subtitles))
        .route("/api/v1/pengyou/media/{id}/subtitles/{language}", delete(remove_subtitles))
        .layer(DefaultBodyLimit::max(limit))
        .route("/media/{key}/{file}", get(serve))
}

/// An upload as received: the file on disk and the form fields that came with it.
struct Received {
    file: tempfile::NamedTempFile,
    head: Vec<u8>,
    description: String,
    focus: (f64, f64),
}

/// Reads a multipart upload, streaming the file to disk and stopping as soon
/// as it passes the limit for its kind (known from its first bytes).
async fn receive(
    state: &AppState,
    mut multipart: Multipart,
    file_field: &str,
) -> AppResult<(Received, Vec<(String, String)>)> {
    let limits = state.media.limits;
    let mut received: Option<(tempfile::NamedTempFile, Vec<u8>)> = None;
    let mut fields = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != file_field {
            let value = field.text().await.map_err(multipart_error)?;
            if value.len() > 10_000 {
                return Err(AppError::BadRequest("field_too_long", format!("The field {name} is too long.")));
            }
            fields.push((name, value));
            continue;
        }
        let temp = state.media.temp_file()?;
        let mut out = tokio::fs::File::create(temp.path()).await.map_err(io)?;
        let (mut head, mut size, mut limit) = (Vec::new(), 0u64, limits.max_video_bytes.max(limits.max_image_bytes));
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if head.len() < sniff::SNIFF_LEN {
                head.extend_from_slice(&chunk[..chunk.len().min(sniff::SNIFF_LEN - head.len())]);
                if head.len() >= 16 {
                    limit = match sniff::sniff(&head).map(|f| f.family()) {
                        Ok(Family::Video) => limits.max_video_bytes,
                        _ => limits.max_image_bytes,
                    };
                }
            }
            size += chunk.len() as u64;
            if size > limit {
                return Err(AppError::FileTooLarge(format!(
                    "The file is larger than the limit of {} MB.",
                    limit / (1024 * 1024)
                )));
            }
            out.write_all(&chunk).await.map_err(io)?;
        }
        out.flush().await.map_err(io)?;
        received = Some((temp, head));
    }
    let (file, head) = received.ok_or_else(|| {
        AppError::field("file", ValidationError::new("file_missing", "Attach a file in the `file` field."))
    })?;
    let description = match fields.iter().find(|(k, _)| k == "description") {
        Some((_, text)) => media_description(text)?,
        None => String::new(),
    };
    let focus = match fields.iter().find(|(k, _)| k == "focus") {
        Some((_, text)) => parse_focus(text)?,
        None => (0.0, 0.0),
    };
    Ok((Received { file, head, description, focus }, fields))
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::FileTooLarge("The upload is larger than the limit.".into())
    } else {
        AppError::BadRequest("body_unreadable", format!("The upload could not be read: {}", error.body_text()))
    }
}

fn io(error: std::io::Error) -> AppError {
    AppError::Internal(format!("upload: {error}"))
}

/// Mastodon's focal point: "x,y", each from -1 to 1.
fn parse_focus(text: &str) -> AppResult<(f64, f64)> {
    let bad = || {
        AppError::field(
            "focus",
            ValidationError::new("focus_invalid", "The focal point is two numbers from -1 to 1, like 0.5,-0.2."),
        )
    };
    let (x, y) = text.split_once(',').ok_or_else(bad)?;
    let (x, y): (f64, f64) = (x.trim().parse().map_err(|_| bad())?, y.trim().parse().map_err(|_| bad())?);
    if !(-1.0..=1.0).contains(&x) || !(-1.0..=1.0).contains(&y) {
        return Err(bad());
    }
    Ok((x, y))
}

async fn upload(state: &AppState, user: &User, multipart: Multipart, wait: bool) -> AppResult<Media> {
    user.require("write:media")?;
    let (received, _) = receive(state, multipart, "file").await?;
    let inspected = state.media.inspect(received.file.path(), &received.head).await?;
    state
        .media
        .accept(
            state.store.as_ref(),
            &user.account,
            media::Upload {
                file: received.file.path(),
                inspected,
                wait,
                description: received.description,
                focus: received.focus,
            },
        )
        .await
}

async fn attachment(state: &AppState, media: &Media) -> AppResult<MediaAttachment> {
    let signer = state.media.signer(state.store.as_ref()).await?;
    Ok(MediaAttachment::new(&state.base_url, media, Some(&signer)))
}

/// `POST /api/v1/media`: waits until the upload is processed.
async fn upload_v1(State(state): State<AppState>, user: User, multipart: Multipart) -> AppResult<Response> {
    let media = upload(&state, &user, multipart, true).await?;
    Ok(axum::Json(attachment(&state, &media).await?).into_response())
}

/// `POST /api/v2/media`: 200 when done at once (small images), else 202 and the client polls.
async fn upload_v2(State(state): State<AppState>, user: User, multipart: Multipart) -> AppResult<Response> {
    let media = upload(&state, &user, multipart, false).await?;
    if media.state == MediaState::Processing {
        state.media_wake.notify_one();
    }
    let status = if media.state == MediaState::Ready { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, axum::Json(attachment(&state, &media).await?)).into_response())
}

/// The caller's own upload, or 404.
async fn own_media(state: &AppState, user: &User, id: &str) -> AppResult<Media> {
    let id: MediaId = id.parse().map_err(|_| AppError::NotFound)?;
    match state.store.media_by_id(id).await? {
        Some(media) if media.account_id == user.account.id => Ok(media),
        _ => Err(AppError::NotFound),
    }
}

/// `GET /api/v1/media/:id`: 206 while processing, 200 when ready, 422 with the code if it failed.
async fn show(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Response> {
    user.require("read:media").or_else(|_| user.require("write:media"))?;
    let media = own_media(&state, &user, &id).await?;
    match media.state {
        MediaState::Ready => Ok(axum::Json(attachment(&state, &media).await?).into_response()),
        MediaState::Processing => {
            Ok((StatusCode::PARTIAL_CONTENT, axum::Json(attachment(&state, &media).await?)).into_response())
        }
        MediaState::Failed => {
            let code = media.error.as_deref().unwrap_or("media_unreadable");
            Err(AppError::validation(ValidationError::new(failure_code(code), failure_message(code))))
        }
    }
}

/// The stable codes a background failure can carry.
fn failure_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "media_unreadable",
        "image_too_large",
        "animation_too_long",
        "unsupported_media_type",
        "video_unreadable",
        "video_too_long",
        "video_too_large",
        "video_processing_timeout",
        "video_processing_unavailable",
        "file_empty",
    ];
    KNOWN.iter().find(|k| **k == code).copied().unwrap_or("media_unreadable")
}

fn failure_message(code: &str) -> &'static str {
    match code {
        "video_processing_timeout" => "Processing the video took too long.",
        "video_too_long" => "The video is longer than allowed.",
        "video_too_large" => "The video's picture is larger than allowed.",
        "image_too_large" => "The image is larger than allowed.",
        "video_processing_unavailable" => "This server cannot process videos right now.",
        _ => "The file could not be processed.",
    }
}

#[derive(Deserialize)]
struct UpdateForm {
    description: Option<String>,
    focus: Option<String>,
}

/// `PUT /api/v1/media/:id`: alt text and focal point.
async fn update(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<UpdateForm>,
) -> AppResult<Response> {
    user.require("write:media")?;
    let media = own_media(&state, &user, &id).await?;
    let description = form.description.as_deref().map(media_description).transpose()?;
    let focus = form.focus.as_deref().map(parse_focus).transpose()?;
    let media = state.store.update_media(media.id, description, focus).await?;
    Ok(axum::Json(attachment(&state, &media).await?).into_response())
}

/// `POST /api/v1/pengyou/media/:id/subtitles` (multipart `file` + `language`): adds or
/// replaces the track for a language. WebVTT or SRT in; WebVTT stored.
async fn add_subtitles(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    multipart: Multipart,
) -> AppResult<Response> {
    user.require("write:media")?;
    let media = own_media(&state, &user, &id).await?;
    if media.kind != MediaKind::Video {
        return Err(AppError::validation(ValidationError::new("not_a_video", "Subtitles belong to videos.")));
    }
    let (received, fields) = receive(&state, multipart, "file").await?;
    let language = fields.iter().find(|(k, _)| k == "language").map(|(_, v)| v.as_str()).unwrap_or_default();
    let language = language_tag(language).map_err(|e| AppError::field("language", e))?;
    let bytes = tokio::fs::read(received.file.path()).await.map_err(io)?;
    let cues = subtitles::parse(&bytes)?;
    let file = format!("sub-{}.vtt", storage::new_key());
    state
        .media
        .storage
        .put(&storage::file_path(&media.storage_key, &file), subtitles::to_webvtt(&cues).into_bytes())
        .await?;
    if let Some(old) = state.store.set_subtitle(media.id, &language, Some(file)).await? {
        state.media.storage.delete(&storage::file_path(&media.storage_key, &old)).await?;
    }
    let media = state.store.media_by_id(media.id).await?.ok_or(AppError::NotFound)?;
    Ok(axum::Json(attachment(&state, &media).await?).into_response())
}

async fn remove_subtitles(
    State(state): State<AppState>,
    user: User,
    Path((id, language)): Path<(String, String)>,
) -> AppResult<Response> {
    user.require("write:media")?;
    let media = own_media(&state, &user, &id).await?;
    let language = language_tag(&language).map_err(|e| AppError::field("language", e))?;
    let old = state.store.set_subtitle(media.id, &language, None).await?.ok_or(AppError::NotFound)?;
    state.media.storage.delete(&storage::file_path(&media.storage_key, &old)).await?;
    let media = state.store.media_by_id(media.id).await?.ok_or(AppError::NotFound)?;
    Ok(axum::Json(attachment(&state, &media).await?).into_response())
}

#[derive(Deserialize)]
struct SignedQuery {
    exp: Option<String>,
    sig: Option<String>,
}

/// The type of each file name media are stored under.
fn content_type(file: &str) -> Option<&'static str> {
    use crate::media::picture::names;
    match file {
        names::SMALL_WEBP | names::DISPLAY_WEBP => Some("image/webp"),
        names::SMALL_JPEG | names::DISPLAY_JPEG => Some("image/jpeg"),
        names::ANIMATION => Some("image/gif"),
        media::VIDEO_FILE => Some("video/mp4"),
        _ if file.starts_with("sub-") && file.ends_with(".vtt") && storage::is_key(&file[4..file.len() - 4]) => {
            Some("text/vtt; charset=utf-8")
        }
        _ => None,
    }
}

/// `GET /media/:key/:file`: files of notes everyone may see are public and
/// cached for a year; all others need a valid signed URL, which the API hands
/// only to readers who may see the note (or to the uploader, before it is attached).
async fn serve(
    State(state): State<AppState>,
    Path((key, file)): Path<(String, String)>,
    Query(signed): Query<SignedQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let content_type = content_type(&file).ok_or(AppError::NotFound)?;
    if !storage::is_key(&key) {
        return Err(AppError::NotFound);
    }
    let media = state.store.media_by_key(&key).await?.ok_or(AppError::NotFound)?;
    let public = is_public(&state, &media).await?;
    if !public {
        let signer = state.media.signer(state.store.as_ref()).await?;
        let valid = match (signed.exp, signed.sig.as_deref()) {
            (Some(exp), Some(sig)) => exp.parse().is_ok_and(|exp| signer.verify(&key, exp, sig)),
            _ => false,
        };
        if !valid {
            return Err(AppError::NotFound);
        }
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(ByteRange::parse);
    let fetched =
        state.media.storage.fetch(&storage::file_path(&key, &file), range).await?.ok_or(AppError::NotFound)?;
    let partial = range.is_some();
    let mut response = Response::new(Body::from_stream(fetched.stream));
    *response.status_mut() = if partial { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(fetched.range.end - fetched.range.start));
    if partial
        && let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            fetched.range.start,
            fetched.range.end.saturating_sub(1),
            fetched.size
        ))
    {
        headers.insert(header::CONTENT_RANGE, value);
    }
    // Files never change under a key, so they may be cached for as long as the reader may see them.
    let cache = if public { "public, max-age=31536000, immutable" } else { "private, max-age=3600" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    Ok(response)
}

/// Whether anyone at all, signed in or not, may see the media's note.
async fn is_public(state: &AppState, media: &Media) -> AppResult<bool> {
    let Some(note) = media.note_id else { return Ok(false) };
    let Some(view) = state.store.note_by_id(note).await? else { return Ok(false) };
    visibility::can_view(state.store.as_ref(), &view, None).await
}
