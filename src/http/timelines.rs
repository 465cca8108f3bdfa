//! Feeds: the home feed (following), the local public feed, tag feeds, the
//! discover feed (`/api/v1/pengyou/discover`, also `/api/v1/trends/statuses`),
//! trending tags, and reading positions (`/api/v1/markers`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pengyou_store::{FeedFilter, Listed, NoteView, TagTrend, now_ms};
use serde::Deserialize;
use serde_json::Value;

use crate::api::entities::{MarkerEntity, TagEntity};
use crate::api::present;
use crate::domain::discover::{self, Reader};
use crate::domain::visibility::{self, Audience};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Auth, Input, PageParams, User, lenient_bool, paged};
use crate::state::AppState;
use crate::web::{encode, preferred_language};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/timelines/home", get(home))
        .route("/api/v1/timelines/public", get(public))
        .route("/api/v1/timelines/tag/{tag}", get(tag))
        .route("/api/v1/pengyou/discover", get(discover_feed))
        .route("/api/v1/trends/statuses", get(discover_feed))
        .route("/api/v1/trends/tags", get(trending_tags))
        .route("/api/v1/trends", get(trending_tags))
        .route("/api/v1/markers", get(markers).post(set_markers))
}

/// A page of statuses answered with `Link` headers: the notes the reader may see,
/// shown through their filters. Cursors are the list's own (note ids for feeds,
/// row ids for likes and collects), taken before anything is left out.
pub async fn statuses_page(
    state: &AppState,
    viewer: Option<&pengyou_store::Account>,
    page: Vec<Listed<NoteView>>,
    context: &str,
    path: &str,
    extra: &str,
) -> AppResult<Response> {
    let cursors: Vec<i64> = page.iter().map(|l| l.cursor).collect();
    let views = page.into_iter().map(|l| l.item).collect();
    let views = visibility::visible(state.store.as_ref(), viewer, views).await?;
    let statuses = present::statuses(state, viewer, &views, context).await?;
    Ok(paged(state, statuses, path, extra, &cursors))
}

/// A feed page, which pages by note id.
pub async fn feed_page(
    state: &AppState,
    viewer: Option<&pengyou_store::Account>,
    views: Vec<NoteView>,
    context: &str,
    path: &str,
    extra: &str,
) -> AppResult<Response> {
    let page = views.into_iter().map(|view| Listed { cursor: view.note.id.0, item: view }).collect();
    statuses_page(state, viewer, page, context, path, extra).await
}

async fn home(State(state): State<AppState>, user: User, Query(params): Query<PageParams>) -> AppResult<Response> {
    user.require("read:statuses")?;
    let views = state.store.home_feed(user.account.id, params.page()?).await?;
    feed_page(&state, Some(&user.account), views, "home", "/api/v1/timelines/home", "").await
}

#[derive(Deserialize)]
struct PublicParams {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "lenient_bool")]
    only_media: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    remote: Option<bool>,
}

async fn public(State(state): State<AppState>, auth: Auth, Query(params): Query<PublicParams>) -> AppResult<Response> {
    let viewer = auth.account();
    // Every account is local; media arrive with a later feature.
    if params.only_media == Some(true) || params.remote == Some(true) {
        return Ok(Json(Vec::<()>::new()).into_response());
    }
    let filter = FeedFilter { viewer: viewer.map(|v| v.id) };
    let views = state.store.public_feed(filter, params.page.page()?).await?;
    feed_page(&state, viewer, views, "public", "/api/v1/timelines/public", "").await
}

async fn tag(
    State(state): State<AppState>,
    auth: Auth,
    Path(tag): Path<String>,
    Query(params): Query<PublicParams>,
) -> AppResult<Response> {
    let viewer = auth.account();
    let Ok(name) = crate::http::relationships::tag_name(&tag) else {
        return Ok(Json(Vec::<()>::new()).into_response());
    };
    if params.only_media == Some(true) || params.remote == Some(true) {
        return Ok(Json(Vec::<()>::new()).into_response());
    }
    let filter = FeedFilter { viewer: viewer.map(|v| v.id) };
    let views = state.store.tag_feed(&name, filter, params.page.page()?).await?;
    let path = format!("/api/v1/timelines/tag/{}", encode(&name));
    feed_page(&state, viewer, views, "public", &path, "").await
}

#[derive(Deserialize)]
struct DiscoverParams {
    seed: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    explain: Option<bool>,
}

fn number<T: std::str::FromStr>(value: Option<&str>, name: &str, default: T) -> AppResult<T> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| AppError::BadRequest("invalid_parameter", format!("{name} must be a number"))),
    }
}

