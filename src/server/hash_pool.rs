//! Admission control for argon2: a fixed set of worker threads fed by a bounded queue.
//!
//! Each argon2id check needs its memory cost (19 MiB by default) at once. Run on tokio's
//! blocking pool, every burst started more threads (up to 512), and glibc gave each its own
//! arena that kept the freed 19 MiB: the server grew to gigabytes under load and stayed there.
//! Here at most `workers` hashes run, each worker fills the same block buffer every time (no
//! allocation per hash), and a request that finds the queue full is refused at once with a
//! Retry-After instead of waiting without bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use super::secrets::{HashError, HashingParams};

/// How many argon2 workers run and how many requests may wait for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Worker threads (0: one per core).
    pub workers: usize,
    /// Requests that may wait for a worker; the next one is answered 503.
    pub queue: usize,
    /// The workers' nice value (0–19; 0 leaves them at the server's own priority).
    pub nice: i32,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            workers: 0,
            queue: 128,
            nice: 0,
        }
    }
}

impl Admission {
    /// The number of worker threads this admission starts.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Why a hash was not computed.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full: try again after the given seconds.
    #[error("the password workers are busy")]
    Busy {
        /// A rough time for the queue to drain.
        retry_after_secs: u64,
    },
    /// Hashing itself failed (bad parameters, the workers are gone).
    #[error(transparent)]
    Failed(#[from] HashError),
}

/// A job, when it entered the queue and how many jobs the workers had taken by then (for the
/// `tobira::timing` debug event).
struct Queued {
    job: Job,
    at: Instant,
    ticket: u64,
}

/// What the workers share with the pool.
#[derive(Default)]
struct Counters {
    /// The last hash's duration in microseconds, for the Retry-After estimate.
    last_hash_us: AtomicU64,
    /// Jobs taken from the queue so far.
    taken: AtomicU64,
    /// Jobs put in the queue so far (the depth is this minus `taken`).
    queued: AtomicU64,
    /// Jobs refused because the queue was full.
    rejected: AtomicU64,
    /// How long jobs waited for a worker (`/metrics`).
    wait: super::metrics::Histogram,
}

enum Job {
    Hash {
        password: Zeroizing<String>,
        reply: oneshot::Sender<Result<String, HashError>>,
    },
    Verify {
        password: Zeroizing<String>,
        phc: String,
        reply: oneshot::Sender<bool>,
    },
    /// Runs on a worker like a hash (the tests' probe of the queue's order).
    #[cfg(test)]
    Run(Box<dyn FnOnce() + Send>),
}

/// The argon2 workers and their queue; cheap to share (`Arc`).
pub struct HashPool {
    params: HashingParams,
    queue: SyncSender<Queued>,
    workers: usize,
    /// Why no worker runs, when none could start.
    broken: Option<String>,
    /// The queue's far end, held here too so that it outlives a worker that failed.
    _jobs: Arc<Mutex<Receiver<Queued>>>,
    queue_len: usize,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("params", &self.params)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Starts the workers; they end when the pool is dropped. A pool that could start no
    /// worker (bad parameters, no threads) answers every request with the reason.
    pub fn start(params: HashingParams, admission: Admission) -> Arc<Self> {
        Self::with_workers(
            params,
            admission.worker_count(),
            admission.queue,
            admission.nice,
        )
    }

