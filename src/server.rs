//! Starting and stopping the server: open the store, build the app, listen,
//! and shut down gracefully on Ctrl-C or SIGTERM.

use std::sync::Arc;

use pengyou_store::Store;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::state::AppState;
use crate::{http, jobs};

/// Opens the configured store (running migrations) and builds the state.
pub async fn build_state(config: Config) -> Result<AppState, String> {
    let url = config.effective_database_url();
    if !url.starts_with("postgres") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create data directory {}: {e}", config.data_dir.display()))?;
    }
    let store: Arc<dyn Store> = pengyou_store::open(&url)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", crate::config::redact_url(&url)))?;
    AppState::new(store, config, http::metrics_handle()).map_err(|e| format!("cannot start: {e}"))
}

/// Serves until a shutdown signal, then finishes in-flight requests.
pub async fn serve(config: Config) -> Result<(), String> {
    let listen = config.listen;
    let state = build_state(config).await?;
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(
        listen = %listen,
        public_url = %state.base_url,
        database = state.store.backend(),
        media = %state.media.storage.description,
        "pengyou is serving"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = state.config.run_jobs.then(|| tokio::spawn(jobs::work(state.clone(), stopped.clone())));
    let media_workers = state.config.run_jobs.then(|| tokio::spawn(jobs::work_media(state.clone(), stopped.clone())));
    let views = tokio::spawn(jobs::flush_views(state.clone(), stopped));
    axum::serve(listener, http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    // Requests are done: write the last view counts and let the job worker finish its batch.
    let _ = stop.send(true);
    let _ = views.await;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    if let Some(media_workers) = media_workers {
        let _ = media_workers.await;
    }
    tracing::info!("pengyou stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
