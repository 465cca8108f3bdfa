//! Background work from the durable job queue in the database: notifications
//! for new notes and comments, fan-out into followers' home feeds, and media
//! (processing uploads, deleting the files of deleted notes and stale uploads).
//!
//! Jobs are enqueued in the same transaction as the write that causes them, so
//! none is lost on a crash; a job whose worker dies is taken again when its
//! lease runs out, and every handler is idempotent. Several server processes
//! share the queue (PostgreSQL hands out jobs with `FOR UPDATE SKIP LOCKED`).

use std::sync::Arc;
use std::time::Duration;

use pengyou_store::{
    AccountId, JOB_MEDIA_PROCESS, JOB_MEDIA_PURGE, JOB_NOTE_CREATED, Job, MediaId, NewNotification, NoteId, Visibility,
    now_ms,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::domain::visibility;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Continues a fan-out from where the last batch stopped.
pub const JOB_FAN_OUT: &str = "fan_out";
/// Home-feed rows written per transaction: small enough that other writes
/// interleave, large enough that 100,000 followers take a few dozen batches.
pub const FAN_OUT_BATCH: u32 = 5_000;
/// How long a claimed job stays with its worker before others may take it.
const LEASE_MS: i64 = 60_000;
/// Attempts before a job is set aside as failed.
const MAX_ATTEMPTS: i64 = 5;
const CLAIM: u32 = 16;

#[derive(Deserialize)]
struct MediaPayload {
    media_id: i64,
}

#[derive(Serialize, Deserialize)]
struct NotePayload {
    note_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<i64>,
}

/// The queue for slow media work, apart from `main` so a video never holds up fan-out.
const MEDIA_QUEUE: &str = "media";
const MAIN_QUEUE: &str = "main";
/// How often each process looks for stale uploads to delete.
const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

/// Runs every job that is due now on both queues, until none is left; returns how many ran.
/// Tests call this to make background work happen at a known point.
pub async fn run_pending(state: &AppState) -> AppResult<usize> {
    let mut done = 0;
    loop {
        let ran = run_batch(state, MAIN_QUEUE, CLAIM).await? + run_batch(state, MEDIA_QUEUE, 1).await?;
        if ran == 0 {
            return Ok(done);
        }
        done += ran;
    }
}

/// A media job's lease: longer than the slowest transcode it may run.
fn lease_for(state: &AppState, queue: &str) -> i64 {
    if queue == MEDIA_QUEUE { (state.config.media_transcode_seconds as i64 + 120) * 1000 } else { LEASE_MS }
}

/// Claims and runs one batch of due jobs of a queue.
async fn run_batch(state: &AppState, queue: &str, claim: u32) -> AppResult<usize> {
    let jobs = state.store.claim_jobs(queue, claim, lease_for(state, queue)).await?;
    let count = jobs.len();
    for job in jobs {
        match run_job(state, &job).await {
            Ok(()) => state.store.complete_job(job.id).await?,
            Err(error) => {
                let retry_at = (job.attempts < MAX_ATTEMPTS).then(|| now_ms() + 1000 * (1 << job.attempts.min(10)));
                tracing::warn!(job.id = job.id, job.kind = %job.kind, job.attempts = job.attempts, %error, "job failed");
                state.store.fail_job(job.id, &error.to_string(), retry_at).await?;
            }
        }
    }
    Ok(count)
}

#[tracing::instrument(skip_all, fields(job.id = job.id, job.kind = %job.kind))]
async fn run_job(state: &AppState, job: &Job) -> AppResult<()> {
    match job.kind.as_str() {
        JOB_MEDIA_PROCESS => {
            let payload: MediaPayload = serde_json::from_str(&job.payload)
                .map_err(|e| AppError::Internal(format!("bad payload for job {}: {e}", job.id)))?;
            return match state.store.media_by_id(MediaId(payload.media_id)).await? {
                Some(media) => state.media.process_stored(state.store.as_ref(), &media).await,
                None => Ok(()),
            };
        }
        JOB_MEDIA_PURGE => return state.media.purge(state.store.as_ref()).await.map(drop),
        _ => {}
    }
    let payload: NotePayload = serde_json::from_str(&job.payload)
        .map_err(|e| AppError::Internal(format!("bad payload for job {}: {e}", job.id)))?;
    let note = NoteId(payload.note_id);
    match job.kind.as_str() {
        JOB_NOTE_CREATED => {
            notify_for_note(state, note).await?;
            fan_out(state, note, None).await
        }
        JOB_FAN_OUT => fan_out(state, note, payload.after.map(AccountId)).await,
        other => Err(AppError::Internal(format!("unknown job kind {other}"))),
    }
}

/// Comment, reply and mention notifications for a new note, one per person,
/// only to people who may see the note.
async fn notify_for_note(state: &AppState, note: NoteId) -> AppResult<()> {
    let Some(view) = state.store.note_by_id(note).await? else { return Ok(()) };
    let author = view.author.id;
    let mut recipients: Vec<(AccountId, &'static str)> = Vec::new();
    if let Some(parent) = view.note.in_reply_to_id
        && let Some(parent) = state.store.note_by_id(parent).await?
        && parent.note.root_id.is_some()
    {
        recipients.push((parent.author.id, "reply"));
    }
    if let Some(root) = view.note.root_id
        && let Some(root) = state.store.note_by_id(root).await?
    {
        recipients.push((root.author.id, "comment"));
    }
    for mention in &view.note.mentions {
        recipients.push((mention.account_id, "mention"));
    }
    let mut notifications = Vec::new();
    for (recipient, kind) in recipients {
        if recipient == author || notifications.iter().any(|n: &NewNotification| n.account_id == recipient) {
            continue;
        }
        let Some(account) = state.store.account_by_id(recipient).await? else { continue };
        if visibility::can_view(state.store.as_ref(), &view, Some(&account)).await? {
            notifications.push(NewNotification {
                account_id: recipient,
                kind,
                from_account_id: author,
                note_id: Some(note),
            });
        }
    }
    if !notifications.is_empty() {
        state.store.create_notifications(notifications).await?;
    }
    Ok(())
}

/// Copies a note into one batch of followers' home feeds, then queues the next batch.
async fn fan_out(state: &AppState, note: NoteId, after: Option<AccountId>) -> AppResult<()> {
    let Some(view) = state.store.note_by_id(note).await? else { return Ok(()) };
    if view.note.is_comment() || view.note.visibility == Visibility::Direct {
        return Ok(());
    }
    if let Some(last) = state.store.fan_out(note, after, FAN_OUT_BATCH).await? {
        let payload = serde_json::to_string(&NotePayload { note_id: note.0, after: Some(last.0) })
            .map_err(|e| AppError::Internal(e.to_string()))?;
        state.store.enqueue_job(JOB_FAN_OUT, &payload, now_ms()).await?;
        state.jobs_wake.notify_one();
    }
    Ok(())
}

/// The worker loop: runs due jobs, then sleeps until woken by a new job, a
/// second passes (jobs from other processes, retries), or shutdown.
pub async fn work(state: AppState, shutdown: watch::Receiver<bool>) {
    let wake = state.jobs_wake.clone();
    work_queue(state, shutdown, MAIN_QUEUE, CLAIM, wake).await;
}

/// Runs media jobs, as many at once as there are media workers, and sweeps
/// stale uploads every quarter hour; stops when `shutdown` turns true.
pub async fn work_media(state: AppState, shutdown: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..state.media.workers {
        tasks.spawn(work_queue(state.clone(), shutdown.clone(), MEDIA_QUEUE, 1, state.media_wake.clone()));
    }
    tasks.spawn(sweep_media(state.clone(), shutdown));
    while tasks.join_next().await.is_some() {}
}

async fn sweep_media(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        match state.media.purge(state.store.as_ref()).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted the files of stale or deleted media"),
            Err(error) => tracing::warn!(%error, "media sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One worker loop over one queue, woken early by `wake`.
async fn work_queue(
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
    queue: &'static str,
    claim: u32,
    wake: Arc<Notify>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let ran = match run_batch(&state, queue, claim).await {
            Ok(ran) => ran,
            Err(error) => {
                tracing::error!(%error, "job queue unavailable");
                0
            }
        };
        if ran > 0 {
            continue;
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Writes absorbed view counts every `view_flush_seconds` until shutdown, then once more.
pub async fn flush_views(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_secs(state.config.view_flush_seconds.max(1));
    loop {
        let stop = tokio::select! {
            () = tokio::time::sleep(every) => false,
            _ = shutdown.changed() => true,
        };
        if let Err(error) = state.views.flush(state.store.as_ref()).await {
            tracing::error!(%error, "could not write view counts");
        }
        if stop || *shutdown.borrow() {
            return;
        }
    }
}