    fn with_workers(params: HashingParams, workers: usize, queue: usize, nice: i32) -> Arc<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Queued>(queue);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        let mut broken = None;
        let counters = Arc::new(Counters::default());
        match params.argon2() {
            Ok(argon2) => {
                for i in 0..workers {
                    let rx = rx.clone();
                    let argon2 = argon2.clone();
                    let counters = counters.clone();
                    match std::thread::Builder::new()
                        .name(format!("argon2-{i}"))
                        .spawn(move || {
                            yield_to_requests(nice);
                            work(&argon2, &rx, &counters)
                        }) {
                        Ok(_) => started += 1,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot start a password worker");
                            broken = Some(e.to_string());
                        }
                    }
                }
            }
            Err(e) => broken = Some(e.to_string()),
        }
        Arc::new(Self {
            params,
            queue: tx,
            workers: started,
            broken: (started == 0 && workers > 0).then(|| broken.unwrap_or_default()),
            queue_len: queue,
            counters,
            _jobs: rx,
        })
    }

    /// The cost this pool hashes new passwords with.
    pub fn params(&self) -> HashingParams {
        self.params
    }

    /// Worker threads running.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The queue's depth and refusals, for `/metrics`.
    pub fn stats(&self) -> super::metrics::PoolStats {
        let queued = self.counters.queued.load(Ordering::Relaxed);
        let taken = self.counters.taken.load(Ordering::Relaxed);
        super::metrics::PoolStats {
            depth: queued.saturating_sub(taken),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            workers: self.workers,
        }
    }

    /// How long jobs waited for a worker, for `/metrics`.
    pub fn wait_histogram(&self) -> &super::metrics::Histogram {
        &self.counters.wait
    }

    /// About how long a full queue takes to drain, by the last hash's duration: at least one
    /// second, at most a minute.
    fn retry_after_secs(&self) -> u64 {
        let us = self.counters.last_hash_us.load(Ordering::Relaxed);
        let drain_us = us.saturating_mul(self.queue_len as u64 + 1) / self.workers.max(1) as u64;
        drain_us.div_ceil(1_000_000).clamp(1, 60)
    }

    fn submit(&self, job: Job) -> Result<(), PoolError> {
        if let Some(why) = &self.broken {
            return Err(HashError::new(format!("no password worker runs: {why}")).into());
        }
        // Counted before the send, so that a worker taking the job at once never makes the
        // depth negative; given back when the job is refused.
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let sent = self.queue.try_send(Queued {
            job,
            at: Instant::now(),
            ticket: self.counters.taken.load(Ordering::Relaxed),
        });
        if sent.is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                Err(PoolError::Busy {
                    retry_after_secs: self.retry_after_secs(),
                })
            }
            Err(TrySendError::Disconnected(_)) => {
                Err(HashError::new("the password workers stopped".into()).into())
            }
        }
    }

    /// Hashes `password` into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, PoolError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            password: Zeroizing::new(password),
            reply,
        })?;
        answer.await.map_err(|_| gone())?.map_err(PoolError::from)
    }

    /// Checks `password` against a PHC string. A malformed hash is "no match".
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PoolError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password: Zeroizing::new(password),
            phc,
            reply,
        })?;
        answer.await.map_err(|_| gone().into())
    }
}

fn gone() -> HashError {
    HashError::new("a password worker stopped".into())
}

/// Lowers the calling worker thread's priority to `nice`. A sign-in's own work around its
/// hash (the request, the database, the reply) comes in short bursts on other threads; at the
/// workers' priority those bursts queue behind running hashes for a time slice, the workers
/// then idle while the next job is still being prepared, and latency varies with the wait.
/// Niced, the bursts take a core at once and the hashes keep every core busy. Linux sets a
/// nice value per thread; where that fails the worker runs on at the server's priority.
fn yield_to_requests(nice: i32) {
    if nice == 0 {
        return;
    }
    let me = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(me), nice) {
        tracing::warn!(error = %e, nice, "cannot lower a password worker's priority");
    }
}

/// One worker: takes jobs in order until the pool is dropped, always in the same buffer.
fn work(argon2: &Argon2<'static>, rx: &Mutex<Receiver<Queued>>, counters: &Counters) {
    let mut blocks = BlockBuffer::default();
    loop {
        let queued = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(Queued { job, at, ticket }) = queued else {
            return;
        };
        let started = Instant::now();
        counters.wait.observe(started.duration_since(at));
        // The jobs taken between this one's arrival and its own turn: in a FIFO queue, those
        // that were ahead of it, however fast or slow the machine is.
        let ahead = counters
            .taken
            .fetch_add(1, Ordering::Relaxed)
            .saturating_sub(ticket);
        match job {
            Job::Hash { password, reply } => {
                // The caller gave up (the client went away): the work would go nowhere.
                if reply.is_closed() {
                    continue;
                }
                let _ = reply.send(hash_with(argon2, password.as_bytes(), &mut blocks));
            }
            Job::Verify {
                password,
                phc,
                reply,
            } => {
                if reply.is_closed() {
                    continue;
                }
                let _ = reply.send(verify_with(password.as_bytes(), &phc, &mut blocks));
            }
            #[cfg(test)]
            Job::Run(f) => f(),
        }
        let us = micros(started.elapsed());
        counters.last_hash_us.store(us, Ordering::Relaxed);
        // Where a request's time goes under load (`tobira bench sign-in` reads these).
        tracing::debug!(
            target: "tobira::timing",
            ahead,
            queued_us = micros(started.duration_since(at)),
            hash_us = us,
            "argon2"
        );
    }
}

/// A duration in whole microseconds.
pub(crate) fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// argon2's working memory, grown to the largest cost seen and then reused.
#[derive(Default)]
pub struct BlockBuffer(Vec<Block>);

