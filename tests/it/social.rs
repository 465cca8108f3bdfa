//! The social core through the API: follows and requests, comments two levels
//! deep, likes, collects and boards, blocks and mutes, keyword filters,
//! notifications (one by one and grouped), the feeds and view counts.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    two_people_meet,
    locked_accounts_take_requests,
    comments_page_hot_and_new,
    boards_keep_private_collects_private,
    blocks_hide_both_ways_on_every_read_path,
    mutes_and_filters_shape_feeds,
    grouped_notifications_count_everyone,
    view_counts_absorb_repeats,
    deleting_a_note_takes_its_comments,
    discover_and_trends,
);

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

/// The "done means" walk: find each other, follow, comment back and forth,
/// like and collect, and see it all in feeds and notifications.
async fn two_people_meet(app: &TestApp) {
    let (alice, alice_id) = app.member("alice").await;
    let (bob, bob_id) = app.member("bob").await;
    let found = app.json("/api/v1/accounts/lookup?acct=alice", Some(&bob)).await;
    assert_eq!(found["id"], alice_id.as_str());

    let relation = app.act(&format!("/api/v1/accounts/{alice_id}/follow"), &bob).await;
    assert_eq!(relation["following"], true);
    assert_eq!(relation["requested"], false);
    let alice_now = app.json(&format!("/api/v1/accounts/{alice_id}"), None).await;
    assert_eq!(alice_now["followers_count"], 1);
    let relations = app.json(&format!("/api/v1/accounts/relationships?id[]={alice_id}&id[]=999"), Some(&bob)).await;
    assert_eq!(relations[0]["following"], true);
    assert_eq!(relations[1]["following"], false);
    let followers = app.json(&format!("/api/v1/accounts/{alice_id}/followers"), None).await;
    assert_eq!(ids(&followers), vec![bob_id.clone()]);
    let following = app.json(&format!("/api/v1/accounts/{bob_id}/following"), None).await;
    assert_eq!(ids(&following), vec![alice_id.clone()]);

    let note = app.post_note(&alice, &[("status", "今天的猫咪 #猫"), ("title", "猫")]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let home = app.json("/api/v1/timelines/home", Some(&bob)).await;
    assert_eq!(ids(&home), vec![note_id.clone()]);
    assert_eq!(ids(&app.json("/api/v1/timelines/home", Some(&alice)).await), vec![note_id.clone()]);

    // Bob comments, Alice replies to the comment, Bob answers the reply: still level two.
    let comment = app.post_note(&bob, &[("status", "So cute!"), ("in_reply_to_id", &note_id)]).await;
    let comment_id = comment["id"].as_str().unwrap().to_owned();
    assert_eq!(comment["pengyou"]["root_id"], note_id.as_str());
    assert_eq!(comment["pengyou"]["parent_comment_id"], Value::Null);
    let reply = app.post_note(&alice, &[("status", "谢谢!"), ("in_reply_to_id", &comment_id)]).await;
    let reply_id = reply["id"].as_str().unwrap().to_owned();
    assert_eq!(reply["pengyou"]["parent_comment_id"], comment_id.as_str());
    let answer = app.post_note(&bob, &[("status", "What is her name?"), ("in_reply_to_id", &reply_id)]).await;
    assert_eq!(answer["pengyou"]["parent_comment_id"], comment_id.as_str());
    assert_eq!(answer["in_reply_to_id"], reply_id.as_str());
    assert!(answer["content"].as_str().unwrap().contains("@alice"), "a reply to a reply addresses its author");
    app.run_jobs().await;

    // Comments stay out of the feeds; counts are on the note.
    assert_eq!(ids(&app.json("/api/v1/timelines/home", Some(&bob)).await), vec![note_id.clone()]);
    let shown = app.json(&format!("/api/v1/statuses/{note_id}"), Some(&bob)).await;
    assert_eq!(shown["replies_count"], 3);

    let liked = app.act(&format!("/api/v1/statuses/{note_id}/favourite"), &bob).await;
    assert_eq!(liked["favourited"], true);
    assert_eq!(liked["favourites_count"], 1);
    let again = app.act(&format!("/api/v1/statuses/{note_id}/favourite"), &bob).await;
    assert_eq!(again["favourites_count"], 1, "liking twice counts once");
    let collected = app.act(&format!("/api/v1/statuses/{note_id}/bookmark"), &bob).await;
    assert_eq!(collected["bookmarked"], true);
    assert_eq!(collected["pengyou"]["collects_count"], 1);
    app.act(&format!("/api/v1/statuses/{comment_id}/favourite"), &alice).await;
    assert_eq!(ids(&app.json("/api/v1/favourites", Some(&bob)).await), vec![note_id.clone()]);
    assert_eq!(ids(&app.json("/api/v1/bookmarks", Some(&bob)).await), vec![note_id.clone()]);
    let likers = app.json(&format!("/api/v1/statuses/{note_id}/favourited_by"), None).await;
    assert_eq!(ids(&likers), vec![bob_id.clone()]);

    // The comments page and the Mastodon context agree.
    let page = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments"), Some(&alice)).await;
    assert_eq!(page["comments"][0]["comment"]["id"], comment_id.as_str());
    assert_eq!(page["comments"][0]["comment"]["favourited"], true);
    assert_eq!(page["comments"][0]["replies_count"], 2);
    assert_eq!(page["comments"][0]["replies"].as_array().unwrap().len(), 2);
    let context = app.json(&format!("/api/v1/statuses/{note_id}/context"), None).await;
    assert_eq!(context["descendants"].as_array().unwrap().len(), 3);
    let context = app.json(&format!("/api/v1/statuses/{reply_id}/context"), None).await;
    assert_eq!(ids(&context["ancestors"]), vec![note_id.clone(), comment_id.clone()]);

    // Alice hears about the follow, the comment, the like and the collect; Bob about the replies.
    let notifications = app.json("/api/v1/notifications", Some(&alice)).await;
    let kinds: Vec<&str> =
        notifications.as_array().unwrap().iter().map(|n| n["pengyou"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["collect", "favourite", "reply", "comment", "follow"], "newest first");
    let types: Vec<&str> = notifications.as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["collect", "favourite", "mention", "mention", "follow"]);
    assert_eq!(notifications[1]["status"]["id"], note_id.as_str());
    assert_eq!(notifications[1]["account"]["id"], bob_id.as_str());
    let bobs = app.json("/api/v1/notifications?types[]=mention", Some(&bob)).await;
    let kinds: Vec<&str> = bobs.as_array().unwrap().iter().map(|n| n["pengyou"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["reply"], "Alice's reply to Bob's comment");
    let liked_comment = app.json("/api/v1/notifications?types[]=favourite", Some(&bob)).await;
    assert_eq!(liked_comment[0]["status"]["id"], comment_id.as_str());

    let unread = app.json("/api/v1/notifications/unread_count", Some(&alice)).await;
    assert_eq!(unread["count"], 5);
    let newest = notifications[0]["id"].as_str().unwrap();
    let marker =
        app.post("/api/v1/markers").token(&alice).form(&[("notifications[last_read_id]", newest)]).send().await;
    marker.assert_status(StatusCode::OK);
    assert_eq!(marker.json()["notifications"]["last_read_id"], newest);
    assert_eq!(app.json("/api/v2/notifications/unread_count", Some(&alice)).await["count"], 0);
    let markers = app.json("/api/v1/markers?timeline[]=notifications", Some(&alice)).await;
    assert_eq!(markers["notifications"]["last_read_id"], newest);

    // Undo it all.
    let unliked = app.act(&format!("/api/v1/statuses/{note_id}/unfavourite"), &bob).await;
    assert_eq!(unliked["favourites_count"], 0);
    let uncollected = app.act(&format!("/api/v1/statuses/{note_id}/unbookmark"), &bob).await;
    assert_eq!(uncollected["bookmarked"], false);
    assert_eq!(uncollected["pengyou"]["collects_count"], 0);
    app.act(&format!("/api/v1/accounts/{alice_id}/unfollow"), &bob).await;
    assert!(ids(&app.json("/api/v1/timelines/home", Some(&bob)).await).is_empty());
    assert_eq!(app.json(&format!("/api/v1/accounts/{alice_id}"), None).await["followers_count"], 0);
    let refused = app.post(&format!("/api/v1/accounts/{alice_id}/follow")).token(&alice).send().await;
    refused.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "self_action");
}

async fn locked_accounts_take_requests(app: &TestApp) {
    let (carol, carol_id) = app.member("carol").await;
    let (dave, dave_id) = app.member("dave").await;
    let (erin, erin_id) = app.member("erin").await;
    app.request(axum::http::Method::PATCH, "/api/v1/accounts/update_credentials")
        .token(&carol)
        .form(&[("locked", "true")])
        .send()
        .await
        .assert_status(StatusCode::OK);
    let secret = app.post_note(&carol, &[("status", "for followers"), ("visibility", "private")]).await;
    let secret_id = secret["id"].as_str().unwrap();

    let relation = app.act(&format!("/api/v1/accounts/{carol_id}/follow"), &dave).await;
    assert_eq!(relation["following"], false);
    assert_eq!(relation["requested"], true);
    app.act(&format!("/api/v1/accounts/{carol_id}/follow"), &erin).await;
    app.get(&format!("/api/v1/statuses/{secret_id}")).token(&dave).send().await.assert_status(StatusCode::NOT_FOUND);
    let requests = app.json("/api/v1/follow_requests", Some(&carol)).await;
    assert_eq!(ids(&requests), vec![erin_id.clone(), dave_id.clone()]);
    let kinds = app.json("/api/v1/notifications", Some(&carol)).await;
    assert_eq!(kinds[0]["type"], "follow_request");

    let accepted = app.act(&format!("/api/v1/follow_requests/{dave_id}/authorize"), &carol).await;
    assert_eq!(accepted["followed_by"], true);
    let rejected = app.act(&format!("/api/v1/follow_requests/{erin_id}/reject"), &carol).await;
    assert_eq!(rejected["followed_by"], false);
    assert_eq!(rejected["requested_by"], false);
    app.post(&format!("/api/v1/follow_requests/{erin_id}/authorize"))
        .token(&carol)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert!(ids(&app.json("/api/v1/follow_requests", Some(&carol)).await).is_empty());
    // Accepted: the follower sees followers-only notes, in the home feed too (backfilled).
    app.json(&format!("/api/v1/statuses/{secret_id}"), Some(&dave)).await;
    assert_eq!(ids(&app.json("/api/v1/timelines/home", Some(&dave)).await), vec![secret_id.to_owned()]);
    app.get(&format!("/api/v1/statuses/{secret_id}")).token(&erin).send().await.assert_status(StatusCode::NOT_FOUND);
    let notifications = app.json("/api/v1/notifications", Some(&carol)).await;
    let kinds: Vec<&str> = notifications.as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["follow"], "answered requests leave the notifications");
}

