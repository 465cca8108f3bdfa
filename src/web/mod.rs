//! The web app: server-rendered pages in Chinese and English (askama templates
//! checked at compile time), the page fragments the scripts load for infinite
//! scroll, and the static files. Pages read through the same domain code as
//! the API; everything a page changes goes through the Mastodon-compatible API,
//! which accepts the session cookie with a CSRF header (see `http::extract`).

pub mod auth;
pub mod feeds;
pub mod i18n;
pub mod me;
pub mod note;
pub mod people;
pub mod view;

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use pengyou_store::{Account, Page, now_ms};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::http::extract::{cookie, random_token, web_session};
use crate::state::AppState;
use i18n::{Lang, Strings};

pub const CSRF_COOKIE: &str = "pengyou_csrf";
/// A visitor's chosen UI language (members keep theirs in their account).
pub const LANG_COOKIE: &str = "pengyou_lang";

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(feeds::router())
        .merge(note::router())
        .merge(people::router())
        .merge(me::router())
        .route("/static/site.css", get(|| async { asset("text/css; charset=utf-8", SITE_CSS) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/static/avatar.png", get(|| async { asset("image/png", include_bytes!("../../static/avatar.png")) }))
        .route("/static/header.png", get(|| async { asset("image/png", include_bytes!("../../static/header.png")) }))
}

const SITE_CSS: &[u8] = include_bytes!("../../static/site.css");
const APP_JS: &[u8] = include_bytes!("../../static/app.js");

/// A short digest of the stylesheet and script, added to their URLs so a new
/// build is fetched at once while browsers cache the files for a long time.
static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(SITE_CSS);
    hasher.update(APP_JS);
    hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
});

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=604800")], bytes).into_response()
}

/// What every page needs: who is looking, in which language, the CSRF token
/// for its forms and scripts, and the unread notification count for the badge.
pub struct Ctx {
    pub lang: Lang,
    pub t: &'static Strings,
    pub me: Option<Account>,
    pub csrf: String,
    csrf_is_new: bool,
    pub site_title: String,
    /// The path and query of this page, for the language switcher's return.
    pub here: String,
    pub unread: i64,
    pub asset_version: &'static str,
    pub now: i64,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let me = web_session(&parts.headers, state).await?.map(|s| s.account);
        let lang = ui_language(me.as_ref(), &parts.headers);
        let unread = match &me {
            Some(me) => crate::http::notifications::unread(state, me).await?,
            None => 0,
        };
        let csrf = CsrfToken::from_headers(&parts.headers);
        Ok(Ctx {
            lang,
            t: lang.strings(),
            me,
            csrf: csrf.token,
            csrf_is_new: csrf.is_new,
            site_title: state.config.title.clone(),
            here: parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into()),
            unread,
            asset_version: ASSET_VERSION.as_str(),
            now: now_ms(),
        })
    }
}

/// The UI language: the member's setting, else the visitor's choice, else the browser's.
pub fn ui_language(me: Option<&Account>, headers: &HeaderMap) -> Lang {
    me.and_then(|m| m.ui_language.as_deref())
        .and_then(Lang::parse)
        .or_else(|| cookie(headers, LANG_COOKIE).as_deref().and_then(Lang::parse))
        .or_else(|| Lang::from_accept_language(headers))
        .unwrap_or(Lang::En)
}

impl Ctx {
    /// Renders a page (or fragment) with this context's cookies and headers.
    pub fn render(&self, state: &AppState, template: &impl Template) -> Result<Response, PageError> {
        self.render_status(state, StatusCode::OK, template)
    }

    pub fn render_status(
        &self,
        state: &AppState,
        status: StatusCode,
        template: &impl Template,
    ) -> Result<Response, PageError> {
        let html = template.render()?;
        let csrf = CsrfToken { token: self.csrf.clone(), is_new: self.csrf_is_new };
        let mut response = page(state, status, html, &csrf);
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Cookie, Accept-Language"));
        Ok(response)
    }

    pub fn fill(&self, template: &str, name: &str, value: impl std::fmt::Display) -> String {
        i18n::fill(template, name, &value.to_string())
    }

    pub fn count(&self, n: &i64) -> String {
        i18n::count(*n, self.lang)
    }

    pub fn when(&self, ms: &i64) -> String {
        i18n::when(*ms, self.now, self.lang)
    }

    pub fn iso(&self, ms: &i64) -> String {
        crate::api::entities::iso8601(*ms)
    }

    pub fn script_strings(&self) -> String {
        self.t.script_json()
    }

