//! The signed-in member's pages: the composer, notifications (grouped),
//! search, and settings (profile, languages, UI language, privacy, sessions),
//! plus the UI language switch that visitors use too.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pengyou_store::{AccountUpdate, NotificationFilter, now_ms};
use serde::Deserialize;

use crate::domain::validate;
use crate::error::AppError;
use crate::http::extract::{Input, SESSION_COOKIE, cookie, string_list, token_hash};
use crate::state::AppState;
use crate::web::feeds::trending_names;
use crate::web::i18n::Lang;
use crate::web::view::{self, NoteItem, Person};
use crate::web::{Ctx, LANG_COOKIE, PageResult, check_csrf, next_link, page_before, safe_return_to, set_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/compose", get(compose))
        .route("/notifications", get(notifications))
        .route("/search", get(search))
        .route("/settings", get(settings))
        .route("/settings/profile", post(save_profile))
        .route("/settings/language", post(switch_language))
        .route("/settings/sessions/end_all", post(end_all_sessions))
}

/// Pages that need a member send visitors to sign in and back.
fn sign_in_first(ctx: &Ctx) -> Response {
    Redirect::to(&ctx.sign_in_url()).into_response()
}

// ---- composer ----

#[derive(Template)]
#[template(path = "compose.html")]
pub struct ComposePage {
    pub ctx: Ctx,
    pub tags: Vec<String>,
    pub max_title: usize,
    pub max_body: usize,
    pub max_image_mb: u64,
    pub max_video_mb: u64,
}

async fn compose(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    if ctx.me.is_none() {
        return Ok(sign_in_first(&ctx));
    }
    let tags = trending_names(&state, 16).await?;
    let page = ComposePage {
        tags,
        max_title: validate::MAX_TITLE,
        max_body: validate::MAX_BODY,
        max_image_mb: state.config.media_max_image_bytes / (1024 * 1024),
        max_video_mb: state.config.media_max_video_bytes / (1024 * 1024),
        ctx,
    };
    page.ctx.render(&state, &page)
}

// ---- notifications ----

pub struct NotificationView {
    pub kind: String,
    pub people: Vec<Person>,
    pub others: i64,
    pub at: i64,
    pub note: Option<NoteItem>,
    pub unread: bool,
}

impl NotificationView {
    pub fn verb<'a>(&self, ctx: &'a Ctx) -> &'a str {
        let t = ctx.t;
        match self.kind.as_str() {
            "favourite" => t.n_favourite,
            "collect" => t.n_collect,
            "comment" => t.n_comment,
            "reply" => t.n_reply,
            "mention" => t.n_mention,
            "follow" => t.n_follow,
            _ => t.n_follow_request,
        }
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    pub ctx: Ctx,
    pub groups: Vec<NotificationView>,
    pub next: Option<String>,
}

/// Notification groups per page.
const NOTIFICATIONS_PAGE: u32 = 30;

#[derive(Deserialize, Default)]
struct ListQuery {
    max_id: Option<i64>,
}

async fn notifications(State(state): State<AppState>, mut ctx: Ctx, Query(query): Query<ListQuery>) -> PageResult {
    let Some(me) = ctx.me.clone() else { return Ok(sign_in_first(&ctx)) };
    let page = page_before(query.max_id, NOTIFICATIONS_PAGE);
    let groups = state.store.list_notification_groups(me.id, NotificationFilter::default(), page).await?;
    let read_up_to =
        state.store.markers(me.id).await?.iter().find(|m| m.timeline == "notifications").map_or(0, |m| m.last_read_id);
    let notes: Vec<_> = groups.iter().filter_map(|g| g.note.clone()).collect();
    let notes = crate::domain::visibility::visible(state.store.as_ref(), Some(&me), notes).await?;
    let items = view::notes(&state, Some(&me), notes, "notifications").await?;
    let mut shown = Vec::new();
    for group in &groups {
        let note = match &group.note {
            Some(view) => match items.iter().find(|i| i.id == view.note.id.to_string()) {
                Some(item) => Some(item.clone()),
                None => continue,
            },
            None => None,
        };
        shown.push(NotificationView {
            kind: group.kind.clone(),
            people: group.sample_accounts.iter().take(3).map(|a| Person::from_row(&state, a)).collect(),
            others: (group.count - group.sample_accounts.len().min(3) as i64).max(0),
            at: group.latest_at,
            note,
            unread: group.latest_id > read_up_to,
        });
    }
    let next = next_link(&groups, NOTIFICATIONS_PAGE, |g| format!("/notifications?max_id={}", g.latest_id));
    // Seeing the list reads it: the badge clears from the next page on.
    if query.max_id.is_none()
        && let Some(latest) = groups.first()
        && latest.latest_id > read_up_to
    {
        state.store.set_marker(me.id, "notifications", latest.latest_id).await?;
        ctx.unread = 0;
    }
    let page = NotificationsPage { groups: shown, next, ctx };
    page.ctx.render(&state, &page)
}

// ---- search ----

#[derive(Deserialize, Default)]
struct SearchQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub ctx: Ctx,
    pub q: String,
    pub people: Vec<Person>,
    pub tags: Vec<String>,
    pub searched: bool,
}

