//! Server-rendered pages: home, sign up, sign in, sign out, and the static
//! files they use. Sessions live in the database: a fresh 256-bit random token
//! per login in an HttpOnly cookie, stored only as its SHA-256.
//! Every form carries a CSRF token checked against a cookie (double submit).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use pengyou_store::{Account, NewSession, now_ms};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::config::Registrations;
use crate::domain::accounts::{Creator, Registration, register};
use crate::error::AppError;
use crate::http::extract::{Input, SESSION_COOKIE, WebUser, cookie, random_token, string_list, token_hash};
use crate::http::rate_limit::ClientIp;
use crate::state::AppState;

pub const CSRF_COOKIE: &str = "pengyou_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/auth/sign_in", get(sign_in_page).post(sign_in))
        .route("/auth/sign_up", get(sign_up_page).post(sign_up))
        .route("/auth/sign_out", axum::routing::post(sign_out))
        .route(
            "/static/site.css",
            get(|| async { static_file("text/css; charset=utf-8", include_bytes!("../../static/site.css")) }),
        )
        .route(
            "/static/avatar.png",
            get(|| async { static_file("image/png", include_bytes!("../../static/avatar.png")) }),
        )
        .route(
            "/static/header.png",
            get(|| async { static_file("image/png", include_bytes!("../../static/header.png")) }),
        )
}

fn static_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], bytes).into_response()
}

/// An error shown as a page rather than JSON.
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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self.0, AppError::Internal(_) | AppError::Unavailable(_)) {
            tracing::error!(error = %self.0, "page failed");
        }
        let page = MessagePage {
            site_title: "pengyou".into(),
            heading: "Something went wrong 出错了".into(),
            code: self.0.code().into(),
            message: self.0.message(),
        };
        let body = page.render().unwrap_or_else(|_| self.0.message());
        (self.0.status(), Html(body)).into_response()
    }
}

type PageResult = Result<Response, PageError>;

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub site_title: String,
    pub heading: String,
    pub code: String,
    pub message: String,
}

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
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
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

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    site_title: String,
    description: String,
    account: Option<Account>,
    csrf_token: String,
}

async fn home(State(state): State<AppState>, WebUser(account): WebUser, headers: HeaderMap) -> PageResult {
    let csrf = CsrfToken::from_headers(&headers);
    let html = HomePage {
        site_title: state.config.title.clone(),
        description: state.config.description.clone(),
        account,
        csrf_token: csrf.token.clone(),
    }
    .render()?;
    Ok(page(&state, StatusCode::OK, html, &csrf))
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    site_title: String,
    csrf_token: String,
    return_to: String,
    return_to_encoded: String,
    login: String,
    error: Option<(String, String)>,
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<ReturnTo>) -> PageResult {
    let csrf = CsrfToken::from_headers(&headers);
    let return_to = safe_return_to(query.return_to.as_deref());
    let html = SignInPage {
        site_title: state.config.title.clone(),
        csrf_token: csrf.token.clone(),
        return_to_encoded: encode(&return_to),
        return_to,
        login: String::new(),
        error: None,
    }
    .render()?;
    Ok(page(&state, StatusCode::OK, html, &csrf))
}

#[derive(Deserialize)]
struct SignInForm {
    csrf_token: String,
    login: String,
    password: String,
    return_to: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(form): Input<SignInForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    state.limiter.check(state.login_limit(), ip)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let credentials = state.store.credentials_by_login(&form.login).await?;
    let ok = state
        .hasher
        .verify(form.password, credentials.as_ref().map(|c| c.password_hash.clone()))
        .await
        .map_err(AppError::from)?;
    match credentials {
        Some(credentials) if ok && !credentials.account.suspended => {
            start_session(&state, &headers, &credentials.account, &return_to).await
        }
        _ => {
            let csrf = CsrfToken::from_headers(&headers);
            let html = SignInPage {
                site_title: state.config.title.clone(),
                csrf_token: csrf.token.clone(),
                return_to_encoded: encode(&return_to),
                return_to,
                login: form.login,
                error: Some(("invalid_login".into(), "Wrong username or password. 用户名或密码错误。".into())),
            }
            .render()?;
            Ok(page(&state, StatusCode::UNAUTHORIZED, html, &csrf))
        }
    }
}

