//! A second origin for browser tests: serves a few files over HTTP/1.0 on a
//! free loopback port (one request per connection), so a page's calls to
//! the emulator are cross-origin, as a web app's are.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A running site; it stops when the test's runtime ends.
pub struct StaticSite {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// Serves `files` (path → (content type, bytes)); anything else is a 404.
pub async fn serve(files: HashMap<&'static str, (&'static str, Vec<u8>)>) -> StaticSite {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let files = Arc::clone(&files);
            tokio::spawn(async move {
                let mut head = vec![0u8; 8192];
                let n = conn.read(&mut head).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&head[..n]);
                let path = text.split_whitespace().nth(1).unwrap_or("/");
                let path = path.split('?').next().unwrap_or("/");
                let answer = match files.get(path) {
                    Some((kind, body)) => {
                        let mut a = format!(
                            "HTTP/1.0 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-store\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        a.extend_from_slice(body);
                        a
                    }
                    None => b"HTTP/1.0 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
                };
                let _ = conn.write_all(&answer).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    StaticSite { base }
}
