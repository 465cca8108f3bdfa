//! The store conformance suite: the same behaviour, checked on SQLite and PostgreSQL.

use pengyou_store::*;

use crate::on_both_backends;
use crate::support::TestApp;

on_both_backends!(
    accounts_are_unique_case_insensitively,
    sessions_expire_and_end,
    auth_codes_work_once_and_tokens_revoke,
    notes_keep_tags_mentions_and_history,
    idempotency_keys_create_one_note,
    account_notes_paginate_and_filter,
    deleting_a_note_removes_everything,
    job_queue_leases_retries_and_buries,
    fan_out_walks_followers_in_batches,
    relationships_and_counters_stay_true,
);

fn new_account(username: &str, email: Option<&str>) -> NewAccount {
    NewAccount {
        username: username.into(),
        display_name: username.into(),
        email: email.map(str::to_owned),
        password_hash: "$argon2id$placeholder".into(),
        languages: vec!["zh".into(), "en".into()],
        ui_language: Some("zh".into()),
        is_admin: false,
    }
}

fn new_note(author: AccountId, body: &str) -> NewNote {
    NewNote {
        account_id: author,
        title: Some("标题".into()),
        body: body.into(),
        content_html: format!("<p>{body}</p>"),
        language: Some("zh".into()),
        visibility: Visibility::Public,
        spoiler_text: String::new(),
        sensitive: false,
        in_reply_to_id: None,
        tags: Vec::new(),
        mention_ids: Vec::new(),
        media_ids: Vec::new(),
        idempotency_key: None,
    }
}

async fn accounts_are_unique_case_insensitively(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("Alice", Some("alice@example.org"))).await.unwrap();
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.languages, ["zh", "en"]);
    assert!(matches!(
        store.create_account(new_account("alice", None)).await,
        Err(StoreError::Conflict("username_taken"))
    ));
    assert!(matches!(
        store.create_account(new_account("alice2", Some("alice@example.org"))).await,
        Err(StoreError::Conflict("email_taken"))
    ));
    assert_eq!(store.account_by_username("ALICE").await.unwrap().unwrap().id, alice.id);
    assert_eq!(store.account_by_id(alice.id).await.unwrap().unwrap(), alice);
    let by_email = store.credentials_by_login("Alice@Example.org").await.unwrap().unwrap();
    assert_eq!(by_email.account.id, alice.id);
    assert_eq!(by_email.password_hash, "$argon2id$placeholder");
    assert_eq!(store.credentials_by_login("alice").await.unwrap().unwrap().account.id, alice.id);
    assert!(store.credentials_by_login("nobody").await.unwrap().is_none());

    let updated = store
        .update_account(
            alice.id,
            AccountUpdate {
                bio: Some("你好".into()),
                languages: Some(vec!["en".into()]),
                ui_language: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.bio.as_str(), updated.languages.clone(), updated.ui_language.clone()),
        ("你好", vec!["en".to_owned()], None)
    );
    assert_eq!(updated.display_name, "Alice");
    assert_eq!(store.account_by_id(alice.id).await.unwrap().unwrap(), updated);
    assert!(matches!(store.update_account(AccountId(1), AccountUpdate::default()).await, Err(StoreError::NotFound)));

    let found = store.accounts_by_usernames(&["ALICE".into(), "ghost".into()]).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(store.instance_stats().await.unwrap(), InstanceStats { accounts: 1, notes: 0 });
}

async fn sessions_expire_and_end(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let now = now_ms();
    let session = |hash: &[u8], expires_at| NewSession {
        token_hash: hash.to_vec(),
        account_id: alice.id,
        user_agent: Some("test".into()),
        created_at: now,
        expires_at,
    };
    store.create_session(session(b"live", now + 60_000)).await.unwrap();
    store.create_session(session(b"old", now - 1)).await.unwrap();
    assert_eq!(store.session_by_token(b"live", now).await.unwrap().unwrap().account.id, alice.id);
    assert!(store.session_by_token(b"old", now).await.unwrap().is_none());
    assert!(store.session_by_token(b"unknown", now).await.unwrap().is_none());
    store.delete_session(b"live").await.unwrap();
    assert!(store.session_by_token(b"live", now).await.unwrap().is_none());
}

