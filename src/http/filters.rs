//! Keyword filters, Mastodon v2: `/api/v2/filters` (create, list, show, update,
//! delete) with their keywords. Matching happens when statuses are shown
//! (`api::present`): `hide` removes a note, `warn` marks it.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use pengyou_store::{FilterId, FilterUpdate, NewFilter, now_ms};
use serde::Deserialize;
use serde_json::Value;

use crate::api::entities::FilterEntity;
use crate::domain::validate::{self, ValidationError};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Input, User, seconds, string_list};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v2/filters", get(list).post(create))
        .route("/api/v2/filters/{id}", get(show).put(update).delete(remove))
}

const CONTEXTS: [&str; 5] = ["home", "notifications", "public", "thread", "account"];
/// Most keywords one filter may hold.
const MAX_KEYWORDS: usize = 100;

#[derive(Deserialize)]
struct FilterForm {
    title: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    context: Option<Vec<String>>,
    filter_action: Option<String>,
    expires_in: Option<Value>,
    /// A list (JSON) or a map of index → keyword (Rails-style forms).
    keywords_attributes: Option<Value>,
}

fn context(values: Vec<String>) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !CONTEXTS.contains(&value.as_str()) {
            return Err(AppError::field(
                "context",
                ValidationError::new("context_invalid", "context is home, notifications, public, thread or account"),
            ));
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(AppError::field(
            "context",
            ValidationError::new("context_blank", "Choose where the filter applies."),
        ));
    }
    Ok(out)
}

fn action(value: Option<String>) -> AppResult<Option<String>> {
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some("warn" | "hide") => Ok(value),
        Some(_) => Err(AppError::field(
            "filter_action",
            ValidationError::new("action_invalid", "filter_action is warn or hide"),
        )),
    }
}

/// `expires_in` seconds into an expiry time; blank or absent means never.
fn expiry(value: &Option<Value>) -> AppResult<Option<Option<i64>>> {
    let Some(value) = value else { return Ok(None) };
    match seconds(value) {
        Some(None) => Ok(Some(None)),
        Some(Some(s)) if s > 0 => Ok(Some(Some(now_ms() + s.saturating_mul(1000)))),
        _ => Err(AppError::field(
            "expires_in",
            ValidationError::new("expires_in_invalid", "expires_in is a number of seconds"),
        )),
    }
}

/// Keyword changes from `keywords_attributes`.
struct KeywordChanges {
    /// New keywords, and whether each must match a whole word.
    add: Vec<(String, bool)>,
    /// Ids of keywords to remove (`_destroy`).
    remove: Vec<i64>,
}

fn keywords(value: &Option<Value>) -> AppResult<KeywordChanges> {
    let entries: Vec<&Value> = match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(map)) => map.values().collect(),
        Some(_) => return Err(AppError::BadRequest("keywords_invalid", "keywords_attributes is a list".into())),
    };
    let truthy = |v: Option<&Value>| {
        matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true" || s == "1")
    };
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for entry in entries {
        let id =
            entry.get("id").and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|i| i.to_string())));
        if truthy(entry.get("_destroy")) {
            if let Some(id) = id.and_then(|i| i.parse().ok()) {
                remove.push(id);
            }
            continue;
        }
        let keyword = entry.get("keyword").and_then(Value::as_str).unwrap_or_default();
        let keyword = validate::filter_keyword(keyword).map_err(|e| AppError::field("keywords_attributes", e))?;
        let whole_word = entry.get("whole_word").is_none_or(|v| truthy(Some(v)));
        add.push((keyword, whole_word));
    }
    if add.len() > MAX_KEYWORDS {
        return Err(AppError::field(
            "keywords_attributes",
            ValidationError::new("too_many_keywords", "A filter holds at most 100 keywords."),
        ));
    }
    Ok(KeywordChanges { add, remove })
}

async fn list(State(state): State<AppState>, user: User) -> AppResult<Json<Vec<FilterEntity>>> {
    user.require("read:filters")?;
    Ok(Json(state.store.filters_of(user.account.id).await?.iter().map(FilterEntity::new).collect()))
}

async fn own_filter(state: &AppState, id: &str, user: &User) -> AppResult<pengyou_store::Filter> {
    let id: FilterId = id.parse().map_err(|_| AppError::NotFound)?;
    state.store.filter_by_id(id).await?.filter(|f| f.account_id == user.account.id).ok_or(AppError::NotFound)
}

async fn show(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<FilterEntity>> {
    user.require("read:filters")?;
    Ok(Json(FilterEntity::new(&own_filter(&state, &id, &user).await?)))
}

async fn create(
    State(state): State<AppState>,
    user: User,
    Input(form): Input<FilterForm>,
) -> AppResult<Json<FilterEntity>> {
    user.require("write:filters")?;
    let title =
        validate::filter_title(form.title.as_deref().unwrap_or_default()).map_err(|e| AppError::field("title", e))?;
    let context = context(form.context.unwrap_or_default())?;
    let keywords = keywords(&form.keywords_attributes)?.add;
    let filter = state
        .store
        .create_filter(NewFilter {
            account_id: user.account.id,
            title,
            context,
            action: action(form.filter_action)?.unwrap_or_else(|| "warn".into()),
            expires_at: expiry(&form.expires_in)?.flatten(),
            keywords,
        })
        .await?;
    Ok(Json(FilterEntity::new(&filter)))
}

async fn update(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<FilterForm>,
) -> AppResult<Json<FilterEntity>> {
    user.require("write:filters")?;
    let filter = own_filter(&state, &id, &user).await?;
    let changes = keywords(&form.keywords_attributes)?;
    let update = FilterUpdate {
        title: form
            .title
            .as_deref()
            .map(validate::filter_title)
            .transpose()
            .map_err(|e| AppError::field("title", e))?,
        context: form.context.map(context).transpose()?,
        action: action(form.filter_action)?,
        expires_at: expiry(&form.expires_in)?,
        add_keywords: changes.add,
        remove_keyword_ids: changes.remove,
    };
    Ok(Json(FilterEntity::new(&state.store.update_filter(filter.id, update).await?)))
}

async fn remove(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<()>> {
    user.require("write:filters")?;
    let filter = own_filter(&state, &id, &user).await?;
    state.store.delete_filter(filter.id).await?;
    Ok(Json(()))
}
