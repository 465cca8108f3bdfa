//! OAuth 2: the authorization code flow with PKCE through the consent page,
//! the password and client-credentials grants, and revocation.

use axum::http::StatusCode;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};
use crate::web::Browser;

on_both_backends!(authorization_code_with_pkce, password_and_client_grants, apps_are_validated);

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough-verifier";

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn authorization_code_with_pkce(app: &TestApp) {
    app.sign_up("alice").await;
    let (client_id, client_secret) = app.create_app("read write", "myapp://callback").await;
    let challenge = pengyou::http::oauth::pkce_challenge(VERIFIER);
    let authorize = format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri=myapp%3A%2F%2Fcallback&response_type=code&scope=read+write&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
    );
    let mut browser = Browser::default();
    let to_login = browser.open(app, &authorize).await;
    to_login.assert_status(StatusCode::SEE_OTHER);
    let login_path = to_login.header("location").unwrap();
    assert!(login_path.starts_with("/auth/sign_in?return_to=%2Foauth%2Fauthorize"));

    browser.open(app, &login_path).await;
    let return_to = query_param(&format!("https://x{login_path}"), "return_to").unwrap();
    let signed_in = browser
        .submit(app, "/auth/sign_in", &[("login", "alice"), ("password", PASSWORD), ("return_to", &return_to)])
        .await;
    assert_eq!(signed_in.header("location").unwrap(), return_to);

    let consent = browser.open(app, &return_to).await;
    consent.assert_status(StatusCode::OK);
    assert!(consent.body.contains("Authorize test app"));
    let fields = [
        ("client_id", client_id.as_str()),
        ("redirect_uri", "myapp://callback"),
        ("scope", "read write"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut deny = fields.to_vec();
    deny.push(("decision", "deny"));
    let denied = browser.submit(app, "/oauth/authorize", &deny).await;
    assert_eq!(query_param(&denied.header("location").unwrap(), "error").as_deref(), Some("access_denied"));

    let mut approve = fields.to_vec();
    approve.push(("decision", "approve"));
    let approved = browser.submit(app, "/oauth/authorize", &approve).await;
    approved.assert_status(StatusCode::FOUND);
    let location = approved.header("location").unwrap();
    assert!(location.starts_with("myapp://callback?"), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("xyz"));
    let code = query_param(&location, "code").unwrap();

    let exchange = |verifier: &'static str, code: String| {
        let client_id = client_id.clone();
        let client_secret = client_secret.clone();
        async move {
            app.post("/oauth/token")
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", &client_id),
                    ("client_secret", &client_secret),
                    ("redirect_uri", "myapp://callback"),
                    ("code", &code),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
        }
    };
    let wrong = exchange("a-different-verifier-that-is-long-enough-to-be-valid-xx", code.clone()).await;
    wrong.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    // A failed exchange burns the code: a guessing attacker gets one try.
    let reused = exchange(VERIFIER, code).await;
    assert_eq!(reused.json()["error"], "invalid_grant");

    let approved = browser.submit(app, "/oauth/authorize", &approve).await;
    let code = query_param(&approved.header("location").unwrap(), "code").unwrap();
    let token = exchange(VERIFIER, code.clone()).await;
    token.assert_status(StatusCode::OK);
    let token = token.json();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read write");
    let me = app.get("/api/v1/accounts/verify_credentials").token(token["access_token"].as_str().unwrap()).send().await;
    assert_eq!(me.json()["username"], "alice");
    assert_eq!(exchange(VERIFIER, code).await.json()["error"], "invalid_grant", "codes work once");

    // Out-of-band apps are shown the code on a page.
    let (oob_id, _) = app.create_app("read", "urn:ietf:wg:oauth:2.0:oob").await;
    let oob = browser
        .submit(
            app,
            "/oauth/authorize",
            &[
                ("client_id", &oob_id),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
                ("scope", "read"),
                ("decision", "approve"),
            ],
        )
        .await;
    oob.assert_status(StatusCode::OK);
    assert!(oob.body.contains("class=\"code\""));
    // A redirect URI the app did not register is refused, not followed.
    let evil = browser
        .open(
            app,
            &format!("/oauth/authorize?client_id={client_id}&redirect_uri=https://evil.example/&response_type=code"),
        )
        .await;
    evil.assert_status(StatusCode::BAD_REQUEST);
    assert!(evil.header("location").is_none());
    // Scopes beyond the app's registration are refused.
    let greedy = browser
        .open(
            app,
            &format!("/oauth/authorize?client_id={client_id}&redirect_uri=myapp%3A%2F%2Fcallback&scope=admin:write"),
        )
        .await;
    greedy.assert_status(StatusCode::BAD_REQUEST);
}

