//! Notifications: Mastodon's `/api/v1/notifications` (one by one), the grouped
//! `/api/v2/notifications` ("Sylvia and 1,203 others liked your note"), the
//! unread count, dismissing and clearing. How pengyou's kinds map onto
//! Mastodon's types is in `api::entities::mastodon_notification_type`.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use pengyou_store::{AccountId, Notification, NotificationFilter, Page};
use serde::Serialize;

use crate::api::entities::{
    Account, GroupedNotifications, NotificationEntity, NotificationExtension, NotificationGroupEntity, Status, iso8601,
    kinds_for_type, mastodon_notification_type,
};
use crate::api::present;
use crate::domain::visibility;
use crate::error::{AppError, AppResult};
use crate::http::extract::{PageParams, User, paged};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/unread_count", get(unread_count))
        .route("/api/v1/notifications/clear", post(clear))
        .route("/api/v1/notifications/{id}", get(show))
        .route("/api/v1/notifications/{id}/dismiss", post(dismiss))
        .route("/api/v2/notifications", get(grouped))
        .route("/api/v2/notifications/unread_count", get(unread_count))
        .route("/api/v2/notifications/{group_key}/dismiss", post(dismiss_group))
}

/// Query parameters: Mastodon's paging, `types[]`, `exclude_types[]`, `account_id`.
struct ListParams {
    page: Page,
    filter: NotificationFilter,
    /// The query string to carry into `Link` headers.
    extra: String,
}

fn list_params(query: Option<String>) -> AppResult<ListParams> {
    let query = query.unwrap_or_default();
    let mut page = PageParams::default();
    let mut filter = NotificationFilter::default();
    let mut extra = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "max_id" => page.max_id = Some(value),
            "since_id" => page.since_id = Some(value),
            "min_id" => page.min_id = Some(value),
            "limit" => page.limit = Some(value),
            "types[]" | "types" => {
                filter.kinds.extend(kinds_for_type(&value));
                extra.push(format!("types[]={value}"));
            }
            "exclude_types[]" | "exclude_types" => {
                filter.exclude_kinds.extend(kinds_for_type(&value));
                extra.push(format!("exclude_types[]={value}"));
            }
            "account_id" => {
                let id = value.parse::<AccountId>().map_err(|_| AppError::NotFound)?;
                filter.from_account = Some(id);
                extra.push(format!("account_id={id}"));
            }
            _ => {}
        }
    }
    Ok(ListParams { page: page.page()?, filter, extra: extra.join("&") })
}

/// Notifications as entities, leaving out any whose note the reader may no longer see.
async fn entities(
    state: &AppState,
    user: &User,
    notifications: Vec<Notification>,
) -> AppResult<Vec<NotificationEntity>> {
    let notes: Vec<_> = notifications.iter().filter_map(|n| n.note.clone()).collect();
    let visible = visibility::visible(state.store.as_ref(), Some(&user.account), notes).await?;
    let statuses = present::statuses(state, Some(&user.account), &visible, "notifications").await?;
    let by_id: HashMap<String, Status> = statuses.into_iter().map(|s| (s.id.clone(), s)).collect();
    Ok(notifications
        .into_iter()
        .filter_map(|n| {
            let status = match &n.note {
                Some(note) => Some(by_id.get(&note.note.id.to_string())?.clone()),
                None => None,
            };
            Some(NotificationEntity {
                id: n.id.to_string(),
                kind: mastodon_notification_type(&n.kind).to_owned(),
                group_key: n.group_key,
                created_at: iso8601(n.created_at),
                account: Account::new(&state.base_url, &n.from),
                status,
                pengyou: NotificationExtension { kind: n.kind },
            })
        })
        .collect())
}

async fn list(State(state): State<AppState>, user: User, RawQuery(query): RawQuery) -> AppResult<Response> {
    user.require("read:notifications")?;
    let params = list_params(query)?;
    let notifications = state.store.list_notifications(user.account.id, params.filter, params.page).await?;
    let cursors: Vec<i64> = notifications.iter().map(|n| n.id).collect();
    let body = entities(&state, &user, notifications).await?;
    Ok(paged(&state, body, "/api/v1/notifications", &params.extra, &cursors))
}

