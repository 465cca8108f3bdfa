//! The web app's pages rendered on the server: what a reader without script
//! sees on each page, in which language, and the API used from a signed-in
//! browser (session cookie plus CSRF header).

use axum::http::StatusCode;

use crate::on_both_backends;
use crate::support::{PASSWORD, TestApp};
use crate::web::Browser;

on_both_backends!(
    browser_session_uses_the_api_with_a_csrf_header,
    pages_show_notes_comments_and_profiles,
    ui_language_follows_account_cookie_and_browser,
    private_notes_stay_private_on_pages,
    settings_save_and_log_out_everywhere,
);

/// Signs up through the form; the browser keeps the session and CSRF cookies.
async fn signed_up(app: &TestApp, username: &str, accept_language: &str) -> Browser {
    let mut browser = Browser::default();
    let page = app.get("/auth/sign_up").header("accept-language", accept_language).send().await;
    browser.absorb(&page);
    let csrf = browser.get("pengyou_csrf").unwrap();
    let response = app
        .post("/auth/sign_up")
        .header("cookie", &browser.header())
        .header("accept-language", accept_language)
        .form(&[("csrf_token", csrf.as_str()), ("username", username), ("password", PASSWORD), ("languages", "zh")])
        .send()
        .await;
    response.assert_status(StatusCode::SEE_OTHER);
    browser.absorb(&response);
    browser
}

impl Browser {
    /// Calls the API as the page script does: the session cookie and the CSRF header.
    async fn api(
        &self,
        app: &TestApp,
        method: &str,
        path: &str,
        json: Option<serde_json::Value>,
    ) -> crate::support::TestResponse {
        let method = method.parse().unwrap();
        let mut request = app
            .request(method, path)
            .header("cookie", &self.header())
            .header("x-csrf-token", &self.get("pengyou_csrf").unwrap());
        if let Some(json) = json {
            request = request.json(json);
        }
        request.send().await
    }
}

async fn browser_session_uses_the_api_with_a_csrf_header(app: &TestApp) {
    let mei = signed_up(app, "mei", "zh-CN").await;
    let me = app.get("/api/v1/accounts/verify_credentials").header("cookie", &mei.header()).send().await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json()["username"], "mei");

    let note = mei.api(app, "POST", "/api/v1/statuses", Some(serde_json::json!({"status": "你好 #测试"}))).await;
    note.assert_status(StatusCode::OK);
    let id = note.json()["id"].as_str().unwrap().to_owned();

    // Without the header (what a forged cross-site request would lack), nothing changes.
    let forged = app.post(&format!("/api/v1/statuses/{id}/favourite")).header("cookie", &mei.header()).send().await;
    forged.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(forged.json()["error_code"], "csrf_failed");
    let wrong = app
        .post(&format!("/api/v1/statuses/{id}/favourite"))
        .header("cookie", &mei.header())
        .header("x-csrf-token", "not-the-cookie-value-not-the-cookie-value")
        .send()
        .await;
    wrong.assert_status(StatusCode::FORBIDDEN);
    let status = app.json(&format!("/api/v1/statuses/{id}"), None).await;
    assert_eq!(status["favourites_count"], 0);

    let liked = mei.api(app, "POST", &format!("/api/v1/statuses/{id}/favourite"), None).await;
    liked.assert_status(StatusCode::OK);
    assert_eq!(liked.json()["favourites_count"], 1);
    // A browser session cannot administer the server.
    let scopes = app.get("/api/v1/apps/verify_credentials").header("cookie", &mei.header()).send().await;
    scopes.assert_status(StatusCode::OK);
    assert_eq!(scopes.json()["name"], "pengyou web");
}