async fn auth_codes_work_once_and_tokens_revoke(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let new_app = |id: &str| NewApp {
        client_id: id.into(),
        secret_hash: vec![1, 2, 3],
        name: "app".into(),
        website: None,
        redirect_uris: vec!["https://a.example/cb".into(), "urn:ietf:wg:oauth:2.0:oob".into()],
        scopes: "read write".into(),
    };
    let first = store.create_app(new_app("one")).await.unwrap();
    let second = store.create_app(new_app("two")).await.unwrap();
    let loaded = store.app_by_client_id("one").await.unwrap().unwrap();
    assert_eq!((loaded.id, loaded.redirect_uris.len(), loaded.secret_hash.clone()), (first.id, 2, vec![1, 2, 3]));
    assert!(store.app_by_client_id("nope").await.unwrap().is_none());

    let code = AuthCode {
        code_hash: b"code".to_vec(),
        app_id: first.id,
        account_id: alice.id,
        redirect_uri: "https://a.example/cb".into(),
        scopes: "read".into(),
        code_challenge: Some("challenge".into()),
        expires_at: now_ms() + 60_000,
    };
    store.create_auth_code(code.clone()).await.unwrap();
    let (a, b) = tokio::join!(store.take_auth_code(b"code"), store.take_auth_code(b"code"));
    let taken: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(taken, vec![code], "a code is exchanged exactly once");

    store
        .create_token(NewToken {
            token_hash: b"user".to_vec(),
            app_id: first.id,
            account_id: Some(alice.id),
            scopes: "read".into(),
        })
        .await
        .unwrap();
    store
        .create_token(NewToken {
            token_hash: b"app".to_vec(),
            app_id: first.id,
            account_id: None,
            scopes: "read".into(),
        })
        .await
        .unwrap();
    let grant = store.token_grant(b"user").await.unwrap().unwrap();
    assert_eq!((grant.account.unwrap().id, grant.app.id, grant.scopes.as_str()), (alice.id, first.id, "read"));
    assert!(store.token_grant(b"app").await.unwrap().unwrap().account.is_none());
    store.revoke_token(b"user", second.id).await.unwrap();
    assert!(store.token_grant(b"user").await.unwrap().is_some(), "another app cannot revoke a token");
    store.revoke_token(b"user", first.id).await.unwrap();
    assert!(store.token_grant(b"user").await.unwrap().is_none());
}

async fn notes_keep_tags_mentions_and_history(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let bob = store.create_account(new_account("bob", None)).await.unwrap();
    let mut note = new_note(alice.id, "#猫咪 #cat @bob");
    note.tags = vec!["猫咪".into(), "cat".into()];
    note.mention_ids = vec![bob.id];
    let (view, created) = store.create_note(note).await.unwrap();
    assert!(created);
    assert_eq!(view.note.tags, ["猫咪", "cat"]);
    assert_eq!(view.note.mentions, vec![MentionRef { account_id: bob.id, username: "bob".into() }]);
    assert_eq!(view.author.id, alice.id);
    assert_eq!(view.author.notes_count, 1);
    assert_eq!(store.note_by_id(view.note.id).await.unwrap().unwrap(), view);

    let edited = store
        .update_note(
            view.note.id,
            NoteUpdate {
                title: None,
                body: "#dog".into(),
                content_html: "<p>#dog</p>".into(),
                language: Some("en".into()),
                spoiler_text: "cw".into(),
                sensitive: true,
                tags: vec!["dog".into()],
                mention_ids: Vec::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.note.tags, ["dog"]);
    assert!(edited.note.mentions.is_empty());
    assert!(edited.note.edited_at.is_some());
    assert_eq!((edited.note.title.clone(), edited.note.sensitive), (None, true));
    let revisions = store.note_revisions(view.note.id).await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!((revisions[0].body.as_str(), revisions[1].body.as_str()), ("#猫咪 #cat @bob", "#dog"));
    assert_eq!(revisions[0].title.as_deref(), Some("标题"));
    assert!(matches!(store.update_note(NoteId(5), edited_update()).await, Err(StoreError::NotFound)));
}

fn edited_update() -> NoteUpdate {
    NoteUpdate {
        title: None,
        body: "x".into(),
        content_html: "x".into(),
        language: None,
        spoiler_text: String::new(),
        sensitive: false,
        tags: Vec::new(),
        mention_ids: Vec::new(),
    }
}

async fn idempotency_keys_create_one_note(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let bob = store.create_account(new_account("bob", None)).await.unwrap();
    let keyed = |author, key: &str| {
        let mut note = new_note(author, "hello");
        note.idempotency_key = Some(key.into());
        note
    };
    let (a, b) = tokio::join!(store.create_note(keyed(alice.id, "k1")), store.create_note(keyed(alice.id, "k1")));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.0.note.id, b.0.note.id);
    assert!(a.1 ^ b.1, "exactly one of two concurrent requests creates the note");
    let (other_key, created) = store.create_note(keyed(alice.id, "k2")).await.unwrap();
    assert!(created && other_key.note.id != a.0.note.id);
    let (bobs, created) = store.create_note(keyed(bob.id, "k1")).await.unwrap();
    assert!(created && bobs.note.id != a.0.note.id, "keys are per account");
    assert_eq!(store.account_by_id(alice.id).await.unwrap().unwrap().notes_count, 2);
}

