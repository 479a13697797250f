//! Hostile local clients of a login's loopback listener, and the process
//! counters (descriptors, threads, memory) the attack tests compare.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many of each attack [`Attack::mount`] aims at the listener.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Connections that send one `GET / HTTP/2.0` line and stay open.
    pub http2_lines: usize,
    /// Requests pipelined on one connection that never reads an answer.
    pub pipelined: usize,
    /// Connections that never send a byte.
    pub idle: usize,
    /// Connections that send a request head one byte at a time.
    pub slowloris: usize,
}

/// The attack the issue measured the old listener with.
pub const FULL: Sizes = Sizes {
    http2_lines: 600,
    pipelined: 20_000,
    idle: 1_000,
    slowloris: 50,
};

/// Attacks under way; [`stop`](Self::stop) closes every attacker socket.
pub struct Attack {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    held: Vec<TcpStream>,
    sockets: usize,
}

/// How long after mounting the attacks take hold (a stalled answer fills
/// the socket buffers) before the tests send the real callback.
pub const TAKE_HOLD: Duration = Duration::from_secs(2);

fn connect(port: u16) -> Option<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    Some(stream)
}

/// A connection whose receive buffer stays small (4 KiB, no autotuning):
/// answers it never reads fill it after a few requests, whatever the
/// machine's TCP buffer settings.
fn connect_small(port: u16) -> Option<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    socket.set_recv_buffer_size(4096).ok()?;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.connect(&address.into()).ok()?;
    socket
        .set_write_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    Some(socket.into())
}

impl Attack {
    /// Mounts every attack of `sizes` on `127.0.0.1:port`; returns once the
    /// one-shot attacks are sent and the lasting ones are connected.
    pub fn mount(port: u16, sizes: Sizes) -> Attack {
        let stop = Arc::new(AtomicBool::new(false));
        let mut held = Vec::new();
        let mut threads = Vec::new();
        // One connection, `pipelined` requests, never a read.
        let pipelined = sizes.pipelined;
        threads.push(std::thread::spawn(move || {
            let Some(mut stream) = connect_small(port) else {
                return;
            };
            let one = format!("GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            // Never read: this blocks for as long as the listener answers
            // without closing (up to the write timeout).
            let _ = stream.write_all(one.repeat(pipelined).as_bytes());
        }));
        for _ in 0..sizes.http2_lines {
            if let Some(mut stream) = connect(port) {
                let _ = stream.write_all(b"GET / HTTP/2.0\r\n");
                held.push(stream);
            }
        }
        for _ in 0..sizes.idle {
            held.extend(connect(port));
        }
        let slow: Vec<TcpStream> = (0..sizes.slowloris).filter_map(|_| connect(port)).collect();
        // The pipelined connection is one more.
        let sockets = held.len() + slow.len() + 1;
        let flag = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            let mut slow = slow;
            let head = b"GET /callback?challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            let mut i = 0;
            while !flag.load(Ordering::SeqCst) {
                for s in &mut slow {
                    let _ = s.write_all(&head[i % head.len()..][..1]);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
        Attack {
            stop,
            threads,
            held,
            sockets,
        }
    }

    /// The sockets the attacker holds open (its own descriptors).
    pub fn sockets(&self) -> usize {
        self.sockets
    }

    /// The attacker's own threads.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Closes every attacker socket and joins the attacker threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.held);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Sends a request line of `total` bytes in 64 KiB writes until the
/// listener stops taking them; returns the bytes it took and the first
/// bytes of its answer (empty when it reset the connection).
pub fn huge_request_line(port: u16, total: usize) -> (usize, String) {
    let Some(mut stream) = connect(port) else {
        return (0, String::new());
    };
    let mut chunk = vec![b'a'; 64 * 1024];
    chunk[..5].copy_from_slice(b"GET /");
    let mut sent = 0;
    while sent < total {
        match stream.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => sent += n,
        }
        chunk[..5].copy_from_slice(b"aaaaa");
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).unwrap_or(0);
    (sent, String::from_utf8_lossy(&answer[..n]).into_owned())
}

/// Sends `request` and reads (up to 5 s) until the listener closes the
/// connection; returns what was read, and whether it closed.
pub fn answers_until_close(port: u16, request: &str) -> (String, bool) {
    let Some(mut stream) = connect(port) else {
        return (String::new(), false);
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(request.as_bytes());
    let mut answers = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => answers.extend_from_slice(&buf[..n]),
            // A reset after the answer (unread pipelined requests) is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&answers).into_owned(), closed)
}

/// Open descriptors of this process.
pub fn descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Threads of this process.
pub fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Waits (up to `within`) until `count()` is at most `limit`; the last
/// count seen. It waits with the runtime's timer, not a thread sleep, so
/// that on a current-thread runtime the tasks that close sockets (finished
/// connections, a browser's last request) still run meanwhile.
pub async fn settles(count: fn() -> usize, limit: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let now = count();
        if now <= limit || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
