//! Shared application state handed to every handler.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use pengyou_store::{NoteView, Store, TagTrend};
use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::password::PasswordHasher;
use crate::domain::views::ViewCounter;
use crate::error::AppResult;
use crate::http::rate_limit::RateLimiter;
use crate::media::MediaService;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub hasher: PasswordHasher,
    /// The public base URL without a trailing slash, computed once.
    pub base_url: Arc<str>,
    /// Renders `/metrics`; `None` when another recorder was installed first.
    pub metrics: Option<PrometheusHandle>,
    pub limiter: Arc<RateLimiter>,
    /// View counts waiting to be written.
    pub views: Arc<ViewCounter>,
    /// Wakes this process's job worker when a job is enqueued here.
    pub jobs_wake: Arc<Notify>,
    /// Wakes one of this process's media workers when a media job is enqueued here.
    pub media_wake: Arc<Notify>,
    /// Discover candidates and trending tags, shared by all readers for a short while.
    pub discover: Arc<Cached<Vec<NoteView>>>,
    pub trending_tags: Arc<Cached<Vec<TagTrend>>>,
    /// Uploads, processing, storage and signed URLs.
    pub media: Arc<MediaService>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config, metrics: Option<PrometheusHandle>) -> AppResult<Self> {
        let hasher = PasswordHasher::new(config.password_workers(), config.password_queue);
        let media = Arc::new(MediaService::new(&config)?);
        Ok(AppState {
            store,
            base_url: config.base_url().into(),
            config: Arc::new(config),
            hasher,
            metrics,
            limiter: Arc::default(),
            views: Arc::default(),
            jobs_wake: Arc::default(),
            media_wake: Arc::default(),
            discover: Arc::new(Cached::new(Duration::from_secs(30))),
            trending_tags: Arc::new(Cached::new(Duration::from_secs(300))),
            media,
        })
    }
}

/// A value computed at most once per `ttl`, shared by every request meanwhile.
pub struct Cached<T> {
    ttl: Duration,
    slot: Mutex<Option<(Instant, Arc<T>)>>,
}

impl<T> Cached<T> {
    pub fn new(ttl: Duration) -> Self {
        Cached { ttl, slot: Mutex::new(None) }
    }

    /// The cached value, or a fresh one from `load` when it is older than the ttl.
    pub async fn get<F, Fut>(&self, load: F) -> AppResult<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        if let Some((at, value)) = self.slot.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let value = Arc::new(load().await?);
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    /// Forgets the value (tests, and after writes that should show at once).
    pub fn clear(&self) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
