//! The Mastodon-compatible API as clients use it: registration, accounts,
//! notes, visibility, pagination, errors and discovery documents.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    registration_rules,
    profile_and_credentials,
    notes_round_trip,
    limits_count_graphemes,
    idempotent_posting,
    visibility_is_enforced_everywhere,
    account_statuses_paginate_with_link_headers,
    bad_requests_change_nothing,
    discovery_documents,
);

async fn registration_rules(app: &TestApp) {
    let app_token = app.app_token("write").await;
    let register = |username: &'static str, password: &'static str, agreement: &'static str| {
        app.post("/api/v1/accounts").token(&app_token).form(&[
            ("username", username),
            ("email", "x@example.org"),
            ("password", password),
            ("agreement", agreement),
        ])
    };
    let weak = register("alice", "password1", "true").send().await;
    weak.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.error_code(), "password_too_weak");
    assert_eq!(weak.json()["details"]["password"][0]["error"], "ERR_INVALID");
    let short = register("alice", "a1!", "true").send().await;
    assert_eq!(short.error_code(), "password_too_short");
    let no_agreement = register("alice", "correct horse battery staple", "false").send().await;
    assert_eq!(no_agreement.error_code(), "agreement_required");
    let reserved = register("admin", "correct horse battery staple", "true").send().await;
    assert_eq!(reserved.error_code(), "username_reserved");
    let bad_name = app
        .post("/api/v1/accounts")
        .token(&app_token)
        .form(&[("username", "爱丽丝"), ("password", "correct horse battery staple"), ("agreement", "true")])
        .send()
        .await;
    assert_eq!(bad_name.error_code(), "username_invalid");
    assert_eq!(app.store.instance_stats().await.unwrap().accounts, 0, "refused sign-ups create nothing");

    register("alice", "correct horse battery staple", "true").send().await.assert_status(StatusCode::OK);
    let taken = app
        .post("/api/v1/accounts")
        .token(&app_token)
        .form(&[("username", "ALICE"), ("password", "correct horse battery staple 2"), ("agreement", "true")])
        .send()
        .await;
    taken.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(taken.json()["details"]["username"][0]["error"], "ERR_TAKEN");
    // Registration needs an app token.
    app.post("/api/v1/accounts").form(&[("username", "bob")]).send().await.assert_status(StatusCode::UNAUTHORIZED);
}

async fn profile_and_credentials(app: &TestApp) {
    let token = app.sign_up("alice").await;
    let me = app.get("/api/v1/accounts/verify_credentials").token(&token).send().await;
    me.assert_status(StatusCode::OK);
    let me = me.json();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["url"], "https://pengyou.test/@alice");
    assert!(me["id"].is_string(), "ids are strings");
    assert!(me["created_at"].as_str().unwrap().ends_with("T00:00:00Z"));
    assert_eq!(me["source"]["language"], "en");

    let updated = app
        .request(Method::PATCH, "/api/v1/accounts/update_credentials")
        .token(&token)
        .form(&[
            ("display_name", "爱丽丝 <b>"),
            ("note", "我读中文\nI read English"),
            ("languages[]", "zh"),
            ("languages[]", "en"),
        ])
        .send()
        .await;
    updated.assert_status(StatusCode::OK);
    let updated = updated.json();
    assert_eq!(updated["display_name"], "爱丽丝 <b>");
    assert_eq!(updated["note"], "<p>我读中文<br>I read English</p>");
    assert_eq!(updated["pengyou"]["languages"], json!(["zh", "en"]));

    let too_long = app
        .request(Method::PATCH, "/api/v1/accounts/update_credentials")
        .token(&token)
        .json(json!({ "display_name": "名".repeat(31) }))
        .send()
        .await;
    assert_eq!(too_long.error_code(), "display_name_too_long");

    let id = me["id"].as_str().unwrap();
    let public = app.get(&format!("/api/v1/accounts/{id}")).send().await;
    public.assert_status(StatusCode::OK);
    assert_eq!(public.json()["display_name"], "爱丽丝 <b>");
    assert!(public.json().get("source").is_none(), "other people do not see source");
    let found = app.get("/api/v1/accounts/lookup?acct=@ALICE@pengyou.test").send().await;
    assert_eq!(found.json()["id"], id);
    app.get("/api/v1/accounts/lookup?acct=nobody").send().await.assert_status(StatusCode::NOT_FOUND);
    app.get("/api/v1/accounts/123").send().await.assert_status(StatusCode::NOT_FOUND);
    app.get("/api/v1/accounts/not-a-number").send().await.assert_status(StatusCode::NOT_FOUND);
    app.get("/api/v1/accounts/verify_credentials").send().await.assert_status(StatusCode::UNAUTHORIZED);
    app.get("/api/v1/accounts/verify_credentials").token("forged").send().await.assert_status(StatusCode::UNAUTHORIZED);
}