/// The discover feed: ranked recent public notes (see `domain::discover`).
/// `seed` fixes the order's jitter; `offset`/`limit` page it; admins may add
/// `explain=true` to see each note's score parts in `pengyou.score`.
async fn discover_feed(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(params): Query<DiscoverParams>,
) -> AppResult<Response> {
    let viewer = auth.account();
    let seed: u64 = number(params.seed.as_deref(), "seed", 0)?;
    let offset: usize = number(params.offset.as_deref(), "offset", 0)?;
    let limit: usize = number(params.limit.as_deref(), "limit", 20usize)?.clamp(1, 40);
    let explain = params.explain == Some(true);
    if explain && !viewer.is_some_and(|v| v.is_admin) {
        return Err(AppError::Forbidden("admin_only", "Only admins can see how the feed is scored".into()));
    }
    let page = discover_page(&state, viewer, preferred_language(&headers), seed, offset, limit).await?;
    let views: Vec<NoteView> = page.iter().map(|r| r.view.clone()).collect();
    let mut statuses = present::statuses(&state, viewer, &views, "public").await?;
    if explain {
        for status in &mut statuses {
            status.pengyou.score =
                page.iter().find(|r| r.view.note.id.to_string() == status.id).map(|r| r.score.clone());
        }
    }
    let mut response = Json(statuses).into_response();
    if page.len() == limit {
        let next = format!(
            "<{}/api/v1/pengyou/discover?seed={seed}&offset={}&limit={limit}>; rel=\"next\"",
            state.base_url,
            offset + limit
        );
        if let Ok(value) = axum::http::HeaderValue::from_str(&next) {
            response.headers_mut().insert(axum::http::header::LINK, value);
        }
    }
    Ok(response)
}

/// One page of the discover feed for `viewer` (whose languages, else
/// `fallback_language`, decide the language mix): ranked recent public notes
/// the viewer may see, without muted authors.
pub async fn discover_page(
    state: &AppState,
    viewer: Option<&pengyou_store::Account>,
    fallback_language: &str,
    seed: u64,
    offset: usize,
    limit: usize,
) -> AppResult<Vec<discover::Ranked>> {
    let now = now_ms();
    let store = state.store.clone();
    let candidates = state
        .discover
        .get(|| async move { Ok(store.discover_candidates(now - discover::WINDOW_MS, discover::CANDIDATES).await?) })
        .await?;
    let reader = match viewer {
        Some(account) => Reader {
            languages: if account.languages.is_empty() {
                vec![fallback_language.to_owned()]
            } else {
                account.languages.clone()
            },
            followed_tags: state.store.followed_tags(account.id).await?,
        },
        None => Reader { languages: vec![fallback_language.to_owned()], followed_tags: Vec::new() },
    };
    let audience = Audience::for_views(state.store.as_ref(), viewer, &candidates).await?;
    let allowed: Vec<NoteView> = candidates
        .iter()
        .filter(|v| audience.can_view(&v.note, &v.author))
        .filter(|v| !audience.relationship(v.author.id).is_some_and(|r| r.muting))
        .cloned()
        .collect();
    let ranked = discover::rank(allowed, &reader, seed, state.config.discover_cross_border_share, now);
    Ok(ranked.into_iter().skip(offset).take(limit).collect())
}

/// Tags trending over the last week, shared by every reader for a few minutes.
pub async fn trending(state: &AppState) -> AppResult<Arc<Vec<TagTrend>>> {
    let store = state.store.clone();
    state.trending_tags.get(|| async move { Ok(store.trending_tags(now_ms() - discover::WINDOW_MS, 40).await?) }).await
}

async fn trending_tags(
    State(state): State<AppState>,
    Query(params): Query<DiscoverParams>,
) -> AppResult<Json<Vec<TagEntity>>> {
    let offset: usize = number(params.offset.as_deref(), "offset", 0)?;
    let limit: usize = number(params.limit.as_deref(), "limit", 10usize)?.clamp(1, 20);
    let trends = trending(&state).await?;
    Ok(Json(
        trends
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| TagEntity::new(&state.base_url, &t.name, &t.days, None))
            .collect(),
    ))
}

const TIMELINES: [&str; 2] = ["home", "notifications"];

async fn markers(
    State(state): State<AppState>,
    user: User,
    RawQuery(query): RawQuery,
) -> AppResult<Json<HashMap<String, MarkerEntity>>> {
    user.require("read:statuses")?;
    let asked: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "timeline[]" || k == "timeline")
        .map(|(_, v)| v.into_owned())
        .collect();
    let markers = state.store.markers(user.account.id).await?;
    Ok(Json(
        markers
            .into_iter()
            .filter(|m| asked.is_empty() || asked.contains(&m.timeline))
            .map(|m| (m.timeline.clone(), MarkerEntity::new(&m)))
            .collect(),
    ))
}

/// `POST /api/v1/markers` with `home[last_read_id]` and/or `notifications[last_read_id]`.
async fn set_markers(
    State(state): State<AppState>,
    user: User,
    Input(form): Input<Value>,
) -> AppResult<Json<HashMap<String, MarkerEntity>>> {
    user.require("write:statuses")?;
    let mut out = HashMap::new();
    for timeline in TIMELINES {
        let Some(value) = form.get(timeline).and_then(|t| t.get("last_read_id")) else { continue };
        let id = match value {
            Value::String(s) => s.parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
        .ok_or_else(|| AppError::BadRequest("invalid_marker", "last_read_id must be an id".into()))?;
        let marker = state.store.set_marker(user.account.id, timeline, id).await?;
        out.insert(timeline.to_owned(), MarkerEntity::new(&marker));
    }
    Ok(Json(out))
}