async fn pages_show_notes_comments_and_profiles(app: &TestApp) {
    let mut mei = signed_up(app, "mei", "zh-CN").await;
    let mut sam = signed_up(app, "sam", "en-US").await;
    let photo = crate::media::png(800, 1000);
    let upload = app
        .post("/api/v2/media")
        .header("cookie", &mei.header())
        .header("x-csrf-token", &mei.get("pengyou_csrf").unwrap())
        .multipart(&[("description", "湖边")], Some(("file", "lake.png", "image/png", &photo)))
        .send()
        .await;
    upload.assert_status(StatusCode::OK);
    let media_id = upload.json()["id"].as_str().unwrap().to_owned();
    let note = mei
        .api(
            app,
            "POST",
            "/api/v1/statuses",
            Some(serde_json::json!({"title": "西湖 <b>秋天</b>", "status": "枫叶红了 #旅行 @sam", "media_ids": [media_id]})),
        )
        .await;
    note.assert_status(StatusCode::OK);
    let note = note.json();
    let id = note["id"].as_str().unwrap().to_owned();
    let path = format!("/@mei/{id}");
    let comment = sam
        .api(app, "POST", "/api/v1/statuses", Some(serde_json::json!({"status": "So pretty!", "in_reply_to_id": id})))
        .await
        .json();
    let reply = mei
        .api(
            app,
            "POST",
            "/api/v1/statuses",
            Some(serde_json::json!({"status": "谢谢", "in_reply_to_id": comment["id"]})),
        )
        .await;
    reply.assert_status(StatusCode::OK);
    app.run_jobs().await;
    app.state.discover.clear();

    // Discover: a card with the cover's size (for its aspect ratio) and its blurhash, escaped title.
    let discover = sam.open(app, "/").await;
    discover.assert_status(StatusCode::OK);
    assert!(discover.body.contains(&format!("href=\"{path}\"")), "the card links to the note page");
    assert!(discover.body.contains("西湖 &#60;b&#62;秋天&#60;/b&#62;"), "titles are escaped");
    assert!(discover.body.contains("data-blurhash=\"") && discover.body.contains("width=\"540\" height=\"675\""));
    assert!(!discover.body.contains("https://pengyou.test"), "pages link within the site only");
    let fragment = sam.open(app, "/?fragment=1").await;
    assert!(!fragment.body.contains("<html"), "the fragment is the cards alone");
    assert!(fragment.body.contains("data-card"));

    // The note page: photo with alt text, linked tag and mention, comment with its reply.
    let page = sam.open(app, &path).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("alt=\"湖边\""));
    assert!(
        page.body.contains("/tags/%E6%97%85%E8%A1%8C\" class=\"mention hashtag\" rel=\"tag\">#<span>旅行</span></a>"),
        "the tag is a link"
    );
    assert!(page.body.contains("/@sam\" class=\"u-url mention\""), "the mention is a link");
    assert!(page.body.contains("So pretty!") && page.body.contains("谢谢"));
    assert!(page.body.contains("data-follow="), "a follow button for the author");
    assert!(page.body.contains("lang=\"en\""), "the UI language is the browser's");
    // A comment's own link opens the note at the comment.
    let comment_id = comment["id"].as_str().unwrap();
    let jump = sam.open(app, &format!("/@sam/{comment_id}")).await;
    jump.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(jump.header("location").unwrap(), format!("{path}#comment-{comment_id}"));
    // More replies, as a fragment.
    let replies = sam.open(app, &format!("{path}/comments/{comment_id}/replies?fragment=1")).await;
    replies.assert_status(StatusCode::OK);
    assert!(replies.body.contains("谢谢"));
    // The wrong author name in the URL is not found.
    sam.open(app, &format!("/@sam/{id}")).await.assert_status(StatusCode::NOT_FOUND);

    // Profile, tag page and notifications.
    let profile = sam.open(app, "/@mei").await;
    assert!(profile.body.contains("@mei") && profile.body.contains(&path));
    let tag = sam
        .open(app, &format!("/tags/{}", url::form_urlencoded::byte_serialize("旅行".as_bytes()).collect::<String>()))
        .await;
    tag.assert_status(StatusCode::OK);
    assert!(tag.body.contains(&path));
    let notifications = mei.open(app, "/notifications").await;
    assert!(notifications.body.contains("评论了你的笔记"), "Mei's notifications are in Chinese");
    let again = mei.open(app, "/").await;
    assert!(!again.body.contains("data-unread"), "seeing the notifications clears the badge");
    sam.open(app, "/@nobody").await.assert_status(StatusCode::NOT_FOUND);
}

