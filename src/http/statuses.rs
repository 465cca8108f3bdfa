//! `/api/v1/statuses`: create (with `Idempotency-Key`), read, edit, delete,
//! edit history and source of notes. pengyou's `title` rides along as an extra field.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pengyou_store::{MediaId, MediaKind, MediaState, NewNote, NoteId, NoteView, Visibility};
use serde::Deserialize;

use crate::api::entities::{Status, StatusEdit, StatusSource};
use crate::api::present;
use crate::domain::notes::{NoteInput, compose};
use crate::domain::validate::ValidationError;
use crate::domain::visibility::can_view;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Auth, Input, User, lenient_bool, string_list};
use crate::http::rate_limit::ClientIp;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/statuses", axum::routing::post(create))
        .route("/api/v1/statuses/{id}", get(show).put(edit).delete(remove))
        .route("/api/v1/statuses/{id}/history", get(history))
        .route("/api/v1/statuses/{id}/source", get(source))
}

#[derive(Deserialize)]
struct StatusForm {
    status: Option<String>,
    title: Option<String>,
    visibility: Option<String>,
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    sensitive: Option<bool>,
    language: Option<String>,
    in_reply_to_id: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    media_ids: Option<Vec<String>>,
    scheduled_at: Option<String>,
    poll: Option<serde_json::Value>,
}

/// The longest `Idempotency-Key` kept.
const MAX_IDEMPOTENCY_KEY: usize = 128;

/// A note by id that `viewer` may see; anything else is 404, so hidden notes
/// cannot be told apart from missing ones.
pub async fn visible_note(state: &AppState, id: &str, viewer: Option<&pengyou_store::Account>) -> AppResult<NoteView> {
    let id: NoteId = id.parse().map_err(|_| AppError::NotFound)?;
    let view = state.store.note_by_id(id).await?.ok_or(AppError::NotFound)?;
    if can_view(state.store.as_ref(), &view, viewer).await? { Ok(view) } else { Err(AppError::NotFound) }
}

/// The uploads named in `media_ids`, checked: the author's own, finished, not
/// attached elsewhere, and a note's mix (1–18 images, or one video; a comment: one image).
async fn attachable_media(state: &AppState, user: &User, ids: &[String], comment: bool) -> AppResult<Vec<MediaId>> {
    let refuse = |code: &'static str, message: &str| {
        AppError::field("media_ids", ValidationError::new(code, message.to_owned()))
    };
    let mut found = Vec::with_capacity(ids.len());
    for id in ids.iter().filter(|id| !id.is_empty()) {
        let id: MediaId = id.parse().map_err(|_| refuse("media_not_found", "One of the files was not found."))?;
        if found.iter().any(|m: &pengyou_store::Media| m.id == id) {
            return Err(refuse("media_duplicate", "The same file is attached twice."));
        }
        let media = match state.store.media_by_id(id).await? {
            Some(media) if media.account_id == user.account.id => media,
            _ => return Err(refuse("media_not_found", "One of the files was not found.")),
        };
        match media.state {
            MediaState::Processing => {
                return Err(refuse("media_processing", "A file is still being processed; try again in a moment."));
            }
            MediaState::Failed => return Err(refuse("media_unreadable", "A file could not be processed; remove it.")),
            MediaState::Ready => {}
        }
        if media.note_id.is_some() {
            return Err(refuse("media_attached", "A file is already attached to another note."));
        }
        found.push(media);
    }
    let videos = found.iter().filter(|m| m.kind == MediaKind::Video).count();
    if comment && (found.len() > 1 || videos > 0) {
        return Err(refuse("too_many_media", "A comment can carry one photo."));
    }
    if videos > 0 && found.len() > 1 {
        return Err(refuse("media_mixed", "A note has either photos or one video, not both."));
    }
    if found.len() > MAX_NOTE_IMAGES {
        return Err(refuse("too_many_media", "A note can carry at most 18 photos."));
    }
    Ok(found.into_iter().map(|m| m.id).collect())
}

/// Photos one note may carry.
pub const MAX_NOTE_IMAGES: usize = 18;

fn unsupported(field: &'static str, message: &str) -> AppError {
    AppError::field(field, ValidationError::new("unsupported", message.to_owned()))
}