async fn notes_round_trip(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    app.sign_up("bob").await;
    let note = app
        .post_note(
            &alice,
            &[
                ("status", "我家的猫 #猫咪，#cat 🐱 @bob @ghost https://example.com/a?b=1&c=2。"),
                ("title", "第一篇笔记"),
                ("spoiler_text", ""),
            ],
        )
        .await;
    assert_eq!(note["title"], "第一篇笔记");
    assert_eq!(note["language"], "zh", "language guessed from the text");
    assert_eq!(note["visibility"], "public");
    let tags: Vec<_> = note["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tags, ["猫咪", "cat"]);
    assert_eq!(note["mentions"][0]["acct"], "bob");
    assert_eq!(note["mentions"].as_array().unwrap().len(), 1, "unknown accounts are not mentions");
    let content = note["content"].as_str().unwrap();
    assert!(content.contains("class=\"mention hashtag\" rel=\"tag\">#<span>猫咪</span></a>，"), "{content}");
    assert!(content.contains("href=\"https://pengyou.test/@bob\""));
    assert!(content.contains("@ghost"));
    assert!(content.contains("href=\"https://example.com/a?b=1&amp;c=2\""));
    assert!(note["created_at"].as_str().unwrap().ends_with('Z'));

    let id = note["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/statuses/{id}")).send().await;
    read.assert_status(StatusCode::OK);
    assert_eq!(read.json()["content"], note["content"]);

    let edited = app
        .request(Method::PUT, &format!("/api/v1/statuses/{id}"))
        .token(&alice)
        .json(json!({ "status": "Edited in English #cat", "language": "en" }))
        .send()
        .await;
    edited.assert_status(StatusCode::OK);
    let edited = edited.json();
    assert_eq!(edited["title"], "第一篇笔记", "fields left out keep their values");
    assert_eq!(edited["language"], "en");
    assert!(edited["edited_at"].is_string());
    let history = app.get(&format!("/api/v1/statuses/{id}/history")).send().await.json();
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert!(history[0]["content"].as_str().unwrap().contains("我家的猫"));
    let source = app.get(&format!("/api/v1/statuses/{id}/source")).token(&alice).send().await.json();
    assert_eq!(source["text"], "Edited in English #cat");

    let bob = app.sign_up("carol").await;
    let not_yours = app.request(Method::DELETE, &format!("/api/v1/statuses/{id}")).token(&bob).send().await;
    not_yours.assert_status(StatusCode::FORBIDDEN);
    let deleted = app.request(Method::DELETE, &format!("/api/v1/statuses/{id}")).token(&alice).send().await;
    deleted.assert_status(StatusCode::OK);
    assert_eq!(deleted.json()["text"], "Edited in English #cat");
    app.get(&format!("/api/v1/statuses/{id}")).send().await.assert_status(StatusCode::NOT_FOUND);
}

async fn limits_count_graphemes(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    let title_64 = "猫".repeat(64);
    app.post_note(&alice, &[("status", "ok"), ("title", &title_64)]).await;
    let title_65 =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", "ok"), ("title", &"猫".repeat(65))]).send().await;
    title_65.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(title_65.error_code(), "title_too_long");
    assert!(title_65.json()["error"].as_str().unwrap().contains("64"));
    let body_2000 = "👍🏽".repeat(2000);
    app.post_note(&alice, &[("status", &body_2000)]).await;
    let body_2001 = app.post("/api/v1/statuses").token(&alice).form(&[("status", &"字".repeat(2001))]).send().await;
    assert_eq!(body_2001.error_code(), "body_too_long");
    let blank = app.post("/api/v1/statuses").token(&alice).form(&[("status", "  ")]).send().await;
    assert_eq!(blank.error_code(), "body_blank");
    assert_eq!(app.store.instance_stats().await.unwrap().notes, 2);
}

async fn idempotent_posting(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    let post = || {
        app.post("/api/v1/statuses")
            .token(&alice)
            .header("Idempotency-Key", "abc-123")
            .form(&[("status", "只发一次 once")])
            .send()
    };
    let (first, second) = tokio::join!(post(), post());
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(app.store.instance_stats().await.unwrap().notes, 1);
    let third = app
        .post("/api/v1/statuses")
        .token(&alice)
        .header("Idempotency-Key", "other")
        .form(&[("status", "x")])
        .send()
        .await;
    assert_ne!(third.json()["id"], first.json()["id"]);
}

