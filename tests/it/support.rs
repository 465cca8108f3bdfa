//! The test harness: `TestApp` runs pengyou in-process on a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database per test when
//! `TEST_DATABASE_URL` is set) and sends requests without a network.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use pengyou::config::Config;
use pengyou_store::Store;
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; dropped (PostgreSQL) by `TestDb::cleanup`.
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    /// `None` when the backend is PostgreSQL and `TEST_DATABASE_URL` is not set.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("pengyou.db").display());
                Some(TestDb { url, admin_url: None, name: None, _dir: dir })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("skipped: PostgreSQL test (set TEST_DATABASE_URL to run it)");
                    return None;
                };
                let name = format!("pengyou_test_{}", pengyou_store::next_id());
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                Some(TestDb { url: url.to_string(), admin_url: Some(admin_url), name: Some(name), _dir: dir })
            }
        }
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Drops the PostgreSQL database (connections must be closed first).
    pub async fn cleanup(self) {
        if let (Some(admin_url), Some(name)) = (self.admin_url, self.name)
            && let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut conn)
                .await;
        }
    }
}

pub struct TestApp {
    pub router: Router,
    pub state: pengyou::state::AppState,
    pub store: Arc<dyn Store>,
    pub db: Option<TestDb>,
}

/// A response, read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// `name=value` pairs from every Set-Cookie header.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) -> &Self {
        assert_eq!(self.status, expected, "unexpected status; body: {}", self.body);
        self
    }

    /// The stable error code of an error response.
    pub fn error_code(&self) -> String {
        self.json()["error_code"].as_str().unwrap_or_default().to_owned()
    }
}

/// A request being built.
pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(Vec<u8>, String)>,
}

impl RequestBuilder<'_> {
    pub fn token(mut self, token: &str) -> Self {
        self.headers.push(("authorization".into(), format!("Bearer {token}")));
        self
    }

    /// Adds the bearer token when there is one (`None`: a logged-out visitor).
    pub fn token_opt(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.token(token),
            None => self,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        self.body = Some((body.into_bytes(), "application/x-www-form-urlencoded".into()));
        self
    }

    pub fn json(mut self, value: Value) -> Self {
        self.body = Some((value.to_string().into_bytes(), "application/json".into()));
        self
    }

    pub fn raw(mut self, body: &str, content_type: &'static str) -> Self {
        self.body = Some((body.as_bytes().to_vec(), content_type.into()));
        self
    }

    /// A `multipart/form-data` body: text fields, then one file part (name, file name, type, bytes).
    pub fn multipart(mut self, fields: &[(&str, &str)], file: Option<(&str, &str, &str, &[u8])>) -> Self {
        let boundary = "pengyou-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((name, filename, content_type, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                     Content-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.body = Some((body, format!("multipart/form-data; boundary={boundary}")));
        self
    }

    pub async fn send(self) -> TestResponse {
        let mut request = Request::builder().method(self.method).uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let body = match self.body {
            Some((body, content_type)) => {
                request = request.header(header::CONTENT_TYPE, content_type.as_str());
                Body::from(body)
            }
            None => Body::empty(),
        };
        let response = self.app.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes: bytes.to_vec() }
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Option<TestApp> {
        Self::with_config(backend, |_| {}).await
    }

    pub async fn with_config(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let mut config = Config {
            public_url: Some("https://pengyou.test".into()),
            database_url: Some(db.url.clone()),
            data_dir: db.dir().to_path_buf(),
            password_workers: Some(2),
            ..Config::default()
        };
        configure(&mut config);
        let state = pengyou::server::build_state(config).await.expect("state builds");
        let router = pengyou::http::router(state.clone());
        Some(TestApp { router, store: state.store.clone(), state, db: Some(db) })
    }

    pub async fn cleanup(mut self) {
        let db = self.db.take();
        drop(self);
        if let Some(db) = db {
            db.cleanup().await;
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder { app: self, method, path: path.to_owned(), headers: Vec::new(), body: None }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    /// Registers an app and returns (client_id, client_secret).
    pub async fn create_app(&self, scopes: &str, redirect_uri: &str) -> (String, String) {
        let response = self
            .post("/api/v1/apps")
            .form(&[("client_name", "test app"), ("redirect_uris", redirect_uri), ("scopes", scopes)])
            .send()
            .await;
        response.assert_status(StatusCode::OK);
        let json = response.json();
        (json["client_id"].as_str().unwrap().to_owned(), json["client_secret"].as_str().unwrap().to_owned())
    }

    /// Registers an app and returns a client-credentials (app-only) token with `scopes`.
    pub async fn app_token(&self, scopes: &str) -> String {
        let (client_id, client_secret) = self.create_app("read write follow", "urn:ietf:wg:oauth:2.0:oob").await;
        let response = self
            .post("/oauth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", scopes),
            ])
            .send()
            .await;
        response.assert_status(StatusCode::OK);
        response.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs up `username` through the API and returns a read/write/follow token.
    pub async fn sign_up(&self, username: &str) -> String {
        let app_token = self.app_token("read write follow").await;
        let response = self
            .post("/api/v1/accounts")
            .token(&app_token)
            .form(&[
                ("username", username),
                ("email", &format!("{username}@example.org")),
                ("password", PASSWORD),
                ("agreement", "true"),
                ("locale", "en"),
            ])
            .send()
            .await;
        response.assert_status(StatusCode::OK);
        response.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Runs the background jobs that are due (fan-out, notifications), as the server's worker would.
    pub async fn run_jobs(&self) -> usize {
        pengyou::jobs::run_pending(&self.state).await.expect("jobs run")
    }

    /// Signs up `username` and returns (token, account id).
    pub async fn member(&self, username: &str) -> (String, String) {
        let token = self.sign_up(username).await;
        let me = self.get("/api/v1/accounts/verify_credentials").token(&token).send().await;
        (token, me.json()["id"].as_str().unwrap().to_owned())
    }

    /// GETs `path` with `token` (or none), expecting 200, and returns the JSON.
    pub async fn json(&self, path: &str, token: Option<&str>) -> Value {
        let mut request = self.get(path);
        if let Some(token) = token {
            request = request.token(token);
        }
        let response = request.send().await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// POSTs to `path` with `token`, expecting 200, and returns the JSON.
    pub async fn act(&self, path: &str, token: &str) -> Value {
        let response = self.post(path).token(token).send().await;
        response.assert_status(StatusCode::OK);
        response.json()
    }

    /// Posts a note and returns its JSON.
    pub async fn post_note(&self, token: &str, pairs: &[(&str, &str)]) -> Value {
        let response = self.post("/api/v1/statuses").token(token).form(pairs).send().await;
        response.assert_status(StatusCode::OK);
        response.json()
    }
}

/// Runs each named async test function once per backend: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::support::{Backend, TestApp};

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = TestApp::new(Backend::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.cleanup().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = TestApp::new(Backend::Postgres).await else { return };
                    super::$name(&app).await;
                    app.cleanup().await;
                }
            }
        )*
    };
}