/// Creates a session with a fresh token, sets its cookie and a fresh CSRF token
/// (so nothing issued before login stays valid), and redirects.
async fn start_session(state: &AppState, headers: &HeaderMap, account: &Account, return_to: &str) -> PageResult {
    let token = random_token();
    let now = now_ms();
    let lifetime_ms = i64::from(state.config.session_days) * 86_400_000;
    state
        .store
        .create_session(NewSession {
            token_hash: token_hash(&token),
            account_id: account.id,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
            created_at: now,
            expires_at: now + lifetime_ms,
        })
        .await
        .map_err(AppError::from)?;
    tracing::info!(account.id = %account.id, "web login");
    let mut response = Redirect::to(return_to).into_response();
    set_cookie(&mut response, state, SESSION_COOKIE, &token, Some(lifetime_ms / 1000));
    set_cookie(&mut response, state, CSRF_COOKIE, &random_token(), None);
    Ok(response)
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    site_title: String,
    csrf_token: String,
    return_to: String,
    return_to_encoded: String,
    open: bool,
    username: String,
    display_name: String,
    reads_zh: bool,
    reads_en: bool,
    error: Option<(String, String)>,
}

/// The UI language a browser prefers, from Accept-Language: `zh` or `en`.
pub fn preferred_language(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    for part in accept.split(',') {
        let tag = part.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            return "zh";
        }
        if tag.starts_with("en") {
            return "en";
        }
    }
    "en"
}

async fn sign_up_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<ReturnTo>) -> PageResult {
    let csrf = CsrfToken::from_headers(&headers);
    let return_to = safe_return_to(query.return_to.as_deref());
    let language = preferred_language(&headers);
    let html = SignUpPage {
        site_title: state.config.title.clone(),
        csrf_token: csrf.token.clone(),
        return_to_encoded: encode(&return_to),
        return_to,
        open: state.config.registrations == Registrations::Open,
        username: String::new(),
        display_name: String::new(),
        reads_zh: language == "zh",
        reads_en: language == "en",
        error: None,
    }
    .render()?;
    Ok(page(&state, StatusCode::OK, html, &csrf))
}

#[derive(Deserialize)]
struct SignUpForm {
    csrf_token: String,
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    #[serde(default, deserialize_with = "string_list")]
    languages: Option<Vec<String>>,
    return_to: Option<String>,
}

async fn sign_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(form): Input<SignUpForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    state.limiter.check(state.signup_limit(), ip)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let languages = form.languages.clone().unwrap_or_default();
    let registration = Registration {
        username: form.username.clone(),
        display_name: Some(form.display_name.clone()),
        email: None,
        password: form.password,
        languages: languages.clone(),
        ui_language: Some(preferred_language(&headers).to_owned()),
    };
    match register(&state, registration, Creator::Public).await {
        Ok(account) => start_session(&state, &headers, &account, &return_to).await,
        Err(error @ (AppError::Validation { .. } | AppError::Forbidden(..))) => {
            let csrf = CsrfToken::from_headers(&headers);
            let html = SignUpPage {
                site_title: state.config.title.clone(),
                csrf_token: csrf.token.clone(),
                return_to_encoded: encode(&return_to),
                return_to,
                open: state.config.registrations == Registrations::Open,
                username: form.username,
                display_name: form.display_name,
                reads_zh: languages.iter().any(|l| l == "zh"),
                reads_en: languages.iter().any(|l| l == "en"),
                error: Some((error.code().into(), error.message())),
            }
            .render()?;
            Ok(page(&state, error.status(), html, &csrf))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct SignOutForm {
    csrf_token: String,
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Input(form): Input<SignOutForm>) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(&token)).await.map_err(AppError::from)?;
    }
    let mut response = Redirect::to("/").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, "", Some(0));
    set_cookie(&mut response, &state, CSRF_COOKIE, &random_token(), None);
    Ok(response)
}