impl BlockBuffer {
    fn for_params(&mut self, params: &Params) -> &mut [Block] {
        let n = params.block_count();
        if self.0.len() < n {
            self.0.resize(n, Block::default());
        }
        &mut self.0[..n]
    }
}

/// Hashes `password` with a fresh salt into a PHC string, in `blocks`.
pub fn hash_with(
    argon2: &Argon2<'_>,
    password: &[u8],
    blocks: &mut BlockBuffer,
) -> Result<String, HashError> {
    let err = |e: &dyn std::fmt::Display| HashError::new(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| err(&e))?;
    let params = argon2.params().clone();
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = Zeroizing::new(vec![0u8; len]);
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, blocks.for_params(&params))
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
        hash: Some(Output::new(&out[..]).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (its own algorithm and cost), in `blocks`.
pub fn verify_with(password: &[u8], phc: &str, blocks: &mut BlockBuffer) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let (salt, expected) = (parsed.salt?, parsed.hash?);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        argon2
            .hash_password_into_with_memory(password, &salt, &mut out, blocks.for_params(&params))
            .ok()?;
        Some(out.as_slice().ct_eq(expected.as_bytes()).into())
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    fn cheap() -> HashingParams {
        HashingParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_refuse() {
        let pool = HashPool::start(cheap(), Admission::default());
        let h = pool.hash("Passw0rd!".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(pool.verify("Passw0rd!".into(), h.clone()).await.unwrap());
        assert!(!pool.verify("passw0rd!".into(), h.clone()).await.unwrap());
        assert!(!pool.verify("x".into(), "not a hash".into()).await.unwrap());
        // The library's own verifier agrees, both ways.
        let argon2 = cheap().argon2().unwrap();
        assert!(argon2.verify_password(b"Passw0rd!", h.as_str()).is_ok());
        let theirs = cheap().hash_blocking("Passw0rd!").unwrap();
        assert!(pool.verify("Passw0rd!".into(), theirs).await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_of_another_cost_still_verifies() {
        let pool = HashPool::start(cheap(), Admission::default());
        let other = HashingParams {
            memory_kib: 256,
            iterations: 2,
            parallelism: 2,
        };
        let h = other.hash_blocking("Passw0rd!").unwrap();
        assert!(pool.verify("Passw0rd!".into(), h.clone()).await.unwrap());
        assert!(!pool.verify("Passw0rd?".into(), h).await.unwrap());
    }

    #[test]
    fn waiting_jobs_are_served_in_arrival_order() {
        // One worker, held on a gate, so every later job waits in the queue.
        let pool = HashPool::with_workers(cheap(), 1, 16, 0);
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (holding, held) = std::sync::mpsc::channel::<()>();
        pool.submit(Job::Run(Box::new(move || {
            let _ = holding.send(());
            let _ = gate.recv();
        })))
        .unwrap();
        held.recv().unwrap();
        let served = Arc::new(Mutex::new(Vec::new()));
        let (done, finished) = std::sync::mpsc::channel::<()>();
        for i in 0..12 {
            let (served, done) = (served.clone(), done.clone());
            pool.submit(Job::Run(Box::new(move || {
                served.lock().unwrap().push(i);
                let _ = done.send(());
            })))
            .unwrap();
        }
        open.send(()).unwrap();
        for _ in 0..12 {
            finished.recv().unwrap();
        }
        assert_eq!(*served.lock().unwrap(), (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_queue_is_refused_not_waited_for() {
        // No worker takes jobs: one waits in the queue and the next is refused at once.
        let pool = HashPool::with_workers(cheap(), 0, 1, 0);
        let job = || Job::Verify {
            password: Zeroizing::new("x".into()),
            phc: String::new(),
            reply: oneshot::channel().0,
        };
        assert!(pool.submit(job()).is_ok());
        assert!(matches!(
            pool.submit(job()),
            Err(PoolError::Busy {
                retry_after_secs: 1
            })
        ));
    }

    #[test]
    fn workers_run_at_the_configured_nice_value_and_the_rest_does_not() {
        let pool = HashPool::with_workers(cheap(), 1, 4, 7);
        let (tx, rx) = std::sync::mpsc::channel();
        pool.submit(Job::Run(Box::new(move || {
            let me = rustix::thread::gettid();
            let _ = tx.send(rustix::process::getpriority_process(Some(me)));
        })))
        .unwrap();
        assert_eq!(rx.recv().unwrap().unwrap(), 7);
        // Only the worker thread was niced, not the thread (the server) that started it.
        let here = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_ne!(here, 7);
    }
}
