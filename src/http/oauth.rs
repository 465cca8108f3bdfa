//! OAuth 2 as Mastodon clients expect it: app registration, the authorization
//! code flow with PKCE (S256), password and client-credentials grants, token
//! revocation, and RFC 8414 server metadata. Secrets, codes and tokens are
//! stored only as SHA-256 hashes.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use pengyou_store::{App, AuthCode, NewApp, NewToken, now_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::entities::{Application, Token};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Auth, Input, random_token, string_list, token_hash};
use crate::http::rate_limit::ClientIp;
use crate::http::scopes;
use crate::state::AppState;
use crate::web::{Ctx, PageError, check_csrf};

const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/apps", post(create_app))
        .route("/api/v1/apps/verify_credentials", get(verify_app))
        .route("/oauth/authorize", get(authorize_page).post(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

#[derive(Deserialize)]
struct NewAppForm {
    client_name: Option<String>,
    #[serde(default, deserialize_with = "redirect_list")]
    redirect_uris: Option<Vec<String>>,
    scopes: Option<String>,
    website: Option<String>,
}

/// `redirect_uris` arrives as one string (newline-separated) or an array.
fn redirect_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = string_list(deserializer)?;
    Ok(list.map(|items| {
        items
            .iter()
            .flat_map(|s| s.split(['\n', ' ']))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }))
}

fn valid_redirect_uri(uri: &str) -> bool {
    // Native apps register custom schemes (`myapp://callback`), so any scheme
    // but the ones that run or embed content is allowed; fragments never are.
    uri == OOB
        || url::Url::parse(uri)
            .is_ok_and(|u| u.fragment().is_none() && !matches!(u.scheme(), "javascript" | "data" | "file" | "vbscript"))
}

#[tracing::instrument(skip_all)]
async fn create_app(State(state): State<AppState>, Input(form): Input<NewAppForm>) -> AppResult<Json<Application>> {
    let name = form.client_name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::validation(crate::domain::validate::ValidationError::new(
            "client_name_invalid",
            "client_name is required and has at most 60 characters",
        )));
    }
    let redirect_uris = form.redirect_uris.unwrap_or_default();
    if redirect_uris.is_empty() || redirect_uris.len() > 10 || !redirect_uris.iter().all(|u| valid_redirect_uri(u)) {
        return Err(AppError::validation(crate::domain::validate::ValidationError::new(
            "redirect_uri_invalid",
            "redirect_uris must be absolute URIs or urn:ietf:wg:oauth:2.0:oob",
        )));
    }
    let scopes = scopes::parse(form.scopes.as_deref().unwrap_or("read")).ok_or_else(|| {
        AppError::validation(crate::domain::validate::ValidationError::new("scope_invalid", "Unknown scope requested"))
    })?;
    let client_id = random_token();
    let secret = random_token();
    let app = state
        .store
        .create_app(NewApp {
            client_id,
            secret_hash: token_hash(&secret),
            name: name.to_owned(),
            website: form.website.filter(|w| !w.trim().is_empty()),
            redirect_uris,
            scopes: scopes.join(" "),
        })
        .await?;
    Ok(Json(Application::new(&app, Some(secret))))
}

async fn verify_app(Auth(grant): Auth) -> AppResult<Json<Application>> {
    let grant = grant.ok_or(AppError::Unauthorized)?;
    Ok(Json(Application::new(&grant.app, None)))
}

#[derive(Deserialize, Default)]
struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

#[derive(Template)]
#[template(path = "authorize.html")]
struct AuthorizePage {
    ctx: Ctx,
    app_name: String,
    username: String,
    scopes: Vec<String>,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    ctx: Ctx,
    app_name: String,
    code: String,
}

/// A checked authorization request. Errors before the redirect URI is known
/// to belong to the client are shown on a page, never redirected (RFC 6749 §4.1.2.1).
struct CheckedRequest {
    app: App,
    redirect_uri: String,
    scopes: Vec<String>,
    challenge: Option<String>,
}