/// Finds a person by username and a tag by name; full-text search arrives with the search feature.
async fn search(State(state): State<AppState>, ctx: Ctx, Query(query): Query<SearchQuery>) -> PageResult {
    let q = query.q.unwrap_or_default().trim().chars().take(200).collect::<String>();
    let mut people = Vec::new();
    let mut tags = Vec::new();
    if !q.is_empty() {
        let name = q.trim_start_matches('@');
        if let Some(account) = state.store.account_by_username(name).await?
            && crate::domain::visibility::can_see_profile(state.store.as_ref(), &account, ctx.me.as_ref().map(|m| m.id))
                .await?
        {
            people.push(Person::from_row(&state, &account));
        }
        if let Ok(tag) = crate::http::relationships::tag_name(&q) {
            tags.push(tag);
        }
    }
    let page = SearchPage { searched: !q.is_empty(), q, people, tags, ctx };
    page.ctx.render(&state, &page)
}

// ---- settings ----

pub struct SessionRow {
    pub browser: String,
    pub at: i64,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub ctx: Ctx,
    pub display_name: String,
    pub bio: String,
    pub reads_zh: bool,
    pub reads_en: bool,
    pub ui_language: String,
    pub locked: bool,
    pub sessions: Vec<SessionRow>,
    pub saved: bool,
    pub error: Option<(String, String)>,
}

#[derive(Deserialize, Default)]
struct SettingsQuery {
    saved: Option<String>,
}

/// "Chrome on Android" from a User-Agent, enough to tell one's sessions apart.
fn browser_name(user_agent: Option<&str>) -> Option<String> {
    let ua = user_agent?;
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => Some(format!("{b} · {s}")),
        (Some(b), None) => Some(b.to_owned()),
        (None, Some(s)) => Some(s.to_owned()),
        (None, None) => None,
    }
}

async fn settings_page(
    state: &AppState,
    ctx: Ctx,
    headers: &HeaderMap,
    saved: bool,
    error: Option<(String, String)>,
) -> PageResult {
    let Some(me) = ctx.me.clone() else { return Ok(sign_in_first(&ctx)) };
    let current = cookie(headers, SESSION_COOKIE).map(|t| token_hash(&t));
    let sessions = state
        .store
        .sessions_of(me.id, now_ms())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            browser: browser_name(s.user_agent.as_deref()).unwrap_or_else(|| ctx.t.unknown_browser.to_owned()),
            at: s.created_at,
            current: current.as_deref() == Some(s.token_hash.as_slice()),
        })
        .collect();
    let page = SettingsPage {
        display_name: me.display_name.clone(),
        bio: me.bio.clone(),
        reads_zh: me.languages.iter().any(|l| l == "zh"),
        reads_en: me.languages.iter().any(|l| l == "en"),
        ui_language: me.ui_language.clone().unwrap_or_default(),
        locked: me.locked,
        sessions,
        saved,
        error,
        ctx,
    };
    page.ctx.render(state, &page)
}

async fn settings(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Query(query): Query<SettingsQuery>,
) -> PageResult {
    settings_page(&state, ctx, &headers, query.saved.is_some(), None).await
}

#[derive(Deserialize)]
struct ProfileForm {
    csrf_token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    bio: String,
    #[serde(default, deserialize_with = "string_list")]
    languages: Option<Vec<String>>,
    #[serde(default)]
    ui_language: String,
    locked: Option<String>,
}

async fn save_profile(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Input(form): Input<ProfileForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    let Some(me) = ctx.me.clone() else { return Ok(sign_in_first(&ctx)) };
    let update = (|| -> Result<AccountUpdate, AppError> {
        let languages = validate::languages(&form.languages.clone().unwrap_or_default())
            .map_err(|e| AppError::field("languages", e))?;
        if languages.is_empty() {
            return Err(AppError::field(
                "languages",
                validate::ValidationError::new("languages_blank", ctx.t.choose_one_language),
            ));
        }
        let ui_language = match form.ui_language.trim() {
            "" => None,
            code => Some(Lang::parse(code).map(|l| l.code().to_owned()).ok_or_else(|| {
                AppError::field("ui_language", validate::ValidationError::new("invalid_language", "Unknown language"))
            })?),
        };
        Ok(AccountUpdate {
            display_name: Some(
                validate::display_name(&form.display_name).map_err(|e| AppError::field("display_name", e))?,
            ),
            bio: Some(validate::bio(&form.bio).map_err(|e| AppError::field("note", e))?),
            languages: Some(languages),
            ui_language: Some(ui_language),
            locked: Some(form.locked.is_some()),
        })
    })();
    match update {
        Ok(update) => {
            state.store.update_account(me.id, update).await?;
            Ok(Redirect::to("/settings?saved=1").into_response())
        }
        Err(error @ AppError::Validation { .. }) => {
            let shown = Some((error.code().to_owned(), error.message()));
            let mut response = settings_page(&state, ctx, &headers, false, shown).await?;
            *response.status_mut() = error.status();
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    csrf_token: String,
    lang: String,
    return_to: Option<String>,
}

/// Switches the UI language: remembered in a cookie, and in the account when signed in.
async fn switch_language(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Input(form): Input<LanguageForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    let lang = Lang::parse(&form.lang)
        .ok_or_else(|| AppError::BadRequest("invalid_language", "lang must be zh or en".into()))?;
    if let Some(me) = &ctx.me {
        let update = AccountUpdate { ui_language: Some(Some(lang.code().to_owned())), ..AccountUpdate::default() };
        state.store.update_account(me.id, update).await?;
    }
    let mut response = Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response();
    set_cookie(&mut response, &state, LANG_COOKIE, lang.code(), Some(365 * 86_400));
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

/// Logs out every browser and app, this one included.
async fn end_all_sessions(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Input(form): Input<CsrfForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    if let Some(me) = &ctx.me {
        state.store.delete_sessions_of(me.id).await?;
        tracing::info!(account.id = %me.id, "logged out everywhere");
    }
    let mut response = Redirect::to("/auth/sign_in").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, "", Some(0));
    Ok(response)
}