async fn comments_page_hot_and_new(app: &TestApp) {
    let (author, _) = app.member("author").await;
    let (fan, _) = app.member("fan").await;
    let note = app.post_note(&author, &[("status", "comment on this")]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let mut comment_ids = Vec::new();
    for i in 0..25 {
        let comment = app.post_note(&fan, &[("status", &format!("comment {i}")), ("in_reply_to_id", &note_id)]).await;
        comment_ids.push(comment["id"].as_str().unwrap().to_owned());
    }
    // Comment 3 gets two likes, comment 7 one.
    app.act(&format!("/api/v1/statuses/{}/favourite", comment_ids[3]), &author).await;
    app.act(&format!("/api/v1/statuses/{}/favourite", comment_ids[3]), &fan).await;
    app.act(&format!("/api/v1/statuses/{}/favourite", comment_ids[7]), &author).await;
    for i in 0..5 {
        app.post_note(&author, &[("status", &format!("reply {i}")), ("in_reply_to_id", &comment_ids[3])]).await;
    }

    let hot = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments?limit=10"), None).await;
    let first: Vec<&str> =
        hot["comments"].as_array().unwrap().iter().map(|c| c["comment"]["id"].as_str().unwrap()).collect();
    assert_eq!(first[0], comment_ids[3]);
    assert_eq!(first[1], comment_ids[7]);
    assert_eq!(first[2], comment_ids[24], "then newest first");
    assert_eq!(hot["comments"][0]["replies"].as_array().unwrap().len(), 3, "first replies only");
    assert_eq!(hot["comments"][0]["replies_count"], 5);
    let mut seen: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    let mut cursor = hot["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments?limit=10&cursor={cursor}"), None).await;
        seen.extend(
            page["comments"].as_array().unwrap().iter().map(|c| c["comment"]["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "every comment exactly once across pages");

    let newest = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments?sort=new&limit=2"), None).await;
    assert_eq!(newest["comments"][0]["comment"]["id"], comment_ids[24].as_str());
    let replies = app.json(&format!("/api/v1/pengyou/comments/{}/replies?limit=4", comment_ids[3]), None).await;
    assert_eq!(replies["replies"].as_array().unwrap().len(), 4);
    let rest = app
        .json(
            &format!(
                "/api/v1/pengyou/comments/{}/replies?cursor={}",
                comment_ids[3],
                replies["next_cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(rest["replies"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);

    // The author pins a comment: it comes first; nobody else may pin.
    let pin = app
        .post(&format!("/api/v1/pengyou/notes/{note_id}/pin_comment"))
        .token(&fan)
        .form(&[("comment_id", &comment_ids[0])])
        .send()
        .await;
    pin.assert_status(StatusCode::FORBIDDEN);
    let pinned = app
        .post(&format!("/api/v1/pengyou/notes/{note_id}/pin_comment"))
        .token(&author)
        .form(&[("comment_id", &comment_ids[0])])
        .send()
        .await;
    pinned.assert_status(StatusCode::OK);
    assert_eq!(pinned.json()["pengyou"]["pinned_comment_id"], comment_ids[0].as_str());
    let hot = app.json(&format!("/api/v1/pengyou/notes/{note_id}/comments"), None).await;
    assert_eq!(hot["comments"][0]["comment"]["id"], comment_ids[0].as_str());
    assert_eq!(hot["comments"][0]["pinned"], true);
    let bad = app.get(&format!("/api/v1/pengyou/notes/{note_id}/comments?sort=loud")).send().await;
    assert_eq!(bad.error_code(), "invalid_sort");
    let bad = app.get(&format!("/api/v1/pengyou/notes/{note_id}/comments?cursor=zz")).send().await;
    assert_eq!(bad.error_code(), "invalid_cursor");
}

async fn boards_keep_private_collects_private(app: &TestApp) {
    let (owner, owner_id) = app.member("owner").await;
    let (other, _) = app.member("other").await;
    let note = app.post_note(&other, &[("status", "worth keeping")]).await;
    let note_id = note["id"].as_str().unwrap();
    let secret =
        app.post("/api/v1/pengyou/boards").token(&owner).form(&[("name", "私藏"), ("public", "false")]).send().await;
    secret.assert_status(StatusCode::OK);
    let secret_id = secret.json()["id"].as_str().unwrap().to_owned();
    let shown = app
        .post(&format!("/api/v1/pengyou/notes/{note_id}/collect"))
        .token(&owner)
        .form(&[("board_id", &secret_id)])
        .send()
        .await;
    shown.assert_status(StatusCode::OK);
    assert_eq!(shown.json()["pengyou"]["board_id"], secret_id.as_str());
    assert_eq!(shown.json()["pengyou"]["collects_count"], 1);

    let mine = app.json("/api/v1/pengyou/boards", Some(&owner)).await;
    let names: Vec<&str> = mine.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Collected", "私藏"], "the default board exists and comes first");
    assert_eq!(mine[1]["notes_count"], 1);
    let notes = app.json(&format!("/api/v1/pengyou/boards/{secret_id}/notes"), Some(&owner)).await;
    assert_eq!(ids(&notes), vec![note_id.to_owned()]);
    // Anyone else: the private board does not exist.
    app.get(&format!("/api/v1/pengyou/boards/{secret_id}/notes"))
        .token(&other)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/pengyou/boards/{secret_id}/notes")).send().await.assert_status(StatusCode::NOT_FOUND);
    let public = app.json(&format!("/api/v1/pengyou/accounts/{owner_id}/boards"), Some(&other)).await;
    assert!(public.as_array().unwrap().is_empty(), "the default board is private, like the secret one");

    let renamed = app
        .request(axum::http::Method::PATCH, &format!("/api/v1/pengyou/boards/{secret_id}"))
        .token(&owner)
        .form(&[("name", "猫"), ("public", "true")])
        .send()
        .await;
    renamed.assert_status(StatusCode::OK);
    assert_eq!(renamed.json()["public"], true);
    app.json(&format!("/api/v1/pengyou/boards/{secret_id}/notes"), Some(&other)).await;
    let blank = app.post("/api/v1/pengyou/boards").token(&owner).form(&[("name", "  ")]).send().await;
    assert_eq!(blank.error_code(), "board_name_blank");
    // Deleting a board keeps its notes collected, in the default board.
    app.request(axum::http::Method::DELETE, &format!("/api/v1/pengyou/boards/{secret_id}"))
        .token(&owner)
        .send()
        .await
        .assert_status(StatusCode::OK);
    let kept = app.json(&format!("/api/v1/statuses/{note_id}"), Some(&owner)).await;
    assert_eq!(kept["bookmarked"], true);
    let default_id = mine[0]["id"].as_str().unwrap();
    assert_eq!(kept["pengyou"]["board_id"], default_id);
    let gone = app
        .request(axum::http::Method::DELETE, &format!("/api/v1/pengyou/boards/{default_id}"))
        .token(&owner)
        .send()
        .await;
    assert_eq!(gone.error_code(), "default_board");
}

/// Walks every read path as the author, a follower, a stranger, a blocked account
/// and a logged-out visitor, and checks each sees exactly what they may.
async fn blocks_hide_both_ways_on_every_read_path(app: &TestApp) {
    let (author, author_id) = app.member("writer").await;
    let (follower, _) = app.member("reader").await;
    let (stranger, _) = app.member("stranger").await;
    let (blocked, blocked_id) = app.member("troll").await;
    app.act(&format!("/api/v1/accounts/{author_id}/follow"), &follower).await;
    app.act(&format!("/api/v1/accounts/{author_id}/follow"), &blocked).await;
    let public = app.post_note(&author, &[("status", "public #walk")]).await["id"].as_str().unwrap().to_owned();
    let followers = app.post_note(&author, &[("status", "followers #walk"), ("visibility", "private")]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let only_me = app.post_note(&author, &[("status", "only me #walk"), ("visibility", "direct")]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let troll_comment = app.post_note(&blocked, &[("status", "first!"), ("in_reply_to_id", &public)]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.act(&format!("/api/v1/statuses/{public}/favourite"), &blocked).await;
    app.act(&format!("/api/v1/accounts/{blocked_id}/block"), &author).await;
    app.run_jobs().await;

    struct Reader<'a> {
        name: &'a str,
        token: Option<&'a str>,
        expect: Vec<&'a String>,
    }
    let readers = [
        Reader { name: "author", token: Some(&author), expect: vec![&only_me, &followers, &public] },
        Reader { name: "follower", token: Some(&follower), expect: vec![&followers, &public] },
        Reader { name: "stranger", token: Some(&stranger), expect: vec![&public] },
        Reader { name: "blocked", token: Some(&blocked), expect: vec![] },
        Reader { name: "anonymous", token: None, expect: vec![&public] },
    ];
    for reader in &readers {
        let expect: Vec<String> = reader.expect.iter().map(|s| s.to_string()).collect();
        let profile = app.get(&format!("/api/v1/accounts/{author_id}/statuses")).token_opt(reader.token).send().await;
        if reader.name == "blocked" {
            profile.assert_status(StatusCode::NOT_FOUND);
        } else {
            assert_eq!(ids(&profile.json()), expect, "profile as {}", reader.name);
        }
        for id in [&public, &followers, &only_me] {
            let status = app.get(&format!("/api/v1/statuses/{id}")).token_opt(reader.token).send().await;
            let visible = expect.contains(id);
            assert_eq!(status.status == StatusCode::OK, visible, "status {id} as {}", reader.name);
            let context = app.get(&format!("/api/v1/statuses/{id}/context")).token_opt(reader.token).send().await;
            assert_eq!(context.status == StatusCode::OK, visible, "context {id} as {}", reader.name);
            let comments =
                app.get(&format!("/api/v1/pengyou/notes/{id}/comments")).token_opt(reader.token).send().await;
            assert_eq!(comments.status == StatusCode::OK, visible, "comments {id} as {}", reader.name);
        }
        let tag = app.get("/api/v1/timelines/tag/walk").token_opt(reader.token).send().await;
        let public_only: Vec<String> = expect.iter().filter(|id| **id == public).cloned().collect();
        assert_eq!(ids(&tag.json()), public_only, "tag feed as {}", reader.name);
        let local = app.get("/api/v1/timelines/public").token_opt(reader.token).send().await;
        assert_eq!(ids(&local.json()), public_only, "public feed as {}", reader.name);
        let discover = app.get("/api/v1/pengyou/discover").token_opt(reader.token).send().await;
        assert_eq!(ids(&discover.json()), public_only, "discover as {}", reader.name);
        if let Some(token) = reader.token {
            let home = app.json("/api/v1/timelines/home", Some(token)).await;
            let want: Vec<String> = match reader.name {
                "author" => expect.iter().filter(|id| **id != only_me).cloned().collect(),
                "follower" => expect.clone(),
                _ => Vec::new(),
            };
            assert_eq!(ids(&home), want, "home as {}", reader.name);
        }
    }
    // The block removed the troll's follow, and hides the troll from the author's reads.
    let comments = app.json(&format!("/api/v1/pengyou/notes/{public}/comments"), Some(&author)).await;
    assert!(comments["comments"].as_array().unwrap().is_empty(), "blocked account's comment is hidden");
    let context = app.json(&format!("/api/v1/statuses/{public}/context"), Some(&author)).await;
    assert!(!ids(&context["descendants"]).contains(&troll_comment));
    let likers = app.json(&format!("/api/v1/statuses/{public}/favourited_by"), Some(&author)).await;
    assert!(ids(&likers).is_empty());
    let notifications = app.json("/api/v1/notifications", Some(&author)).await;
    assert!(notifications.as_array().unwrap().iter().all(|n| n["account"]["id"] != blocked_id.as_str()));
    let grouped = app.json("/api/v2/notifications", Some(&author)).await;
    assert!(grouped["accounts"].as_array().unwrap().iter().all(|a| a["id"] != blocked_id.as_str()));
    let relation = app.json(&format!("/api/v1/accounts/relationships?id[]={blocked_id}"), Some(&author)).await;
    assert_eq!(relation[0]["blocking"], true);
    assert_eq!(relation[0]["followed_by"], false);
    assert_eq!(ids(&app.json("/api/v1/blocks", Some(&author)).await), vec![blocked_id.clone()]);
    // The blocked account cannot act on the author's notes, or follow again.
    app.post(&format!("/api/v1/statuses/{public}/favourite"))
        .token(&blocked)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let comment = app
        .post("/api/v1/statuses")
        .token(&blocked)
        .form(&[("status", "hey"), ("in_reply_to_id", &public)])
        .send()
        .await;
    comment.assert_status(StatusCode::NOT_FOUND);
    app.post(&format!("/api/v1/accounts/{author_id}/follow"))
        .token(&blocked)
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/accounts/{author_id}")).token(&blocked).send().await.assert_status(StatusCode::NOT_FOUND);
    // Unblocking restores public reads.
    app.act(&format!("/api/v1/accounts/{blocked_id}/unblock"), &author).await;
    app.json(&format!("/api/v1/statuses/{public}"), Some(&blocked)).await;
}

async fn mutes_and_filters_shape_feeds(app: &TestApp) {
    let (reader, _) = app.member("quiet").await;
    let (loud, loud_id) = app.member("loud").await;
    let (calm, calm_id) = app.member("calm").await;
    app.act(&format!("/api/v1/accounts/{loud_id}/follow"), &reader).await;
    app.act(&format!("/api/v1/accounts/{calm_id}/follow"), &reader).await;
    let shouting = app.post_note(&loud, &[("status", "BUY NOW")]).await["id"].as_str().unwrap().to_owned();
    let spoiler = app.post_note(&calm, &[("status", "The ending of the 电影 was a twist")]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = app.post_note(&calm, &[("status", "Lunch: 拉面")]).await["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    assert_eq!(
        ids(&app.json("/api/v1/timelines/home", Some(&reader)).await),
        vec![plain.clone(), spoiler.clone(), shouting.clone()]
    );

    let muted = app
        .post(&format!("/api/v1/accounts/{loud_id}/mute"))
        .token(&reader)
        .form(&[("notifications", "true")])
        .send()
        .await;
    assert_eq!(muted.json()["muting"], true);
    assert_eq!(ids(&app.json("/api/v1/timelines/home", Some(&reader)).await), vec![plain.clone(), spoiler.clone()]);
    assert_eq!(ids(&app.json("/api/v1/mutes", Some(&reader)).await), vec![loud_id.clone()]);
    // Muted, not blocked: the note itself still opens.
    app.json(&format!("/api/v1/statuses/{shouting}"), Some(&reader)).await;

    let warn = app
        .post("/api/v2/filters")
        .token(&reader)
        .json(json!({"title": "Spoilers", "context": ["home"], "filter_action": "warn",
                      "keywords_attributes": [{"keyword": "电影", "whole_word": true}]}))
        .send()
        .await;
    warn.assert_status(StatusCode::OK);
    let home = app.json("/api/v1/timelines/home", Some(&reader)).await;
    assert_eq!(home[1]["id"], spoiler.as_str());
    assert_eq!(home[1]["filtered"][0]["keyword_matches"][0], "电影");
    assert_eq!(home[0]["filtered"], json!([]));
    let hide = app
        .post("/api/v2/filters")
        .token(&reader)
        .form(&[
            ("title", "Food"),
            ("context[]", "home"),
            ("filter_action", "hide"),
            ("keywords_attributes[][keyword]", "lunch"),
        ])
        .send()
        .await;
    hide.assert_status(StatusCode::OK);
    let hide_id = hide.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&app.json("/api/v1/timelines/home", Some(&reader)).await), vec![spoiler.clone()]);
    // Filters apply per context: the public feed is untouched.
    let public = app.json("/api/v1/timelines/public", Some(&reader)).await;
    assert!(ids(&public).contains(&plain));
    assert_eq!(app.json("/api/v2/filters", Some(&reader)).await.as_array().unwrap().len(), 2);
    let bad =
        app.post("/api/v2/filters").token(&reader).json(json!({"title": "x", "context": ["everywhere"]})).send().await;
    assert_eq!(bad.error_code(), "context_invalid");
    app.request(axum::http::Method::DELETE, &format!("/api/v2/filters/{hide_id}"))
        .token(&reader)
        .send()
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(app.json("/api/v1/timelines/home", Some(&reader)).await.as_array().unwrap().len(), 2);
    app.act(&format!("/api/v1/accounts/{loud_id}/unmute"), &reader).await;
    assert_eq!(app.json("/api/v1/timelines/home", Some(&reader)).await.as_array().unwrap().len(), 3);
}

async fn grouped_notifications_count_everyone(app: &TestApp) {
    let (star, star_id) = app.member("star").await;
    let note = app.post_note(&star, &[("status", "group me")]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let mut fans = Vec::new();
    for i in 0..5 {
        let (fan, _) = app.member(&format!("fan{i}")).await;
        app.act(&format!("/api/v1/statuses/{note_id}/favourite"), &fan).await;
        app.act(&format!("/api/v1/accounts/{star_id}/follow"), &fan).await;
        fans.push(fan);
    }
    app.post_note(&fans[0], &[("status", "hello @star")]).await;
    app.run_jobs().await;
    let grouped = app.json("/api/v2/notifications", Some(&star)).await;
    let groups = grouped["notification_groups"].as_array().unwrap();
    let likes = groups.iter().find(|g| g["type"] == "favourite").unwrap();
    assert_eq!(likes["notifications_count"], 5);
    assert_eq!(likes["sample_account_ids"].as_array().unwrap().len(), 3);
    assert_eq!(likes["status_id"], note_id.as_str());
    let follows = groups.iter().find(|g| g["type"] == "follow").unwrap();
    assert_eq!(follows["notifications_count"], 5);
    assert_eq!(groups[0]["type"], "mention", "the newest activity comes first");
    assert_eq!(groups.len(), 3);
    assert!(grouped["statuses"].as_array().unwrap().iter().any(|s| s["id"] == note_id.as_str()));
    assert!(grouped["accounts"].as_array().unwrap().len() >= 3);
    // One by one there are eleven; paging by two walks them all.
    let mut seen = 0;
    let mut path = "/api/v1/notifications?limit=2".to_owned();
    loop {
        let page = app.get(&path).token(&star).send().await;
        let count = page.json().as_array().unwrap().len();
        if count == 0 {
            break;
        }
        seen += count;
        let link = page.header("link").unwrap();
        path = link.split('<').nth(1).unwrap().split('>').next().unwrap().replace("https://pengyou.test", "");
    }
    assert_eq!(seen, 11);
    let dismissed = app
        .post(&format!("/api/v2/notifications/{}/dismiss", likes["group_key"].as_str().unwrap()))
        .token(&star)
        .send()
        .await;
    dismissed.assert_status(StatusCode::OK);
    let grouped = app.json("/api/v2/notifications", Some(&star)).await;
    assert_eq!(grouped["notification_groups"].as_array().unwrap().len(), 2);
    app.act("/api/v1/notifications/clear", &star).await;
    assert!(app.json("/api/v1/notifications", Some(&star)).await.as_array().unwrap().is_empty());
}

async fn view_counts_absorb_repeats(app: &TestApp) {
    let (author, _) = app.member("viewed").await;
    let (reader, _) = app.member("viewer").await;
    let note = app.post_note(&author, &[("status", "look at me")]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        app.json(&format!("/api/v1/statuses/{note_id}"), Some(&reader)).await;
    }
    app.json(&format!("/api/v1/statuses/{note_id}"), Some(&author)).await;
    let anonymous = app.json(&format!("/api/v1/statuses/{note_id}"), None).await;
    assert_eq!(anonymous["pengyou"]["views_count"], 3, "once per viewer per hour, counted before it is written");
    let stored = app.store.note_by_id(note_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.note.views_count, 0, "absorbed in memory");
    app.state.views.flush(app.store.as_ref()).await.unwrap();
    let stored = app.store.note_by_id(note_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.note.views_count, 3);
    assert_eq!(app.json(&format!("/api/v1/statuses/{note_id}"), None).await["pengyou"]["views_count"], 3);
}

async fn deleting_a_note_takes_its_comments(app: &TestApp) {
    let (author, author_id) = app.member("deleter").await;
    let (fan, fan_id) = app.member("commenter").await;
    let note = app.post_note(&author, &[("status", "short-lived")]).await;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let comment = app.post_note(&fan, &[("status", "nice"), ("in_reply_to_id", &note_id)]).await;
    let comment_id = comment["id"].as_str().unwrap().to_owned();
    app.post_note(&author, &[("status", "thanks"), ("in_reply_to_id", &comment_id)]).await;
    app.post_note(&fan, &[("status", "np"), ("in_reply_to_id", &comment_id)]).await;
    assert_eq!(app.json(&format!("/api/v1/accounts/{fan_id}"), None).await["statuses_count"], 2);
    // Deleting the comment takes its replies and lowers the note's count.
    app.request(axum::http::Method::DELETE, &format!("/api/v1/statuses/{comment_id}"))
        .token(&fan)
        .send()
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(app.json(&format!("/api/v1/statuses/{note_id}"), None).await["replies_count"], 0);
    assert_eq!(app.json(&format!("/api/v1/accounts/{fan_id}"), None).await["statuses_count"], 0);
    assert_eq!(app.json(&format!("/api/v1/accounts/{author_id}"), None).await["statuses_count"], 1);
    app.post_note(&fan, &[("status", "again"), ("in_reply_to_id", &note_id)]).await;
    app.request(axum::http::Method::DELETE, &format!("/api/v1/statuses/{note_id}"))
        .token(&author)
        .send()
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(app.json(&format!("/api/v1/accounts/{fan_id}"), None).await["statuses_count"], 0);
    app.run_jobs().await;
    assert!(app.json("/api/v1/notifications", Some(&author)).await.as_array().unwrap().is_empty());
}

async fn discover_and_trends(app: &TestApp) {
    let (writer, _) = app.member("trendy").await;
    let (reader, _) = app.member("browser").await;
    let quiet = app.post_note(&writer, &[("status", "quiet note #daily")]).await["id"].as_str().unwrap().to_owned();
    let popular =
        app.post_note(&writer, &[("status", "popular note #daily #cats")]).await["id"].as_str().unwrap().to_owned();
    let chinese = app.post_note(&writer, &[("status", "今天天气很好，我们去公园散步吧")]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.act(&format!("/api/v1/statuses/{quiet}/favourite"), &reader).await;
    app.act(&format!("/api/v1/statuses/{popular}/favourite"), &reader).await;
    app.act(&format!("/api/v1/statuses/{popular}/bookmark"), &reader).await;
    app.state.discover.clear();
    let feed = app.json("/api/v1/pengyou/discover?seed=1", Some(&reader)).await;
    let order = ids(&feed);
    assert_eq!(order.len(), 3);
    assert_eq!(order[0], popular, "the most engaged note leads");
    assert_eq!(order, ids(&app.json("/api/v1/pengyou/discover?seed=1", Some(&reader)).await), "same seed, same order");
    assert_eq!(ids(&app.json("/api/v1/trends/statuses?seed=1", Some(&reader)).await), order);
    assert!(order.contains(&chinese), "the cross-border share brings in notes in other languages");
    let paged = app.json("/api/v1/pengyou/discover?seed=1&offset=1&limit=1", Some(&reader)).await;
    assert_eq!(ids(&paged), vec![order[1].clone()]);
    // Only admins see the score parts.
    let refused = app.get("/api/v1/pengyou/discover?explain=true").token(&reader).send().await;
    refused.assert_status(StatusCode::FORBIDDEN);
    let tags = app.json("/api/v1/trends/tags", None).await;
    assert_eq!(tags[0]["name"], "daily");
    assert_eq!(tags[0]["history"][0]["uses"], "2");
    let followed = app.act("/api/v1/tags/%E7%8C%AB/follow", &reader).await;
    assert_eq!(followed["following"], true);
    assert_eq!(app.json("/api/v1/followed_tags", Some(&reader)).await[0]["name"], "猫");
    app.get("/api/v1/tags/not%20a%20tag").send().await.assert_status(StatusCode::NOT_FOUND);
}