async fn visibility_is_enforced_everywhere(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    let public = app.post_note(&alice, &[("status", "public")]).await;
    let private = app.post_note(&alice, &[("status", "followers only"), ("visibility", "private")]).await;
    let direct = app.post_note(&alice, &[("status", "@bob just you"), ("visibility", "direct")]).await;
    let only_me = app.post_note(&alice, &[("status", "only me"), ("visibility", "direct")]).await;
    let alice_id = public["account"]["id"].as_str().unwrap().to_owned();

    let sees = |token: Option<String>, note: serde_json::Value| {
        let path = format!("/api/v1/statuses/{}", note["id"].as_str().unwrap());
        async move {
            let request = app.get(&path);
            let request = match &token {
                Some(t) => request.token(t),
                None => request,
            };
            request.send().await.status == StatusCode::OK
        }
    };
    let alice_t = Some(alice.clone());
    let bob_t = Some(bob.clone());
    assert!(sees(None, public.clone()).await && sees(bob_t.clone(), public.clone()).await);
    assert!(sees(alice_t.clone(), private.clone()).await);
    assert!(
        !sees(None, private.clone()).await && !sees(bob_t.clone(), private.clone()).await,
        "bob does not follow alice"
    );
    assert!(sees(bob_t.clone(), direct.clone()).await, "a mentioned account sees a direct note");
    assert!(!sees(None, direct.clone()).await);
    assert!(!sees(bob_t.clone(), only_me.clone()).await && sees(alice_t.clone(), only_me.clone()).await);
    let history = app.get(&format!("/api/v1/statuses/{}/history", private["id"].as_str().unwrap())).send().await;
    history.assert_status(StatusCode::NOT_FOUND);

    let listed = |token: Option<String>| {
        let path = format!("/api/v1/accounts/{alice_id}/statuses");
        async move {
            let request = app.get(&path);
            let request = match &token {
                Some(t) => request.token(t),
                None => request,
            };
            request
                .send()
                .await
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["content"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None).await.len(), 1);
    assert_eq!(listed(bob_t).await.len(), 1);
    assert_eq!(listed(alice_t).await.len(), 4, "the author sees all of their notes");
}

async fn account_statuses_paginate_with_link_headers(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.post_note(&alice, &[("status", &format!("note {i}"))]).await["id"].as_str().unwrap().to_owned());
    }
    let me = app.get("/api/v1/accounts/verify_credentials").token(&alice).send().await.json();
    let path = format!("/api/v1/accounts/{}/statuses", me["id"].as_str().unwrap());
    let page = app.get(&format!("{path}?limit=2")).send().await;
    let got: Vec<_> = page.json().as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got, [ids[4].clone(), ids[3].clone()]);
    let link = page.header("link").unwrap();
    assert!(link.contains(&format!("max_id={}>; rel=\"next\"", ids[3])), "{link}");
    assert!(link.contains(&format!("min_id={}>; rel=\"prev\"", ids[4])), "{link}");
    let next = app.get(&format!("{path}?limit=2&max_id={}", ids[3])).send().await.json();
    assert_eq!(next[0]["id"], ids[2].as_str());
    let huge = app.get(&format!("{path}?limit=1000")).send().await.json();
    assert_eq!(huge.as_array().unwrap().len(), 5, "limit is capped, not refused");
    app.get(&format!("{path}?max_id=abc")).send().await.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(me["statuses_count"], 5);
}

async fn bad_requests_change_nothing(app: &TestApp) {
    let alice = app.sign_up("alice").await;
    let no_token = app.post("/api/v1/statuses").form(&[("status", "x")]).send().await;
    no_token.assert_status(StatusCode::UNAUTHORIZED);
    assert_eq!(no_token.json()["error"], "The access token is invalid");
    let bad_json = app.post("/api/v1/statuses").token(&alice).raw("{\"status\": ", "application/json").send().await;
    bad_json.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.error_code(), "invalid_json");
    let bad_visibility =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", "x"), ("visibility", "secret")]).send().await;
    assert_eq!(bad_visibility.error_code(), "visibility_invalid");
    let bad_language =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", "x"), ("language", "klingon")]).send().await;
    assert_eq!(bad_language.error_code(), "language_invalid");
    let media = app.post("/api/v1/statuses").token(&alice).form(&[("status", "x"), ("media_ids[]", "1")]).send().await;
    media.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_reply =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", "x"), ("in_reply_to_id", "42")]).send().await;
    unknown_reply.assert_status(StatusCode::NOT_FOUND);
    let too_big =
        app.post("/api/v1/statuses").token(&alice).form(&[("status", &"x".repeat(2 * 1024 * 1024))]).send().await;
    too_big.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.store.instance_stats().await.unwrap().notes, 0);

    // A read-only token cannot write.
    let (client_id, client_secret) = app.create_app("read write", "urn:ietf:wg:oauth:2.0:oob").await;
    let read_only = app
        .post("/oauth/token")
        .form(&[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("username", "alice"),
            ("password", crate::support::PASSWORD),
            ("scope", "read"),
        ])
        .send()
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app.post("/api/v1/statuses").token(&read_only).form(&[("status", "x")]).send().await;
    refused.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "insufficient_scope");
    app.get("/api/v1/nope").send().await.assert_status(StatusCode::NOT_FOUND);
}