#[tracing::instrument(skip_all, fields(account.id = %user.account.id))]
async fn create(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    Input(form): Input<StatusForm>,
) -> AppResult<Response> {
    user.require("write:statuses")?;
    if form.poll.is_some() {
        return Err(unsupported("poll", "Polls are not supported."));
    }
    if form.scheduled_at.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(unsupported("scheduled_at", "Scheduled posts are not supported."));
    }
    let visibility = match form.visibility.as_deref().filter(|v| !v.is_empty()) {
        None => Visibility::Public,
        Some(value) => Visibility::parse(value).ok_or_else(|| {
            AppError::field(
                "visibility",
                ValidationError::new("visibility_invalid", "visibility must be public, unlisted, private or direct"),
            )
        })?,
    };
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| k.chars().take(MAX_IDEMPOTENCY_KEY).collect::<String>());
    let mut body = form.status.unwrap_or_default();
    let in_reply_to_id = match form.in_reply_to_id.as_deref().filter(|v| !v.is_empty()) {
        Some(id) => {
            let parent = visible_note(&state, id, Some(&user.account)).await?;
            // A reply to a reply stays at the second level, addressed to its author.
            if parent.note.parent_comment_id.is_some() && parent.author.id != user.account.id {
                let handle = format!("@{}", parent.author.username);
                if !body.to_lowercase().contains(&handle.to_lowercase()) {
                    body = format!("{handle} {body}");
                }
            }
            Some(parent.note.id)
        }
        None => None,
    };
    let media_ids =
        attachable_media(&state, &user, form.media_ids.as_deref().unwrap_or_default(), in_reply_to_id.is_some())
            .await?;
    let composed = compose(
        &state,
        NoteInput {
            title: form.title,
            body,
            spoiler_text: form.spoiler_text,
            sensitive: form.sensitive.unwrap_or(false),
            language: form.language,
            has_media: !media_ids.is_empty(),
        },
    )
    .await?;
    let (view, created) = state
        .store
        .create_note(NewNote {
            account_id: user.account.id,
            title: composed.title,
            body: composed.body,
            content_html: composed.content_html,
            language: composed.language,
            visibility,
            spoiler_text: composed.spoiler_text,
            sensitive: composed.sensitive,
            in_reply_to_id,
            tags: composed.tags,
            mention_ids: composed.mention_ids,
            media_ids,
            idempotency_key,
        })
        .await?;
    if created {
        tracing::info!(note.id = %view.note.id, "note created");
        state.jobs_wake.notify_one();
    }
    let status = present::status(&state, Some(&user.account), &view).await?;
    Ok((StatusCode::OK, Json(status)).into_response())
}

/// A note as its reader sees it; opening a note counts a view (once per reader per hour).
async fn show(
    State(state): State<AppState>,
    auth: Auth,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> AppResult<Json<Status>> {
    let viewer = auth.account();
    let view = visible_note(&state, &id, viewer).await?;
    if !view.note.is_comment() {
        match viewer {
            Some(account) => state.views.record(view.note.id, ("account", account.id.0)),
            None => state.views.record(view.note.id, ("address", ip)),
        };
    }
    Ok(Json(present::status(&state, viewer, &view).await?))
}

/// A note the signed-in user wrote: 404 when they cannot see it, 403 when it is someone else's.
async fn own_note(state: &AppState, id: &str, user: &User) -> AppResult<NoteView> {
    let view = visible_note(state, id, Some(&user.account)).await?;
    if view.note.account_id != user.account.id {
        return Err(AppError::Forbidden("not_author", "Only the author can do that".into()));
    }
    Ok(view)
}

async fn edit(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<StatusForm>,
) -> AppResult<Json<Status>> {
    user.require("write:statuses")?;
    let view = own_note(&state, &id, &user).await?;
    // Clients send the current media_ids with every edit; changing them is not supported yet.
    let current: Vec<String> = view.note.media.iter().map(|m| m.id.to_string()).collect();
    if form.media_ids.as_ref().is_some_and(|ids| *ids != current) {
        return Err(unsupported("media_ids", "A note's photos and video cannot be changed after posting yet."));
    }
    let note = view.note;
    let composed = compose(
        &state,
        NoteInput {
            // Fields left out keep their current values.
            title: form.title.or(note.title),
            body: form.status.unwrap_or(note.body),
            spoiler_text: Some(form.spoiler_text.unwrap_or(note.spoiler_text)),
            sensitive: form.sensitive.unwrap_or(note.sensitive),
            language: form.language.or(note.language),
            has_media: !note.media.is_empty(),
        },
    )
    .await?;
    let view = state.store.update_note(note.id, composed).await?;
    Ok(Json(present::status(&state, Some(&user.account), &view).await?))
}

async fn remove(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:statuses")?;
    let view = own_note(&state, &id, &user).await?;
    state.store.delete_note(view.note.id).await?;
    tracing::info!(note.id = %view.note.id, "note deleted");
    // Its files are deleted by a media job.
    state.media_wake.notify_one();
    // Mastodon answers a delete with the status and its source text, for "delete and redraft".
    let mut status = Status::new(&state.base_url, &view);
    status.text = Some(view.note.body);
    Ok(Json(status))
}

async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<StatusEdit>>> {
    let view = visible_note(&state, &id, auth.account()).await?;
    let revisions = state.store.note_revisions(view.note.id).await?;
    Ok(Json(revisions.iter().map(|r| StatusEdit::new(&state.base_url, &view.author, r)).collect()))
}

async fn source(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<StatusSource>> {
    user.require("read:statuses")?;
    let view = own_note(&state, &id, &user).await?;
    Ok(Json(StatusSource {
        id: view.note.id.to_string(),
        text: view.note.body,
        spoiler_text: view.note.spoiler_text,
        title: view.note.title,
    }))
}
