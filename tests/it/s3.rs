//! A real S3-compatible server for the storage tests: moto's server (from PyPI),
//! started on a free port of 127.0.0.1 and stopped when the test ends.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct S3Server {
    child: Child,
    port: u16,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    /// Starts `moto_server` (from `TEST_MOTO_SERVER` or PATH) with one empty bucket;
    /// `None`, with a note, where it is not installed (CI sets `TEST_REQUIRE_S3`).
    pub async fn start() -> Option<S3Server> {
        let program = std::env::var("TEST_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = match Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                assert!(std::env::var_os("TEST_REQUIRE_S3").is_none(), "moto_server is required: {error}");
                eprintln!("skipped: S3 test (moto_server not found: {error})");
                return None;
            }
        };
        let server = S3Server {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: format!("pengyou-test-{}", pengyou_store::next_id()),
        };
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                let (status, _) = server.http("PUT", &format!("/{}", server.bucket)).await;
                assert!(status.contains(" 200"), "bucket creation: {status}");
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start on port {port}");
    }

    /// One plain HTTP/1.1 request; the status line and body.
    async fn http(&self, method: &str, path: &str) -> (String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text.lines().next().unwrap_or_default().to_owned();
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    /// The keys in the bucket.
    pub async fn list(&self) -> Vec<String> {
        let (_, body) = self.http("GET", &format!("/{}?list-type=2", self.bucket)).await;
        body.split("<Key>").skip(1).filter_map(|part| part.split("</Key>").next()).map(str::to_owned).collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