async fn discovery_documents(app: &TestApp) {
    for path in ["/api/v1/instance", "/api/v1/instance/"] {
        let v1 = app.get(path).send().await;
        v1.assert_status(StatusCode::OK);
        let v1 = v1.json();
        assert_eq!(v1["version"], "4.3.0 (compatible; pengyou 0.1.0)");
        assert_eq!(v1["configuration"]["statuses"]["max_characters"], 2000);
        assert_eq!(v1["uri"], "pengyou.test");
    }
    let v2 = app.get("/api/v2/instance").send().await.json();
    assert_eq!(v2["domain"], "pengyou.test");
    assert_eq!(v2["configuration"]["media_attachments"]["image_matrix_limit"], 50_000_000);
    assert_eq!(v2["registrations"]["enabled"], true);
    assert_eq!(v2["api_versions"]["mastodon"], 2);
    let links = app.get("/.well-known/nodeinfo").send().await.json();
    assert_eq!(links["links"][0]["href"], "https://pengyou.test/nodeinfo/2.0");
    let nodeinfo = app.get("/nodeinfo/2.0").send().await.json();
    assert_eq!(nodeinfo["software"]["name"], "pengyou");
    assert_eq!(nodeinfo["metadata"]["upstream"]["name"], "mastodon");
    let oauth = app.get("/.well-known/oauth-authorization-server").send().await.json();
    assert_eq!(oauth["token_endpoint"], "https://pengyou.test/oauth/token");
    for grant in ["authorization_code", "password", "client_credentials"] {
        assert!(oauth["grant_types_supported"].as_array().unwrap().iter().any(|g| g == grant));
    }
    assert_eq!(oauth["code_challenge_methods_supported"], json!(["S256"]));
    let health = app.get("/healthz").send().await;
    health.assert_status(StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    let metrics = app.get("/metrics").send().await;
    metrics.assert_status(StatusCode::OK);
    assert!(metrics.body.contains("http_requests_total"), "{}", metrics.body);
    assert!(metrics.body.contains("route=\"/healthz\""));
}

/// Sign-ups beyond the per-address limit get 429 with Retry-After; a forged
/// `X-Forwarded-For` does not buy a fresh allowance unless a proxy is trusted.
#[tokio::test]
async fn signups_are_rate_limited_per_address() {
    use crate::support::{Backend, PASSWORD};
    for trust in [false, true] {
        let app = TestApp::with_config(Backend::Sqlite, |c| {
            c.signups_per_hour = 2;
            c.trust_forwarded_for = trust;
        })
        .await
        .unwrap();
        let app_token = app.app_token("write").await;
        let sign_up = |name: &'static str, forwarded: &'static str| {
            app.post("/api/v1/accounts")
                .token(&app_token)
                .header("x-forwarded-for", forwarded)
                .form(&[("username", name), ("password", PASSWORD), ("agreement", "true")])
                .send()
        };
        sign_up("user1", "198.51.100.1").await.assert_status(StatusCode::OK);
        sign_up("user2", "198.51.100.2").await.assert_status(StatusCode::OK);
        let third = sign_up("user3", "198.51.100.3").await;
        if trust {
            third.assert_status(StatusCode::OK);
            // The proxy's entry is the last one; what the client wrote before it is ignored.
            sign_up("user4", "203.0.113.7, 198.51.100.1").await.assert_status(StatusCode::OK);
            sign_up("user5", "203.0.113.8, 198.51.100.1").await.assert_status(StatusCode::TOO_MANY_REQUESTS);
        } else {
            third.assert_status(StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(third.error_code(), "rate_limited");
            assert!(third.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
            assert!(app.store.account_by_username("user3").await.unwrap().is_none());
        }
        app.cleanup().await;
    }
}