async fn account_notes_paginate_and_filter(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut note = new_note(alice.id, &format!("note {i}"));
        note.visibility = if i == 3 { Visibility::Private } else { Visibility::Public };
        if i == 5 {
            note.in_reply_to_id = Some(ids[0]);
        }
        ids.push(store.create_note(note).await.unwrap().0.note.id);
    }
    let public =
        AccountNotesFilter { visibilities: vec![Visibility::Public, Visibility::Unlisted], exclude_replies: false };
    let list = |filter: AccountNotesFilter, page: Page| store.list_account_notes(alice.id, filter, page);
    let page = |max_id: Option<NoteId>, since_id: Option<NoteId>, min_id: Option<NoteId>, limit| Page {
        max_id: max_id.map(|i| i.0),
        since_id: since_id.map(|i| i.0),
        min_id: min_id.map(|i| i.0),
        limit,
    };
    let got = |views: Vec<NoteView>| views.into_iter().map(|v| v.note.id).collect::<Vec<_>>();

    let first = got(list(public.clone(), page(None, None, None, 3)).await.unwrap());
    assert_eq!(first, [ids[6], ids[5], ids[4]]);
    let next = got(list(public.clone(), page(Some(ids[4]), None, None, 3)).await.unwrap());
    assert_eq!(next, [ids[2], ids[1], ids[0]], "the private note is filtered out");
    let newer = got(list(public.clone(), page(None, None, Some(ids[0]), 2)).await.unwrap());
    assert_eq!(newer, [ids[2], ids[1]], "min_id pages forward from the cursor, newest first");
    let since = got(list(public.clone(), page(None, Some(ids[4]), None, 2)).await.unwrap());
    assert_eq!(since, [ids[6], ids[5]], "since_id gives the newest items after the cursor");
    let no_replies = AccountNotesFilter { exclude_replies: true, ..public.clone() };
    assert!(!got(list(no_replies, page(None, None, None, 20)).await.unwrap()).contains(&ids[5]));
    let all =
        AccountNotesFilter { visibilities: vec![Visibility::Public, Visibility::Private], exclude_replies: false };
    assert_eq!(got(list(all, page(None, None, None, 20)).await.unwrap()).len(), 7);
    let none = AccountNotesFilter { visibilities: Vec::new(), exclude_replies: false };
    assert!(list(none, page(None, None, None, 20)).await.unwrap().is_empty());
}

async fn deleting_a_note_removes_everything(app: &TestApp) {
    let store = &app.store;
    let alice = store.create_account(new_account("alice", None)).await.unwrap();
    let mut note = new_note(alice.id, "#tag");
    note.tags = vec!["tag".into()];
    note.idempotency_key = Some("key".into());
    let (view, _) = store.create_note(note.clone()).await.unwrap();
    store.delete_note(view.note.id).await.unwrap();
    assert!(store.note_by_id(view.note.id).await.unwrap().is_none());
    assert!(store.note_revisions(view.note.id).await.unwrap().is_empty());
    assert_eq!(store.account_by_id(alice.id).await.unwrap().unwrap().notes_count, 0);
    assert!(matches!(store.delete_note(view.note.id).await, Err(StoreError::NotFound)));
    let (again, created) = store.create_note(note).await.unwrap();
    assert!(created && again.note.id != view.note.id, "a deleted note frees its idempotency key");
}

async fn job_queue_leases_retries_and_buries(app: &TestApp) {
    let store = &app.store;
    let now = now_ms();
    // A new note brings its own job, in the same transaction.
    let author = store.create_account(new_account("queued", None)).await.unwrap();
    store.create_note(new_note(author.id, "job")).await.unwrap();
    let later = store.enqueue_job("test", "{}", now + 60_000).await.unwrap();
    let due = store.enqueue_job("test", "{\"n\":1}", now).await.unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 3);
    let claimed = store.claim_jobs("main", 10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 2, "the future job waits");
    assert_eq!(claimed[0].kind, JOB_NOTE_CREATED);
    assert!(claimed.iter().all(|j| j.attempts == 1 && j.id != later));
    assert!(store.claim_jobs("main", 10, 60_000).await.unwrap().is_empty(), "leased jobs are not handed out twice");
    store.complete_job(claimed[0].id).await.unwrap();
    store.fail_job(due, "boom", Some(now - 1)).await.unwrap();
    let retried = store.claim_jobs("main", 10, 1).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 2);
    // A lease that runs out (a dead worker) lets the job be taken again.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = store.claim_jobs("main", 10, 60_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 3);
    store.fail_job(due, "gave up", None).await.unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 1, "a buried job no longer counts");
}

