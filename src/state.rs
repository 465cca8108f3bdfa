//! Shared application state handed to every handler.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use pengyou_store::Store;

use crate::config::Config;
use crate::domain::password::PasswordHasher;
use crate::http::rate_limit::RateLimiter;

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
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config, metrics: Option<PrometheusHandle>) -> Self {
        let hasher = PasswordHasher::new(config.password_workers(), config.password_queue);
        AppState {
            store,
            base_url: config.base_url().into(),
            config: Arc::new(config),
            hasher,
            metrics,
            limiter: Arc::default(),
        }
    }
}
