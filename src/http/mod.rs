//! The HTTP edge: one router per area (`router()` in each module), joined here
//! with the middleware every response gets (tracing, metrics, security headers,
//! body limits, panic catching).

pub mod accounts;
pub mod extract;
pub mod filters;
pub mod instance;
pub mod interactions;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod rate_limit;
pub mod relationships;
pub mod scopes;
pub mod statuses;
pub mod timelines;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

/// Bodies larger than this are refused with 413 (media uploads get their own limit).
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let max_upload = state.config.media_max_video_bytes.max(state.config.media_max_image_bytes);
    Router::new()
        .merge(crate::web::router())
        .merge(oauth::router())
        .merge(accounts::router())
        .merge(statuses::router())
        .merge(interactions::router())
        .merge(relationships::router())
        .merge(timelines::router())
        .merge(notifications::router())
        .merge(filters::router())
        .merge(instance::router())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(media::router(max_upload))
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(record_metrics))
        .layer(CatchPanicLayer::custom(|_| AppError::Internal("handler panicked".into()).into_response()))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; script-src 'self'; \
                 style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self' *; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("geolocation=(), camera=(), microphone=()"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Counts requests and records latency per route template (not per raw path,
/// so ids do not explode the label set).
async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Installs the process-wide Prometheus recorder once; later calls (tests that
/// build several apps) get the same handle.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
                )
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .clone()
}