async fn fan_out_walks_followers_in_batches(app: &TestApp) {
    let store = &app.store;
    let star = store.create_account(new_account("celebrity", None)).await.unwrap();
    let mut fans = Vec::new();
    for i in 0..5 {
        let fan = store.create_account(new_account(&format!("fan{i}"), None)).await.unwrap();
        assert_eq!(store.follow(fan.id, star.id, false).await.unwrap(), FollowOutcome::Following);
        fans.push(fan);
    }
    let (note, _) = store.create_note(new_note(star.id, "hello fans")).await.unwrap();
    let page = Page { limit: 20, ..Page::default() };
    assert!(store.home_feed(fans[0].id, page).await.unwrap().is_empty(), "not before the fan-out");
    assert_eq!(store.home_feed(star.id, page).await.unwrap().len(), 1, "the author's own feed at once");
    let mut after = None;
    let mut batches = 0;
    while let Some(last) = store.fan_out(note.note.id, after, 2).await.unwrap() {
        after = Some(last);
        batches += 1;
    }
    assert_eq!(batches, 2, "2 + 2 + 1 followers");
    for fan in &fans {
        let feed = store.home_feed(fan.id, page).await.unwrap();
        assert_eq!(feed.iter().map(|v| v.note.id).collect::<Vec<_>>(), vec![note.note.id]);
    }
    // Running it again changes nothing (jobs may run twice after a crash).
    store.fan_out(note.note.id, None, 10).await.unwrap();
    assert_eq!(store.home_feed(fans[4].id, page).await.unwrap().len(), 1);
    store.unfollow(fans[4].id, star.id).await.unwrap();
    assert!(store.home_feed(fans[4].id, page).await.unwrap().is_empty());
}

async fn relationships_and_counters_stay_true(app: &TestApp) {
    let store = &app.store;
    let a = store.create_account(new_account("rel_a", None)).await.unwrap();
    let b = store.create_account(new_account("rel_b", None)).await.unwrap();
    store.follow(a.id, b.id, false).await.unwrap();
    store.follow(a.id, b.id, false).await.unwrap();
    assert_eq!(store.account_by_id(b.id).await.unwrap().unwrap().followers_count, 1, "following twice counts once");
    store.follow(b.id, a.id, true).await.unwrap();
    let relation = store.relationships(a.id, &[b.id]).await.unwrap().pop().unwrap();
    assert!(relation.following && relation.requested_by && !relation.followed_by);
    store.block(a.id, b.id).await.unwrap();
    let relation = store.relationships(b.id, &[a.id]).await.unwrap().pop().unwrap();
    assert!(relation.blocked_by && !relation.following && !relation.requested && !relation.followed_by);
    assert_eq!(store.account_by_id(b.id).await.unwrap().unwrap().followers_count, 0);
    assert_eq!(store.account_by_id(a.id).await.unwrap().unwrap().following_count, 0);
    let (note, _) = store.create_note(new_note(b.id, "liked")).await.unwrap();
    assert!(store.favourite(a.id, note.note.id).await.unwrap());
    assert!(!store.favourite(a.id, note.note.id).await.unwrap());
    assert!(store.collect(a.id, note.note.id, None).await.unwrap());
    let board = store
        .create_board(NewBoard { account_id: a.id, name: "x".into(), description: String::new(), public: true })
        .await
        .unwrap();
    assert!(store.collect(a.id, note.note.id, Some(board.id)).await.unwrap(), "moved");
    let note_now = store.note_by_id(note.note.id).await.unwrap().unwrap().note;
    assert_eq!((note_now.favourites_count, note_now.collects_count), (1, 1));
    let interaction = store.note_interactions(a.id, &[note.note.id]).await.unwrap().pop().unwrap();
    assert!(interaction.favourited);
    assert_eq!(interaction.board_id, Some(board.id));
    assert!(
        matches!(store.collect(b.id, note.note.id, Some(board.id)).await, Err(StoreError::NotFound)),
        "not b's board"
    );
}
