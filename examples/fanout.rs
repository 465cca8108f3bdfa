//! Measures the home-feed design: how long a note by an account with many
//! followers takes to reach every follower's home feed (and what home reads
//! cost meanwhile), and how fast a home feed reads for someone who follows
//! thousands of accounts, against reading it by pulling from author timelines.
//!
//! `cargo run --release --example fanout -- [DATABASE_URL] [FOLLOWERS] [FOLLOWING]`
//! (default: a fresh SQLite file, 100000 followers, 2000 followed accounts).
//! A PostgreSQL URL must name an empty database; the tool fills it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use pengyou::config::Config;
use pengyou::http::extract::token_hash;
use pengyou_store::{AccountId, NewAccount, NewApp, NewNote, NewToken, Page, Store, Visibility};
use tower::ServiceExt;

fn account(name: String) -> NewAccount {
    NewAccount {
        username: name.clone(),
        display_name: name,
        email: None,
        password_hash: "$argon2id$bench".into(),
        languages: vec!["en".into()],
        ui_language: None,
        is_admin: false,
    }
}

fn note(author: AccountId, body: String) -> NewNote {
    NewNote {
        account_id: author,
        title: None,
        content_html: format!("<p>{body}</p>"),
        body,
        language: Some("en".into()),
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

/// Runs `work(i)` for i in 0..count on `tasks` concurrent tasks.
async fn in_parallel<F, Fut>(count: usize, tasks: usize, work: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let work = Arc::new(work);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let work = work.clone();
            tokio::spawn(async move {
                let mut i = t;
                while i < count {
                    work(i).await;
                    i += tasks;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("task");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{label}: n={} p50={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1000.0,
        percentile(&samples, 0.99).as_secs_f64() * 1000.0,
        samples.last().unwrap().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = args.first().cloned().unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let followers: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let following: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let config = Config {
        database_url: Some(url.clone()),
        data_dir: dir.path().to_path_buf(),
        run_jobs: false,
        ..Config::default()
    };
    let state = pengyou::server::build_state(config).await.expect("state");
    let store: Arc<dyn Store> = state.store.clone();
    let tasks = if store.backend() == "postgres" { 12 } else { 1 };
    println!("backend {} · {followers} followers · reader follows {following}", store.backend());

    let started = Instant::now();
    let star = store.create_account(account("star".into())).await.expect("star").id;
    let ids = Arc::new(std::sync::Mutex::new(vec![AccountId(0); followers]));
    {
        let (store, ids) = (store.clone(), ids.clone());
        in_parallel(followers, tasks, move |i| {
            let (store, ids) = (store.clone(), ids.clone());
            async move {
                let fan = store.create_account(account(format!("fan{i}"))).await.expect("fan").id;
                store.follow(fan, star, false).await.expect("follow");
                ids.lock().unwrap()[i] = fan;
            }
        })
        .await;
    }
    let ids: Vec<AccountId> = ids.lock().unwrap().clone();
    println!("seeded {followers} followers in {:.1}s", started.elapsed().as_secs_f64());

    // The reader follows `following` of the fans, each of whom has posted 5 notes.
    let reader = store.create_account(account("reader".into())).await.expect("reader").id;
    let started = Instant::now();
    {
        let (store, authors) = (store.clone(), Arc::new(ids[..following.min(ids.len())].to_vec()));
        let count = authors.len();
        in_parallel(count, tasks, move |i| {
            let (store, authors) = (store.clone(), authors.clone());
            async move {
                for n in 0..5 {
                    store.create_note(note(authors[i], format!("note {n} by {i}"))).await.expect("note");
                }
                store.follow(reader, authors[i], false).await.expect("follow");
            }
        })
        .await;
    }
    pengyou::jobs::run_pending(&state).await.expect("jobs");
    println!("seeded {} notes by followed accounts in {:.1}s", following * 5, started.elapsed().as_secs_f64());

    let app = store
        .create_app(NewApp {
            client_id: "bench".into(),
            secret_hash: vec![0; 32],
            name: "bench".into(),
            website: None,
            redirect_uris: vec!["urn:ietf:wg:oauth:2.0:oob".into()],
            scopes: "read".into(),
        })
        .await
        .expect("app");
    store
        .create_token(NewToken {
            token_hash: token_hash("bench-token"),
            app_id: app.id,
            account_id: Some(reader),
            scopes: "read".into(),
        })
        .await
        .expect("token");
    let router = pengyou::http::router(state.clone());
    let home = |path: &'static str| {
        let router = router.clone();
        async move {
            let request = Request::get(path).header("authorization", "Bearer bench-token").body(Body::empty()).unwrap();
            let response = router.oneshot(request).await.unwrap();
            assert!(response.status().is_success());
            axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().len()
        }
    };
    let mut samples = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        home("/api/v1/timelines/home?limit=20").await;
        samples.push(started.elapsed());
    }
    report(&format!("home feed read, following {following} (HTTP in-process, 20 notes)"), samples);
    let mut samples = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        store.home_feed(reader, Page { limit: 20, ..Page::default() }).await.expect("home");
        samples.push(started.elapsed());
    }
    report("home feed read (store only)", samples);

    // The celebrity posts while followers keep reading their feeds.
    let (posted, _) = store.create_note(note(star, "hello, all of you".into())).await.expect("post");
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (store, stop, ids) = (store.clone(), stop.clone(), ids.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut i = r * 7919;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    store.home_feed(ids[i % ids.len()], Page { limit: 20, ..Page::default() }).await.expect("home");
                    samples.push(started.elapsed());
                    i += 104_729;
                }
                samples
            })
        })
        .collect();
    let started = Instant::now();
    pengyou::jobs::run_pending(&state).await.expect("fan-out");
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut during = Vec::new();
    for reader in readers {
        during.extend(reader.await.expect("reader"));
    }
    let last = ids.last().copied().unwrap();
    let feed = store.home_feed(last, Page { limit: 1, ..Page::default() }).await.expect("home");
    assert_eq!(feed.first().map(|v| v.note.id), Some(posted.note.id), "the last follower has the note");
    println!(
        "fan-out to {followers} followers: {:.2}s ({:.0} feed rows/s)",
        elapsed.as_secs_f64(),
        followers as f64 / elapsed.as_secs_f64()
    );
    report("home feed reads during the fan-out (store only)", during);
}