async fn check_authorize_request(state: &AppState, params: &AuthorizeParams) -> AppResult<CheckedRequest> {
    let client_id = params.client_id.as_deref().unwrap_or_default();
    let app = state
        .store
        .app_by_client_id(client_id)
        .await?
        .ok_or_else(|| AppError::oauth("invalid_client", "Unknown client_id"))?;
    let redirect_uri = match params.redirect_uri.as_deref() {
        Some(uri) if app.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        None if app.redirect_uris.len() == 1 => app.redirect_uris[0].clone(),
        _ => return Err(AppError::oauth("invalid_request", "redirect_uri does not match the app's registered URIs")),
    };
    if params.response_type.as_deref().unwrap_or("code") != "code" {
        return Err(AppError::oauth("unsupported_response_type", "Only response_type=code is supported"));
    }
    let scopes = scopes::parse(params.scope.as_deref().unwrap_or("read"))
        .filter(|s| scopes::within(s, &app.scopes))
        .ok_or_else(|| {
            AppError::oauth("invalid_scope", "The requested scope is unknown or not registered for this app")
        })?;
    let challenge =
        match (params.code_challenge.as_deref().filter(|c| !c.is_empty()), params.code_challenge_method.as_deref()) {
            (None, _) => None,
            (Some(challenge), Some("S256") | None) if (43..=128).contains(&challenge.len()) => {
                Some(challenge.to_owned())
            }
            (Some(_), Some("S256") | None) => {
                return Err(AppError::oauth("invalid_request", "code_challenge must be 43–128 characters"));
            }
            (Some(_), Some(_)) => {
                return Err(AppError::oauth("invalid_request", "Only code_challenge_method=S256 is supported"));
            }
        };
    Ok(CheckedRequest { app, redirect_uri, scopes, challenge })
}

async fn authorize_page(
    State(state): State<AppState>,
    ctx: Ctx,
    uri: axum::http::Uri,
    Query(params): Query<AuthorizeParams>,
) -> Result<Response, PageError> {
    let checked = check_authorize_request(&state, &params).await?;
    let Some(account) = ctx.me.clone() else {
        let here = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/oauth/authorize");
        let encoded: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Ok(Redirect::to(&format!("/auth/sign_in?return_to={encoded}")).into_response());
    };
    let page = AuthorizePage {
        app_name: checked.app.name.clone(),
        username: account.username,
        scope: checked.scopes.join(" "),
        scopes: checked.scopes,
        client_id: checked.app.client_id.clone(),
        redirect_uri: checked.redirect_uri,
        state: params.state.unwrap_or_default(),
        code_challenge: checked.challenge.unwrap_or_default(),
        code_challenge_method: if params.code_challenge.is_some() { "S256".into() } else { String::new() },
        ctx,
    };
    page.ctx.render(&state, &page)
}

#[derive(Deserialize)]
struct AuthorizeForm {
    csrf_token: String,
    decision: String,
    #[serde(flatten)]
    params: AuthorizeFormParams,
}

#[derive(Deserialize)]
struct AuthorizeFormParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return AppError::oauth("invalid_request", "Bad redirect_uri").into_response(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
    }
    // Not axum's Redirect::to: custom app schemes (e.g. `myapp://cb`) must pass through unchanged.
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

async fn authorize(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Input(form): Input<AuthorizeForm>,
) -> Result<Response, PageError> {
    check_csrf(&headers, &form.csrf_token)?;
    let account = ctx.me.clone().ok_or(AppError::Unauthorized)?;
    let params = AuthorizeParams {
        client_id: form.params.client_id,
        redirect_uri: form.params.redirect_uri,
        response_type: Some("code".into()),
        scope: form.params.scope,
        state: form.params.state,
        code_challenge: form.params.code_challenge,
        code_challenge_method: form.params.code_challenge_method.filter(|m| !m.is_empty()),
    };
    let checked = check_authorize_request(&state, &params).await?;
    let client_state = params.state.unwrap_or_default();
    if form.decision != "approve" {
        if checked.redirect_uri == OOB {
            return Err(AppError::Forbidden("access_denied", "You denied the request.".into()).into());
        }
        return Ok(redirect_with(&checked.redirect_uri, &[("error", "access_denied"), ("state", &client_state)]));
    }
    let code = random_token();
    state
        .store
        .create_auth_code(AuthCode {
            code_hash: token_hash(&code),
            app_id: checked.app.id,
            account_id: account.id,
            redirect_uri: checked.redirect_uri.clone(),
            scopes: checked.scopes.join(" "),
            code_challenge: checked.challenge,
            expires_at: now_ms() + CODE_LIFETIME_MS,
        })
        .await
        .map_err(AppError::from)?;
    if checked.redirect_uri == OOB {
        let page = CodePage { app_name: checked.app.name, code, ctx };
        return page.ctx.render(&state, &page);
    }
    Ok(redirect_with(&checked.redirect_uri, &[("code", &code), ("state", &client_state)]))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1) or the form body.
fn client_credentials(
    headers: &HeaderMap,
    client_id: Option<&str>,
    client_secret: Option<&str>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (client_id.map(str::to_owned), client_secret.map(str::to_owned)),
    }
}

fn secret_matches(app: &App, secret: &str) -> bool {
    bool::from(app.secret_hash.as_slice().ct_eq(token_hash(secret).as_slice()))
}

/// The S256 transform: BASE64URL(SHA256(verifier)) without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn issue_token(
    state: &AppState,
    app: &App,
    account: Option<pengyou_store::AccountId>,
    scopes: String,
) -> AppResult<Json<Token>> {
    let access_token = random_token();
    state
        .store
        .create_token(NewToken {
            token_hash: token_hash(&access_token),
            app_id: app.id,
            account_id: account,
            scopes: scopes.clone(),
        })
        .await?;
    Ok(Json(Token { access_token, token_type: "Bearer", scope: scopes, created_at: now_ms() / 1000 }))
}