async fn password_and_client_grants(app: &TestApp) {
    app.sign_up("alice").await;
    let (client_id, client_secret) = app.create_app("read write follow", "urn:ietf:wg:oauth:2.0:oob").await;
    let grant = |pairs: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, String)> = pairs;
        async move {
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post("/oauth/token").form(&borrowed).send().await
        }
    };
    let base = |grant_type: &str| {
        vec![
            ("grant_type", grant_type.to_owned()),
            ("client_id", client_id.clone()),
            ("client_secret", client_secret.clone()),
        ]
    };

    let mut wrong = base("password");
    wrong.extend([("username", "alice".to_owned()), ("password", "not the password at all".to_owned())]);
    let wrong = grant(wrong).await;
    wrong.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json()["error"], "invalid_grant");

    let mut by_email = base("password");
    by_email.extend([
        ("username", "alice@example.org".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("scope", "read write".to_owned()),
    ]);
    let token = grant(by_email).await;
    token.assert_status(StatusCode::OK);
    let token = token.json()["access_token"].as_str().unwrap().to_owned();
    app.get("/api/v1/accounts/verify_credentials").token(&token).send().await.assert_status(StatusCode::OK);

    let mut bad_secret = base("client_credentials");
    bad_secret[2].1 = "wrong".into();
    let refused = grant(bad_secret).await;
    refused.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_client");

    let app_token = grant(base("client_credentials")).await.json()["access_token"].as_str().unwrap().to_owned();
    let verify = app.get("/api/v1/apps/verify_credentials").token(&app_token).send().await;
    assert_eq!(verify.json()["name"], "test app");
    assert!(verify.json().get("client_secret").is_none());
    let needs_user = app.get("/api/v1/accounts/verify_credentials").token(&app_token).send().await;
    needs_user.assert_status(StatusCode::FORBIDDEN);

    let mut too_wide = base("client_credentials");
    too_wide.push(("scope", "admin:write".to_owned()));
    assert_eq!(grant(too_wide).await.json()["error"], "invalid_scope");
    assert_eq!(grant(base("refresh_token")).await.json()["error"], "unsupported_grant_type");

    let revoke = app
        .post("/oauth/revoke")
        .form(&[
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("token", token.as_str()),
        ])
        .send()
        .await;
    revoke.assert_status(StatusCode::OK);
    app.get("/api/v1/accounts/verify_credentials").token(&token).send().await.assert_status(StatusCode::UNAUTHORIZED);
}

async fn apps_are_validated(app: &TestApp) {
    let missing_name = app.post("/api/v1/apps").form(&[("redirect_uris", "urn:ietf:wg:oauth:2.0:oob")]).send().await;
    missing_name.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let bad_uri =
        app.post("/api/v1/apps").form(&[("client_name", "x"), ("redirect_uris", "javascript:alert(1)")]).send().await;
    assert_eq!(bad_uri.error_code(), "redirect_uri_invalid");
    let bad_scope = app
        .post("/api/v1/apps")
        .form(&[("client_name", "x"), ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"), ("scopes", "read everything")])
        .send()
        .await;
    assert_eq!(bad_scope.error_code(), "scope_invalid");
    let json_app = app
        .post("/api/v1/apps")
        .json(serde_json::json!({ "client_name": "json", "redirect_uris": ["https://a.example/cb", "urn:ietf:wg:oauth:2.0:oob"], "scopes": "read write:statuses" }))
        .send()
        .await;
    json_app.assert_status(StatusCode::OK);
    assert_eq!(json_app.json()["redirect_uris"].as_array().unwrap().len(), 2);
    assert_eq!(json_app.json()["scopes"], serde_json::json!(["read", "write:statuses"]));
}
