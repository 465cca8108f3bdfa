//! Runs the real binary, posts notes, kills it with SIGKILL, restarts it, and
//! checks that every accepted note survived.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(data_dir: &std::path::Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_pengyou"))
            .arg("serve")
            .env("PENGYOU_LISTEN", format!("127.0.0.1:{port}"))
            .env("PENGYOU_DATA_DIR", data_dir)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pengyou");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.request("GET", "/healthz", None, "").map(|(status, _)| status) != Some(200) {
            assert!(Instant::now() < deadline, "server did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// A minimal HTTP/1.1 client: one request per connection.
    fn request(&self, method: &str, path: &str, token: Option<&str>, form: &str) -> Option<(u16, Value)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
        Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Value {
        let form = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let (status, body) = self.request(method, path, token, &form).expect("request completes");
        assert_eq!(status, 200, "{method} {path}: {body}");
        body
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn accepted_notes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Server::start(dir.path(), port);
    let app = server.call(
        "POST",
        "/api/v1/apps",
        None,
        &[("client_name", "t"), ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"), ("scopes", "read write")],
    );
    let (id, secret) =
        (app["client_id"].as_str().unwrap().to_owned(), app["client_secret"].as_str().unwrap().to_owned());
    let app_token = server.call(
        "POST",
        "/oauth/token",
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "read write"),
        ],
    )["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = server.call(
        "POST",
        "/api/v1/accounts",
        Some(&app_token),
        &[("username", "durable"), ("password", crate::support::PASSWORD), ("agreement", "true")],
    )["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut accepted = Vec::new();
    for i in 0..25 {
        let note = server.call("POST", "/api/v1/statuses", Some(&token), &[("status", &format!("第 {i} 条 note"))]);
        accepted.push(note["id"].as_str().unwrap().to_owned());
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();

    let mut server = Server::start(dir.path(), port);
    let me = server.call("GET", "/api/v1/accounts/verify_credentials", Some(&token), &[]);
    assert_eq!(me["statuses_count"], 25);
    let listed = server.call(
        "GET",
        &format!("/api/v1/accounts/{}/statuses?limit=40", me["id"].as_str().unwrap()),
        Some(&token),
        &[],
    );
    let mut ids: Vec<String> =
        listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    ids.reverse();
    assert_eq!(ids, accepted);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
