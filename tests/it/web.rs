//! The sign-up, sign-in and sign-out pages, with CSRF protection and sessions.

use axum::http::StatusCode;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp, TestResponse};

on_both_backends!(sign_up_sign_out_sign_in, forms_need_csrf_and_escape_input);

/// A browser's cookie jar, enough for these pages.
#[derive(Default)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn absorb(&mut self, response: &TestResponse) {
        for (name, value) in response.cookies() {
            self.cookies.retain(|(k, _)| *k != name);
            if !value.is_empty() {
                self.cookies.push((name, value));
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    pub async fn open(&mut self, app: &TestApp, path: &str) -> TestResponse {
        let response = app.get(path).header("cookie", &self.header()).send().await;
        self.absorb(&response);
        response
    }

    pub async fn submit(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let csrf = self.get("pengyou_csrf").unwrap_or_default();
        let mut pairs = vec![("csrf_token", csrf.as_str())];
        pairs.extend_from_slice(fields);
        let response = app.post(path).header("cookie", &self.header()).form(&pairs).send().await;
        self.absorb(&response);
        response
    }
}

async fn sign_up_sign_out_sign_in(app: &TestApp) {
    let mut browser = Browser::default();
    let page = browser.open(app, "/auth/sign_up").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Create your account"));
    assert!(page.header("content-security-policy").unwrap().contains("default-src 'self'"));
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));

    let weak = browser.submit(app, "/auth/sign_up", &[("username", "mei"), ("password", "12345678")]).await;
    weak.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("data-code=\"password_too_weak\""));
    assert!(weak.body.contains("value=\"mei\""), "the form keeps what was typed");

    let created = browser
        .submit(
            app,
            "/auth/sign_up",
            &[("username", "mei"), ("display_name", "小美"), ("password", PASSWORD), ("languages", "zh")],
        )
        .await;
    created.assert_status(StatusCode::SEE_OTHER);
    let session = browser.get("pengyou_session").expect("a session cookie");
    assert!(session.len() >= 43, "a 256-bit token");
    let set_cookie =
        created.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(
        set_cookie.iter().any(|c| c.starts_with("pengyou_session=") && c.contains("HttpOnly") && c.contains("Secure"))
    );
    let home = browser.open(app, "/").await;
    assert!(home.body.contains("小美") && home.body.contains("@mei"));
    let account = app.store.account_by_username("mei").await.unwrap().unwrap();
    assert_eq!(account.languages, ["zh"]);

    browser.submit(app, "/auth/sign_out", &[]).await.assert_status(StatusCode::SEE_OTHER);
    assert!(browser.get("pengyou_session").is_none());
    // The old session token no longer works, even if replayed.
    let replay = app.get("/").header("cookie", &format!("pengyou_session={session}")).send().await;
    assert!(!replay.body.contains("@mei"));

    browser.open(app, "/auth/sign_in").await;
    let wrong = browser.submit(app, "/auth/sign_in", &[("login", "mei"), ("password", "wrong password here")]).await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("data-code=\"invalid_login\""));
    let ok = browser
        .submit(app, "/auth/sign_in", &[("login", "MEI"), ("password", PASSWORD), ("return_to", "//evil.example")])
        .await;
    ok.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location").as_deref(), Some("/"), "return_to only follows local paths");
    let fresh = browser.get("pengyou_session").unwrap();
    assert_ne!(fresh, session, "every login gets a fresh token");
    assert!(browser.open(app, "/").await.body.contains("@mei"));
}

async fn forms_need_csrf_and_escape_input(app: &TestApp) {
    let mut browser = Browser::default();
    browser.open(app, "/auth/sign_up").await;
    let forged = app
        .post("/auth/sign_up")
        .header("cookie", &browser.header())
        .form(&[
            ("csrf_token", "forged-token-that-does-not-match-the-cookie"),
            ("username", "eve"),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    forged.assert_status(StatusCode::FORBIDDEN);
    assert!(forged.body.contains("csrf_failed"));
    let no_cookie =
        app.post("/auth/sign_up").form(&[("csrf_token", ""), ("username", "eve"), ("password", PASSWORD)]).send().await;
    no_cookie.assert_status(StatusCode::FORBIDDEN);
    assert!(app.store.account_by_username("eve").await.unwrap().is_none());

    let xss = "<script>alert(1)</script>";
    browser.submit(app, "/auth/sign_up", &[("username", "eve"), ("display_name", xss), ("password", PASSWORD)]).await;
    let home = browser.open(app, "/").await;
    assert!(!home.body.contains(xss));
    assert!(home.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
}

#[tokio::test]
async fn closed_registrations_refuse_sign_ups() {
    let app = TestApp::with_config(crate::support::Backend::Sqlite, |c| {
        c.registrations = pengyou::config::Registrations::Closed
    })
    .await
    .unwrap();
    let mut browser = Browser::default();
    let page = browser.open(&app, "/auth/sign_up").await;
    assert!(page.body.contains("registrations_closed"));
    let refused = browser.submit(&app, "/auth/sign_up", &[("username", "mei"), ("password", PASSWORD)]).await;
    refused.assert_status(StatusCode::FORBIDDEN);
    let instance = app.get("/api/v2/instance").send().await.json();
    assert_eq!(instance["registrations"]["enabled"], false);
    assert!(app.store.account_by_username("mei").await.unwrap().is_none());
}