    pub fn other_lang(&self) -> &'static str {
        self.lang.other().code()
    }

    pub fn is_me(&self, id: &str) -> bool {
        self.me.as_ref().is_some_and(|m| m.id.to_string() == id)
    }

    pub fn signed_in(&self) -> bool {
        self.me.is_some()
    }

    /// A sign-in link that comes back to this page.
    pub fn sign_in_url(&self) -> String {
        format!("/auth/sign_in?return_to={}", encode(&self.here))
    }

    pub fn tag_url(&self, tag: &str) -> String {
        format!("/tags/{}", encode(tag))
    }

    pub fn unread_label(&self) -> String {
        if self.unread > 99 { "99+".into() } else { self.unread.to_string() }
    }

    pub fn my_url(&self) -> String {
        self.me.as_ref().map(|m| format!("/@{}", m.username)).unwrap_or_else(|| "/auth/sign_in".into())
    }

    /// Whether the navigation entry for `path` is the current page.
    pub fn current(&self, path: &str) -> bool {
        let here = self.here.split('?').next().unwrap_or_default();
        if path == "/" || path.starts_with("/@") { here == path } else { here.starts_with(path) }
    }
}

/// Cards per page in every feed, profile and board.
pub const PAGE_SIZE: u32 = 20;

/// A page of `limit` items older than `max_id`.
pub fn page_before(max_id: Option<i64>, limit: u32) -> Page {
    Page { max_id, since_id: None, min_id: None, limit }
}

/// The link to the next page, made from this page's last item, when this page came back full.
pub fn next_link<T>(items: &[T], limit: u32, link: impl FnOnce(&T) -> String) -> Option<String> {
    if items.len() == limit as usize { items.last().map(link) } else { None }
}

/// An error shown as a page rather than JSON, in both languages (the error may
/// come before the request's language is known).
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError(error)
    }
}

impl From<pengyou_store::StoreError> for PageError {
    fn from(error: pengyou_store::StoreError) -> Self {
        PageError(error.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> Self {
        PageError(AppError::Internal(error.to_string()))
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub site_title: String,
    pub heading: String,
    pub code: String,
    pub message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, AppError::Internal(_) | AppError::Unavailable(_)) {
            tracing::error!(error = %self.0, "page failed");
        }
        let (heading, message) = if matches!(self.0, AppError::NotFound) {
            (
                format!("{} · {}", i18n::EN.not_found_title, i18n::ZH.not_found_title),
                format!("{} {}", i18n::EN.not_found_text, i18n::ZH.not_found_text),
            )
        } else {
            (format!("{} · {}", i18n::EN.error_title, i18n::ZH.error_title), self.0.message())
        };
        let page = MessagePage { site_title: "pengyou".into(), heading, code: self.0.code().into(), message };
        let body = page.render().unwrap_or_else(|_| self.0.message());
        let mut response = (self.0.status(), Html(body)).into_response();
        if let AppError::RateLimited { retry_after_secs } = self.0
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type PageResult = Result<Response, PageError>;

/// The CSRF token for this browser: the cookie's, or a new one to set.
pub struct CsrfToken {
    pub token: String,
    pub is_new: bool,
}

impl CsrfToken {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        match cookie(headers, CSRF_COOKIE).filter(|t| t.len() >= 32) {
            Some(token) => CsrfToken { token, is_new: false },
            None => CsrfToken { token: random_token(), is_new: true },
        }
    }
}

/// Sets a cookie with pengyou's attributes.
pub fn set_cookie(response: &mut Response, state: &AppState, name: &str, value: &str, max_age_secs: Option<i64>) {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if state.config.secure_cookies() {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Renders a page, setting the CSRF cookie when it is new.
pub fn page(state: &AppState, status: StatusCode, html: String, csrf: &CsrfToken) -> Response {
    let mut response = (status, Html(html)).into_response();
    if csrf.is_new {
        set_cookie(&mut response, state, CSRF_COOKIE, &csrf.token, None);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Refuses a form post whose token does not match the browser's CSRF cookie.
pub fn check_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), AppError> {
    check_csrf_value(&cookie(headers, CSRF_COOKIE).unwrap_or_default(), submitted)
}

/// Compares the CSRF cookie's value with the one a form or script sent, in constant time.
pub fn check_csrf_value(expected: &str, submitted: &str) -> Result<(), AppError> {
    if expected.len() >= 32 && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Forbidden("csrf_failed", "The form expired; reload the page and try again.".into()))
    }
}

/// Only local paths are followed after login, so `return_to` cannot send people elsewhere.
pub fn safe_return_to(value: Option<&str>) -> String {
    match value {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Percent-encodes a value for a URL's query or path.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The language a browser prefers for content, from Accept-Language: `zh` or `en`.
pub fn preferred_language(headers: &HeaderMap) -> &'static str {
    Lang::from_accept_language(headers).unwrap_or(Lang::En).code()
}
