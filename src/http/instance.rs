//! Instance discovery for clients (`/api/v1/instance`, `/api/v2/instance`,
//! nodeinfo) and operator endpoints (`/healthz`, `/metrics`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::config::Registrations;
use crate::domain::validate::{MAX_BODY, MAX_TITLE};
use crate::error::AppResult;
use crate::state::AppState;
use crate::urls;

/// What clients parse to decide which endpoints exist: Mastodon.py, for one,
/// uses `/api/v2/media` only when it sees a version of at least 3.1.4.
pub const MASTODON_VERSION: &str = concat!("4.3.0 (compatible; pengyou ", env!("CARGO_PKG_VERSION"), ")");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/instance", get(instance_v1))
        .route("/api/v1/instance/", get(instance_v1))
        .route("/api/v2/instance", get(instance_v2))
        .route("/api/v2/instance/", get(instance_v2))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.0", get(nodeinfo))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
}

fn statuses_configuration() -> Value {
    json!({
        "max_characters": MAX_BODY,
        "max_media_attachments": 18,
        "characters_reserved_per_url": 23,
        "max_title_characters": MAX_TITLE,
    })
}

fn media_configuration() -> Value {
    json!({
        "supported_mime_types": ["image/jpeg", "image/png", "image/webp", "image/gif", "video/mp4", "video/webm", "video/quicktime"],
        "image_size_limit": 16 * 1024 * 1024,
        "image_matrix_limit": 50_000_000,
        "video_size_limit": 200 * 1024 * 1024,
        "video_frame_rate_limit": 60,
        "video_matrix_limit": 8_294_400,
        "description_limit": 1500,
    })
}

async fn instance_v1(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let stats = state.store.instance_stats().await?;
    let base = &state.base_url;
    Ok(Json(json!({
        "uri": state.config.domain(),
        "title": state.config.title,
        "short_description": state.config.description,
        "description": state.config.description,
        "email": state.config.contact_email.clone().unwrap_or_default(),
        "version": MASTODON_VERSION,
        "urls": { "streaming_api": base.replacen("http", "ws", 1) },
        "stats": { "user_count": stats.accounts, "status_count": stats.notes, "domain_count": 0 },
        "thumbnail": urls::default_header(base),
        "languages": ["zh", "en"],
        "registrations": state.config.registrations == Registrations::Open,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": {
            "accounts": { "max_featured_tags": 10 },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(),
            "polls": { "max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0 },
        },
        "contact_account": null,
        "rules": [],
    })))
}

async fn instance_v2(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let stats = state.store.instance_stats().await?;
    let base = &state.base_url;
    Ok(Json(json!({
        "domain": state.config.domain(),
        "title": state.config.title,
        "version": MASTODON_VERSION,
        "source_url": "https://github.com/pengyou-social/pengyou",
        "description": state.config.description,
        "usage": { "users": { "active_month": stats.accounts } },
        "thumbnail": { "url": urls::default_header(base) },
        "icon": [],
        "languages": ["zh", "en"],
        "configuration": {
            "urls": { "streaming": base.replacen("http", "ws", 1), "status": null },
            "vapid": { "public_key": "" },
            "accounts": { "max_featured_tags": 10, "max_pinned_statuses": 5 },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(),
            "polls": { "max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0 },
            "translation": { "enabled": false },
        },
        "registrations": {
            "enabled": state.config.registrations == Registrations::Open,
            "approval_required": false,
            "message": null,
            "url": null,
        },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": state.config.contact_email.clone().unwrap_or_default(), "account": null },
        "rules": [],
    })))
}

async fn nodeinfo_links(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
            "href": format!("{}/nodeinfo/2.0", state.base_url),
        }]
    }))
}

async fn nodeinfo(State(state): State<AppState>) -> AppResult<Response> {
    let stats = state.store.instance_stats().await?;
    let body = json!({
        "version": "2.0",
        "software": { "name": "pengyou", "version": env!("CARGO_PKG_VERSION") },
        "protocols": [],
        "services": { "outbound": [], "inbound": [] },
        "usage": {
            "users": { "total": stats.accounts, "activeMonth": stats.accounts, "activeHalfyear": stats.accounts },
            "localPosts": stats.notes,
        },
        "openRegistrations": state.config.registrations == Registrations::Open,
        "metadata": {
            "nodeName": state.config.title,
            "nodeDescription": state.config.description,
            // Libraries such as megalodon pick their API dialect from this.
            "upstream": { "name": "mastodon", "version": "4.3.0" },
        },
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\"")],
        Json(body),
    )
        .into_response())
}

async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "database": state.store.backend() })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": state.store.backend() })),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}
