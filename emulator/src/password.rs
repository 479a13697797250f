//! Passwords: the length rule and argon2 hashing, shared by the CloudMine
//! users API and the BaasBox front end.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::http::StatusCode;
use tokio::sync::oneshot;

use crate::crypto::constant_time_eq;
use crate::fail::Fail;

/// The shortest password accepted by default: any non-empty one.
/// CloudMine accepted the official JS SDK suite's 5-character passwords and
/// documented no minimum; a stricter policy is
/// [`EmulatorBuilder::min_password_length`](crate::EmulatorBuilder::min_password_length).
pub const DEFAULT_MIN_PASSWORD_LEN: usize = 1;

/// The longest password accepted, in bytes (argon2 work grows with it).
const MAX_PASSWORD_BYTES: usize = 1024;

/// The length rule for new passwords (sign-up, change, reset).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PasswordPolicy {
    /// The fewest characters (Unicode scalar values) a password may have.
    pub min_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: DEFAULT_MIN_PASSWORD_LEN,
        }
    }
}

impl PasswordPolicy {
    /// Refuses a new password that is too short or too long, saying which.
    pub(crate) fn check(&self, password: &str) -> Result<(), Fail> {
        if password.is_empty() {
            return Err(Fail::bad("the password must not be empty"));
        }
        if password.chars().count() < self.min_len {
            return Err(Fail::bad(format!(
                "the password must be at least {} characters",
                self.min_len
            )));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Fail::bad(format!(
                "the password must be at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

/// The most argon2 memory a stored hash may ask for (64 MiB).
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// This thread's argon2 memory, allocated once and reused: allocating
    /// 19 MiB for each hash leaves the allocator holding far more (about
    /// 160 MiB per hashing thread, measured).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `blocks` argon2 blocks of this thread's memory.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            *memory = vec![Block::default(); blocks];
        }
        f(&mut memory[..blocks])
    })
}

fn hashing_failed() -> Fail {
    Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "password hashing failed")
}

/// An argon2id PHC string (default parameters, random 16-byte salt).
pub(crate) fn hash_password(password: &str) -> Result<String, Fail> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| hashing_failed())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    })
    .map_err(|_| hashing_failed())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| hashing_failed())?,
        salt: Some(Salt::new(&salt).map_err(|_| hashing_failed())?),
        hash: Some(Output::new(&out).map_err(|_| hashing_failed())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (false for none, or
/// one that does not parse).
pub(crate) fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let Some(phc) = hash.and_then(|h| PasswordHash::new(h).ok()) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(phc.algorithm.as_str()),
        Params::try_from(&phc),
        phc.salt,
        phc.hash,
    ) else {
        return false;
    };
    let version = phc.version.map_or(Ok(Version::V0x13), Version::try_from);
    let Ok(version) = version else {
        return false;
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
    });
    hashed.is_ok() && constant_time_eq(&out, expected.as_bytes())
}

/// How many hashes may wait for a worker, per worker.
const QUEUE_PER_WORKER: usize = 16;
/// How long a request waits for its hash before giving up with 503.
const MAX_WAIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// Bounds the argon2 work (about 19 MiB of memory each): a few dedicated
/// threads hash, a bounded queue waits, and the rest are refused with 503
/// and `Retry-After`. Dedicated threads, not the blocking pool: each thread
/// that ever hashed keeps its allocator arena's 19 MiB (or more), so the
/// number of threads, not only the work at once, bounds the memory.
pub(crate) struct HashGate {
    queue: SyncSender<Job>,
}

impl HashGate {
    /// `workers` threads (at least one), each with its share of the queue.
    pub(crate) fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        let (queue, jobs) = sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..workers {
            let jobs = Arc::clone(&jobs);
            let spawned = std::thread::Builder::new()
                .name(format!("cloudmine-hash-{i}"))
                .spawn(move || work(&jobs));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        HashGate { queue }
    }

    /// Two per core.
    pub(crate) fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashGate::new(2 * cores)
    }

    /// Hashes `password` when a worker is free.
    pub(crate) async fn hash(&self, password: String) -> Result<String, Fail> {
        self.run(move || hash_password(&password)).await?
    }

    /// Checks `password` against `hash` when a worker is free.
    pub(crate) async fn verify(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, Fail> {
        self.run(move || verify_password(&password, hash.as_deref()))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Fail> {
        let (done, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The request went away while queued: no work for nobody.
            if !done.is_closed() {
                let _ = done.send(work());
            }
        });
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy()),
            Err(TrySendError::Disconnected(_)) => {
                return Err(Fail::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "password hashing is not available",
                ));
            }
        }
        match tokio::time::timeout(MAX_WAIT, answer).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(Fail::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "password hashing failed",
            )),
            Err(_) => Err(busy()),
        }
    }
}

/// A worker: runs jobs until the gate goes away.
fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

fn busy() -> Fail {
    Fail::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many password checks at once; try again shortly",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(!a.contains("correct horse"));
        assert!(verify_password("correct horse", Some(&a)));
        assert!(!verify_password("wrong horse", Some(&a)));
        assert!(!verify_password("correct horse", None));
    }

    #[test]
    fn the_policy_accepts_what_cloudmine_accepted_and_can_be_stricter() {
        let default = PasswordPolicy::default();
        assert!(
            default.check("abcde").is_ok(),
            "CloudMine took 5 characters"
        );
        assert!(default.check("a").is_ok());
        let empty = default.check("").unwrap_err();
        assert!(
            format!("{empty:?}").contains("must not be empty"),
            "{empty:?}"
        );
        assert!(default.check(&"x".repeat(1025)).is_err());
        assert!(default.check(&"x".repeat(1024)).is_ok());
        let strict = PasswordPolicy { min_len: 8 };
        let short = strict.check("abcdefg").unwrap_err();
        assert!(format!("{short:?}").contains("at least 8"), "{short:?}");
        assert!(strict.check("abcdefgh").is_ok());
        // Characters, not bytes: 8 two-byte characters pass.
        assert!(strict.check("éééééééé").is_ok());
    }

    #[test]
    fn hashes_of_the_library_itself_verify() {
        use argon2::password_hash::PasswordHasher;
        let theirs = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(verify_password("correct horse", Some(&theirs)));
        assert!(!verify_password("correct hors", Some(&theirs)));
        let ours = hash_password("correct horse").unwrap();
        assert_eq!(
            PasswordHash::new(&ours).unwrap().params,
            PasswordHash::new(&theirs).unwrap().params
        );
    }
}