async fn show(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<NotificationEntity>> {
    user.require("read:notifications")?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let notification = state.store.notification_by_id(user.account.id, id).await?.ok_or(AppError::NotFound)?;
    entities(&state, &user, vec![notification]).await?.pop().map(Json).ok_or(AppError::NotFound)
}

async fn dismiss(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<()>> {
    user.require("write:notifications")?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    state.store.dismiss_notification(user.account.id, id).await?;
    Ok(Json(()))
}

async fn dismiss_group(State(state): State<AppState>, user: User, Path(key): Path<String>) -> AppResult<Json<()>> {
    user.require("write:notifications")?;
    state.store.clear_notifications(user.account.id, Some(&key)).await?;
    Ok(Json(()))
}

async fn clear(State(state): State<AppState>, user: User) -> AppResult<Json<()>> {
    user.require("write:notifications")?;
    state.store.clear_notifications(user.account.id, None).await?;
    Ok(Json(()))
}

/// The most an unread count counts (Mastodon caps it too); clients show "99+".
const UNREAD_CAP: u32 = 1000;

#[derive(Serialize)]
struct UnreadCount {
    count: i64,
}

/// Notifications newer than the `notifications` marker.
async fn unread_count(State(state): State<AppState>, user: User) -> AppResult<Json<UnreadCount>> {
    user.require("read:notifications")?;
    Ok(Json(UnreadCount { count: unread(&state, &user.account).await? }))
}

/// How many notifications the account has not read yet (up to a cap).
pub async fn unread(state: &AppState, account: &pengyou_store::Account) -> AppResult<i64> {
    let read = state.store.markers(account.id).await?;
    let after = read.iter().find(|m| m.timeline == "notifications").map_or(0, |m| m.last_read_id);
    Ok(state.store.count_notifications(account.id, after, UNREAD_CAP).await?)
}

async fn grouped(State(state): State<AppState>, user: User, RawQuery(query): RawQuery) -> AppResult<Response> {
    user.require("read:notifications")?;
    let params = list_params(query)?;
    let groups = state.store.list_notification_groups(user.account.id, params.filter, params.page).await?;
    let cursors: Vec<i64> = groups.iter().map(|g| g.latest_id).collect();
    let notes: Vec<_> = groups.iter().filter_map(|g| g.note.clone()).collect();
    let notes = visibility::visible(state.store.as_ref(), Some(&user.account), notes).await?;
    let statuses = present::statuses(&state, Some(&user.account), &notes, "notifications").await?;
    let mut accounts: Vec<Account> = Vec::new();
    let mut notification_groups = Vec::new();
    for group in &groups {
        let status_id = group.note.as_ref().map(|n| n.note.id.to_string());
        if status_id.as_ref().is_some_and(|id| !statuses.iter().any(|s| s.id == *id)) {
            continue;
        }
        for sample in &group.sample_accounts {
            if !accounts.iter().any(|a| a.id == sample.id.to_string()) {
                accounts.push(Account::new(&state.base_url, sample));
            }
        }
        notification_groups.push(NotificationGroupEntity {
            group_key: group.group_key.clone(),
            notifications_count: group.count,
            kind: mastodon_notification_type(&group.kind).to_owned(),
            most_recent_notification_id: group.latest_id.to_string(),
            page_min_id: group.oldest_id.to_string(),
            page_max_id: group.latest_id.to_string(),
            latest_page_notification_at: iso8601(group.latest_at),
            sample_account_ids: group.sample_accounts.iter().map(|a| a.id.to_string()).collect(),
            status_id,
            pengyou: NotificationExtension { kind: group.kind.clone() },
        });
    }
    let body = GroupedNotifications { accounts, statuses, notification_groups };
    Ok(paged(&state, body, "/api/v2/notifications", &params.extra, &cursors))
}
