//! Follows, follow requests, blocks, mutes and followed tags: Mastodon's
//! `/api/v1/accounts/:id/{follow,unfollow,block,unblock,mute,unmute}`,
//! relationships, followers and following, `/api/v1/follow_requests`,
//! `/api/v1/blocks`, `/api/v1/mutes` and `/api/v1/tags`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use pengyou_store::{AccountId, FollowDirection, FollowOutcome, Listed, TagDay, now_ms};
use serde::Deserialize;

use crate::api::entities::{Account, RelationshipEntity, TagEntity};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::http::accounts::visible_account;
use crate::http::extract::{Auth, Input, PageParams, User, lenient_bool, paged, seconds};
use crate::http::interactions::visible_accounts;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts/relationships", get(relationships))
        .route("/api/v1/accounts/{id}/follow", post(follow))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow))
        .route("/api/v1/accounts/{id}/block", post(block))
        .route("/api/v1/accounts/{id}/unblock", post(unblock))
        .route("/api/v1/accounts/{id}/mute", post(mute))
        .route("/api/v1/accounts/{id}/unmute", post(unmute))
        .route("/api/v1/accounts/{id}/followers", get(followers))
        .route("/api/v1/accounts/{id}/following", get(following))
        .route("/api/v1/follow_requests", get(follow_requests))
        .route("/api/v1/follow_requests/{id}/authorize", post(authorize))
        .route("/api/v1/follow_requests/{id}/reject", post(reject))
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/mutes", get(mutes))
        .route("/api/v1/tags/{name}", get(tag))
        .route("/api/v1/tags/{name}/follow", post(follow_tag))
        .route("/api/v1/tags/{name}/unfollow", post(unfollow_tag))
        .route("/api/v1/followed_tags", get(followed_tags))
}

async fn relationship(state: &AppState, viewer: AccountId, other: AccountId) -> AppResult<Json<RelationshipEntity>> {
    let relation = state.store.relationships(viewer, &[other]).await?.pop().unwrap_or_default();
    Ok(Json(RelationshipEntity::new(&relation)))
}

/// The account an action targets: visible to the user, and not the user.
async fn target_account(state: &AppState, id: &str, user: &User) -> AppResult<pengyou_store::Account> {
    let account = visible_account(state, id, Some(&user.account)).await?;
    if account.id == user.account.id {
        return Err(AppError::BadRequest("self_action", "You cannot do that to yourself".into()));
    }
    Ok(account)
}

async fn target(state: &AppState, id: &str, user: &User) -> AppResult<AccountId> {
    Ok(target_account(state, id, user).await?.id)
}

/// Follows at once, or sends a follow request to a locked account. Across a block, refused.
async fn follow(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:follows")?;
    let target = target_account(&state, &id, &user).await?;
    let target_id = target.id;
    let relation = state.store.relationships(user.account.id, &[target_id]).await?.pop().unwrap_or_default();
    if relation.blocked_either_way() {
        return Err(AppError::Forbidden("blocked", "You cannot follow this account".into()));
    }
    let outcome = state.store.follow(user.account.id, target_id, target.locked).await?;
    tracing::info!(follower = %user.account.id, followee = %target_id, requested = outcome == FollowOutcome::Requested, "follow");
    relationship(&state, user.account.id, target_id).await
}

async fn unfollow(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:follows")?;
    let target = target(&state, &id, &user).await?;
    state.store.unfollow(user.account.id, target).await?;
    relationship(&state, user.account.id, target).await
}

async fn block(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:blocks")?;
    let target = target(&state, &id, &user).await?;
    state.store.block(user.account.id, target).await?;
    relationship(&state, user.account.id, target).await
}

async fn unblock(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:blocks")?;
    let target = target(&state, &id, &user).await?;
    state.store.unblock(user.account.id, target).await?;
    relationship(&state, user.account.id, target).await
}

#[derive(Deserialize)]
struct MuteForm {
    #[serde(default, deserialize_with = "lenient_bool")]
    notifications: Option<bool>,
    /// Seconds until the mute ends; 0 or absent: indefinitely.
    duration: Option<serde_json::Value>,
}

async fn mute(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<MuteForm>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:mutes")?;
    let target = target(&state, &id, &user).await?;
    let invalid = || AppError::BadRequest("invalid_duration", "duration is a number of seconds".into());
    let duration = match form.duration.as_ref().map(seconds) {
        None | Some(Some(None)) => 0,
        Some(Some(Some(duration))) if duration >= 0 => duration,
        Some(_) => return Err(invalid()),
    };
    let expires_at = (duration > 0).then(|| now_ms() + duration.saturating_mul(1000));
    state.store.mute(user.account.id, target, form.notifications.unwrap_or(true), expires_at).await?;
    relationship(&state, user.account.id, target).await
}

async fn unmute(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:mutes")?;
    let target = target(&state, &id, &user).await?;
    state.store.unmute(user.account.id, target).await?;
    relationship(&state, user.account.id, target).await
}

/// The most accounts one relationships request may ask about.
const MAX_RELATIONSHIPS: usize = 80;