#[tracing::instrument(skip_all, fields(grant_type))]
async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(form): Input<TokenForm>,
) -> AppResult<Json<Token>> {
    let grant_type = form.grant_type.clone().unwrap_or_default();
    tracing::Span::current().record("grant_type", grant_type.as_str());
    let (client_id, client_secret) =
        client_credentials(&headers, form.client_id.as_deref(), form.client_secret.as_deref());
    let app = state
        .store
        .app_by_client_id(client_id.as_deref().unwrap_or_default())
        .await?
        .ok_or_else(|| AppError::oauth("invalid_client", "Client authentication failed"))?;
    let authenticated = client_secret.as_deref().is_some_and(|s| secret_matches(&app, s));
    // A public client may leave out its secret only when PKCE proves possession of the code.
    let pkce_only = client_secret.is_none() && grant_type == "authorization_code" && form.code_verifier.is_some();
    if !authenticated && !pkce_only {
        return Err(AppError::oauth("invalid_client", "Client authentication failed"));
    }
    let requested = |default: &str| {
        scopes::parse(form.scope.as_deref().unwrap_or(default)).filter(|s| scopes::within(s, &app.scopes)).ok_or_else(
            || AppError::oauth("invalid_scope", "The requested scope is unknown or not registered for this app"),
        )
    };
    match grant_type.as_str() {
        "authorization_code" => {
            let code = form.code.as_deref().ok_or_else(|| AppError::oauth("invalid_request", "code is required"))?;
            let grant = state.store.take_auth_code(&token_hash(code)).await?;
            let grant = grant.filter(|g| g.app_id == app.id && g.expires_at > now_ms()).ok_or_else(|| {
                AppError::oauth("invalid_grant", "The authorization code is invalid, expired or already used")
            })?;
            if form.redirect_uri.as_deref().is_some_and(|r| r != grant.redirect_uri) {
                return Err(AppError::oauth("invalid_grant", "redirect_uri does not match the authorization request"));
            }
            match (&grant.code_challenge, form.code_verifier.as_deref()) {
                (Some(challenge), Some(verifier))
                    if bool::from(pkce_challenge(verifier).as_bytes().ct_eq(challenge.as_bytes())) => {}
                (Some(_), _) => return Err(AppError::oauth("invalid_grant", "PKCE verification failed")),
                (None, Some(_)) => {
                    return Err(AppError::oauth("invalid_grant", "No code_challenge was sent for this code"));
                }
                (None, None) if !authenticated => {
                    return Err(AppError::oauth("invalid_client", "Client authentication failed"));
                }
                (None, None) => {}
            }
            issue_token(&state, &app, Some(grant.account_id), grant.scopes).await
        }
        "password" => {
            state.limiter.check(state.login_limit(), ip)?;
            let scopes = requested("read")?;
            let login = form.username.as_deref().unwrap_or_default();
            let password = form.password.clone().unwrap_or_default();
            let credentials = state.store.credentials_by_login(login).await?;
            let ok = state.hasher.verify(password, credentials.as_ref().map(|c| c.password_hash.clone())).await?;
            match credentials {
                Some(c) if ok && !c.account.suspended => {
                    issue_token(&state, &app, Some(c.account.id), scopes.join(" ")).await
                }
                _ => Err(AppError::oauth("invalid_grant", "The username or password is incorrect")),
            }
        }
        "client_credentials" => {
            let scopes = requested("read")?;
            issue_token(&state, &app, None, scopes.join(" ")).await
        }
        "" => Err(AppError::oauth("invalid_request", "grant_type is required")),
        _ => Err(AppError::oauth(
            "unsupported_grant_type",
            "Supported grants: authorization_code, password, client_credentials",
        )),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Input(form): Input<RevokeForm>,
) -> AppResult<Json<Value>> {
    let (client_id, client_secret) =
        client_credentials(&headers, form.client_id.as_deref(), form.client_secret.as_deref());
    let app = state
        .store
        .app_by_client_id(client_id.as_deref().unwrap_or_default())
        .await?
        .filter(|app| client_secret.as_deref().is_some_and(|s| secret_matches(app, s)))
        .ok_or_else(|| {
            AppError::Forbidden("unauthorized_client", "You are not authorized to revoke this token".into())
        })?;
    let token = form.token.ok_or_else(|| AppError::oauth("invalid_request", "token is required"))?;
    state.store.revoke_token(&token_hash(&token), app.id).await?;
    Ok(Json(json!({})))
}

async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let base = &state.base_url;
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": format!("{base}/"),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": scopes::supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }))
}