async fn ui_language_follows_account_cookie_and_browser(app: &TestApp) {
    let visitor = app.get("/").header("accept-language", "fr, zh-TW;q=0.8, en;q=0.5").send().await;
    assert!(visitor.body.contains("<html lang=\"zh-Hans\">"));
    assert!(visitor.body.contains("发现"));
    let english = app.get("/").header("accept-language", "en-GB").send().await;
    assert!(english.body.contains("<html lang=\"en\">"));

    // A visitor's choice is kept in a cookie.
    let mut browser = Browser::default();
    browser.open(app, "/").await;
    let switched = browser.submit(app, "/settings/language", &[("lang", "zh"), ("return_to", "/following")]).await;
    switched.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(switched.header("location").as_deref(), Some("/following"));
    assert!(browser.open(app, "/").await.body.contains("<html lang=\"zh-Hans\">"));

    // A member's choice is kept in their account, on every device.
    let mut mei = signed_up(app, "mei", "en-US").await;
    assert!(mei.open(app, "/").await.body.contains("<html lang=\"en\">"));
    mei.submit(app, "/settings/language", &[("lang", "zh")]).await.assert_status(StatusCode::SEE_OTHER);
    let account = app.store.account_by_username("mei").await.unwrap().unwrap();
    assert_eq!(account.ui_language.as_deref(), Some("zh"));
    let elsewhere =
        app.get("/").header("cookie", &format!("pengyou_session={}", mei.get("pengyou_session").unwrap())).send().await;
    assert!(elsewhere.body.contains("<html lang=\"zh-Hans\">"));
    // Counts are written the way each language writes them.
    assert_eq!(pengyou::web::i18n::count(12_345, pengyou::web::i18n::Lang::Zh), "1.2万");
    let bad = mei.submit(app, "/settings/language", &[("lang", "xx")]).await;
    bad.assert_status(StatusCode::BAD_REQUEST);
}

async fn private_notes_stay_private_on_pages(app: &TestApp) {
    let mei = signed_up(app, "mei", "zh-CN").await;
    let mut sam = signed_up(app, "sam", "en-US").await;
    let secret = mei
        .api(
            app,
            "POST",
            "/api/v1/statuses",
            Some(serde_json::json!({"status": "only followers", "visibility": "private"})),
        )
        .await
        .json();
    let path = format!("/@mei/{}", secret["id"].as_str().unwrap());
    sam.open(app, &path).await.assert_status(StatusCode::NOT_FOUND);
    app.get(&path).send().await.assert_status(StatusCode::NOT_FOUND);
    assert!(!sam.open(app, "/@mei").await.body.contains(&path));
    let mut mei = mei;
    mei.open(app, &path).await.assert_status(StatusCode::OK);
    // Pages that need a member send visitors to sign in and back.
    let compose = app.get("/compose").send().await;
    compose.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(compose.header("location").as_deref(), Some("/auth/sign_in?return_to=%2Fcompose"));
}

async fn settings_save_and_log_out_everywhere(app: &TestApp) {
    let mut mei = signed_up(app, "mei", "zh-CN").await;
    let settings = mei.open(app, "/settings").await;
    settings.assert_status(StatusCode::OK);
    assert!(settings.body.contains("当前浏览器"), "the session list marks this browser");
    let saved = mei
        .submit(
            app,
            "/settings/profile",
            &[
                ("display_name", "小美"),
                ("bio", "喜欢旅行"),
                ("languages[]", "zh"),
                ("languages[]", "en"),
                ("ui_language", "en"),
                ("locked", "true"),
            ],
        )
        .await;
    saved.assert_status(StatusCode::SEE_OTHER);
    let account = app.store.account_by_username("mei").await.unwrap().unwrap();
    assert_eq!((account.display_name.as_str(), account.bio.as_str()), ("小美", "喜欢旅行"));
    assert_eq!(account.languages, ["zh", "en"]);
    assert!(account.locked);
    assert_eq!(account.ui_language.as_deref(), Some("en"));
    let refused = mei.submit(app, "/settings/profile", &[("display_name", "x"), ("ui_language", "en")]).await;
    refused.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("data-code=\"languages_blank\""));

    // An app token and a second browser, then "log out everywhere".
    let (client_id, client_secret) = app.create_app("read", "urn:ietf:wg:oauth:2.0:oob").await;
    let token = app
        .post("/oauth/token")
        .form(&[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("username", "mei"),
            ("password", PASSWORD),
            ("scope", "read"),
        ])
        .send()
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut other = Browser::default();
    other.open(app, "/auth/sign_in").await;
    other
        .submit(app, "/auth/sign_in", &[("login", "mei"), ("password", PASSWORD)])
        .await
        .assert_status(StatusCode::SEE_OTHER);
    other.open(app, "/settings").await.assert_status(StatusCode::OK);
    mei.submit(app, "/settings/sessions/end_all", &[]).await.assert_status(StatusCode::SEE_OTHER);
    let after = app.get("/settings").header("cookie", &other.header()).send().await;
    after.assert_status(StatusCode::SEE_OTHER);
    app.get("/api/v1/accounts/verify_credentials").token(&token).send().await.assert_status(StatusCode::UNAUTHORIZED);
}