async fn relationships(
    State(state): State<AppState>,
    user: User,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> AppResult<Json<Vec<RelationshipEntity>>> {
    user.require("read:follows")?;
    let query = query.unwrap_or_default();
    let asked = url::form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "id[]" || k == "id");
    let mut ids: Vec<AccountId> = Vec::new();
    for (_, raw) in asked {
        // Unknown ids are skipped, as Mastodon does.
        if let Ok(id) = raw.parse::<AccountId>()
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids.truncate(MAX_RELATIONSHIPS);
    let relations = state.store.relationships(user.account.id, &ids).await?;
    Ok(Json(relations.iter().map(RelationshipEntity::new).collect()))
}

/// A page of accounts with their list's cursors.
async fn account_page(
    state: &AppState,
    viewer: Option<&pengyou_store::Account>,
    listed: Vec<Listed<pengyou_store::Account>>,
    path: &str,
) -> AppResult<Response> {
    let cursors: Vec<i64> = listed.iter().map(|l| l.cursor).collect();
    let accounts: Vec<Account> = visible_accounts(state, viewer, listed.into_iter().map(|l| l.item).collect()).await?;
    Ok(paged(state, accounts, path, "", &cursors))
}

async fn follow_list(
    state: AppState,
    auth: Auth,
    id: String,
    params: PageParams,
    direction: FollowDirection,
) -> AppResult<Response> {
    let viewer = auth.account();
    let account = visible_account(&state, &id, viewer).await?;
    let listed = state.store.list_follows(account.id, direction, params.page()?).await?;
    let name = if direction == FollowDirection::Followers { "followers" } else { "following" };
    account_page(&state, viewer, listed, &format!("/api/v1/accounts/{}/{name}", account.id)).await
}

async fn followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    follow_list(state, auth, id, params, FollowDirection::Followers).await
}

async fn following(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    follow_list(state, auth, id, params, FollowDirection::Following).await
}

async fn follow_requests(
    State(state): State<AppState>,
    user: User,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    user.require("read:follows")?;
    let listed = state.store.follow_requests(user.account.id, params.page()?).await?;
    account_page(&state, Some(&user.account), listed, "/api/v1/follow_requests").await
}

async fn answer(state: AppState, user: User, id: String, accept: bool) -> AppResult<Json<RelationshipEntity>> {
    user.require("write:follows")?;
    let follower: AccountId = id.parse().map_err(|_| AppError::NotFound)?;
    if !state.store.answer_follow_request(user.account.id, follower, accept).await? {
        return Err(AppError::NotFound);
    }
    relationship(&state, user.account.id, follower).await
}

async fn authorize(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    answer(state, user, id, true).await
}

async fn reject(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> AppResult<Json<RelationshipEntity>> {
    answer(state, user, id, false).await
}

async fn blocks(State(state): State<AppState>, user: User, Query(params): Query<PageParams>) -> AppResult<Response> {
    user.require("read:blocks")?;
    let listed = state.store.list_blocks(user.account.id, params.page()?).await?;
    let cursors: Vec<i64> = listed.iter().map(|l| l.cursor).collect();
    let accounts: Vec<Account> = listed.iter().map(|l| Account::new(&state.base_url, &l.item)).collect();
    Ok(paged(&state, accounts, "/api/v1/blocks", "", &cursors))
}

async fn mutes(State(state): State<AppState>, user: User, Query(params): Query<PageParams>) -> AppResult<Response> {
    user.require("read:mutes")?;
    let listed = state.store.list_mutes(user.account.id, params.page()?).await?;
    account_page(&state, Some(&user.account), listed, "/api/v1/mutes").await
}

/// A tag name from the URL, normalised as note parsing does; 404 when it is not a tag.
pub fn tag_name(raw: &str) -> AppResult<String> {
    let raw = raw.trim_start_matches('#');
    let source = format!("#{raw}");
    match text::tags(&text::parse(&source)).as_slice() {
        [tag] if *tag == text::normalize_tag(raw) => Ok(tag.clone()),
        _ => Err(AppError::NotFound),
    }
}

async fn tag_entity(state: &AppState, name: String, viewer: Option<AccountId>) -> AppResult<Json<TagEntity>> {
    let following = match viewer {
        Some(viewer) => Some(state.store.followed_tags(viewer).await?.contains(&name)),
        None => None,
    };
    let trends = crate::http::timelines::trending(state).await?;
    let days: &[TagDay] = trends.iter().find(|t| t.name == name).map(|t| t.days.as_slice()).unwrap_or(&[]);
    Ok(Json(TagEntity::new(&state.base_url, &name, days, following)))
}

async fn tag(State(state): State<AppState>, auth: Auth, Path(name): Path<String>) -> AppResult<Json<TagEntity>> {
    let name = tag_name(&name)?;
    tag_entity(&state, name, auth.account().map(|a| a.id)).await
}

async fn follow_tag(State(state): State<AppState>, user: User, Path(name): Path<String>) -> AppResult<Json<TagEntity>> {
    user.require("write:follows")?;
    let name = tag_name(&name)?;
    state.store.follow_tag(user.account.id, &name).await?;
    tag_entity(&state, name, Some(user.account.id)).await
}

async fn unfollow_tag(
    State(state): State<AppState>,
    user: User,
    Path(name): Path<String>,
) -> AppResult<Json<TagEntity>> {
    user.require("write:follows")?;
    let name = tag_name(&name)?;
    state.store.unfollow_tag(user.account.id, &name).await?;
    tag_entity(&state, name, Some(user.account.id)).await
}

async fn followed_tags(State(state): State<AppState>, user: User) -> AppResult<Json<Vec<TagEntity>>> {
    user.require("read:follows")?;
    let tags = state.store.followed_tags(user.account.id).await?;
    Ok(Json(tags.iter().map(|t| TagEntity::new(&state.base_url, t, &[], Some(true))).collect()))
}
