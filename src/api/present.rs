//! Notes become statuses for one reader: their own likes and collects, view
//! counts not yet written, and their keyword filters for the context (a `hide`
//! filter removes the note, a `warn` filter marks it in `filtered`).

use std::collections::HashMap;

use pengyou_store::{Account, NoteView, Visibility};

use crate::api::entities::{FilterEntity, FilterResult, MediaAttachment, Status};
use crate::domain::filters;
use crate::error::AppResult;
use crate::media::Signer;
use crate::state::AppState;

/// Statuses for `views`, in order, with hidden-by-filter notes left out.
/// `context` is a Mastodon filter context: home, notifications, public, thread, account.
pub async fn statuses(
    state: &AppState,
    viewer: Option<&Account>,
    views: &[NoteView],
    context: &str,
) -> AppResult<Vec<Status>> {
    let signer = state.media.signer(state.store.as_ref()).await?;
    let Some(viewer) = viewer else {
        return Ok(views.iter().map(|v| plain(state, v, &signer)).collect());
    };
    let ids: Vec<_> = views.iter().map(|v| v.note.id).collect();
    let interactions: HashMap<_, _> =
        state.store.note_interactions(viewer.id, &ids).await?.into_iter().map(|i| (i.note_id, i)).collect();
    let all_filters = state.store.filters_of(viewer.id).await?;
    let active = filters::active(&all_filters, context);
    let mut out = Vec::with_capacity(views.len());
    for view in views {
        let matched = if view.author.id == viewer.id { Vec::new() } else { filters::matches(&active, &view.note) };
        if matched.iter().any(|m| m.filter.action == "hide") {
            continue;
        }
        let mut status = plain(state, view, &signer);
        if let Some(interaction) = interactions.get(&view.note.id) {
            status.favourited = interaction.favourited;
            status.bookmarked = interaction.board_id.is_some();
            status.pengyou.board_id = interaction.board_id.map(|b| b.to_string());
        }
        status.filtered = matched
            .into_iter()
            .map(|m| FilterResult {
                filter: FilterEntity::new(m.filter),
                keyword_matches: m.keywords,
                status_matches: Vec::new(),
            })
            .collect();
        out.push(status);
    }
    Ok(out)
}

/// Each view beside its status as the reader sees it, in order; views a filter
/// hides are left out.
pub async fn with_statuses(
    state: &AppState,
    viewer: Option<&Account>,
    views: Vec<NoteView>,
    context: &str,
) -> AppResult<Vec<(NoteView, Status)>> {
    let mut by_id: HashMap<String, Status> =
        statuses(state, viewer, &views, context).await?.into_iter().map(|s| (s.id.clone(), s)).collect();
    Ok(views.into_iter().filter_map(|v| by_id.remove(&v.note.id.to_string()).map(|s| (v, s))).collect())
}

/// One status as the reader sees it; a filter never hides a note opened on purpose.
pub async fn status(state: &AppState, viewer: Option<&Account>, view: &NoteView) -> AppResult<Status> {
    let mut shown = statuses(state, viewer, std::slice::from_ref(view), "thread").await?;
    match shown.pop() {
        Some(status) => Ok(status),
        None => Ok(plain(state, view, &state.media.signer(state.store.as_ref()).await?)),
    }
}

/// The status without reader-specific state, with pending views added and its
/// media attached (signed unless the note is a public or unlisted top-level note).
pub fn plain(state: &AppState, view: &NoteView, signer: &Signer) -> Status {
    let mut status = Status::new(&state.base_url, view);
    status.pengyou.views_count += state.views.pending(view.note.id);
    let open = view.note.root_id.is_none()
        && matches!(view.note.visibility, Visibility::Public | Visibility::Unlisted)
        && !view.author.suspended;
    let signer = (!open).then_some(signer);
    status.media_attachments =
        view.note.media.iter().map(|m| MediaAttachment::new(&state.base_url, m, signer)).collect();
    status
}
