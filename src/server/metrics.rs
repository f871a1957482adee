//! `/metrics` in the Prometheus text format (version 0.0.4), written by hand: a handful of
//! counters and histograms do not need a client library.
//!
//! Requests are counted by method, route *template* (`/api/v1/verify/{token}`, never the raw
//! path, which carries tokens) and status; the argon2 queue, mail deliveries and throttle
//! refusals are counted where they happen. The mail queue's pending/sent/failed counts are read
//! from the store at scrape time, so every process reports the one truth of the database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::store::MailQueueReport;

/// The upper bounds (seconds) of every latency histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram that many threads add to without a lock.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Adds one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| secs <= *le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with the extra `labels`
    /// (`k="v",` pieces, possibly empty).
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (le, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let labels = labels.trim_end_matches(',');
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// What the argon2 pool reports (see [`super::HashPool::stats`]).
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Jobs waiting for a worker now.
    pub depth: u64,
    /// Jobs refused because the queue was full, since start.
    pub rejected: u64,
    /// Worker threads.
    pub workers: usize,
}

/// One route's requests: counts by status and the latency of all of them.
#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// The counters of one server process.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By (method, route template).
    routes: Mutex<BTreeMap<(&'static str, String), RouteStats>>,
    /// Mail delivery attempts by outcome (`sent`, `retrying`, `given_up`).
    mail: Mutex<BTreeMap<&'static str, u64>>,
    /// Guesses by throttle scope and outcome (`delayed`, `held`).
    throttle: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

/// A method as a label: the standard ones by name, anything else as `other` (a client must
/// not be able to add label values at will).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_default() += 1;
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let stats = routes.entry((method, route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        stats.latency.observe(took);
    }

    /// Counts one mail delivery attempt by its outcome.
    pub fn mail_attempt(&self, outcome: &'static str) {
        bump(&self.mail, outcome);
    }

    /// Counts one guess refused by the throttle (`outcome`: `delayed` or `held`).
    pub fn throttled(&self, scope: &'static str, outcome: &'static str) {
        bump(&self.throttle, (scope, outcome));
    }

    /// The whole exposition.
    pub fn render(
        &self,
        pool: PoolStats,
        hash_wait: &Histogram,
        queue: Option<&MailQueueReport>,
    ) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP tobira_http_requests_total Requests answered, by method, route template and status.\n\
             # TYPE tobira_http_requests_total counter\n",
        );
        let routes = self.routes.lock().map(|r| {
            r.iter()
                .map(|((m, route), s)| (*m, escape(route), s.by_status.clone()))
                .collect::<Vec<_>>()
        });
        for (method, route, by_status) in routes.iter().flatten() {
            for (status, n) in by_status {
                let _ = writeln!(
                    out,
                    "tobira_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP tobira_http_request_duration_seconds Time from request to response head, by method and route template.\n\
             # TYPE tobira_http_request_duration_seconds histogram\n",
        );
        if let Ok(routes) = self.routes.lock() {
            for ((method, route), s) in routes.iter() {
                let labels = format!("method=\"{method}\",route=\"{}\",", escape(route));
                s.latency
                    .write(&mut out, "tobira_http_request_duration_seconds", &labels);
            }
        }
        let _ = write!(
            out,
            "# HELP tobira_hash_queue_depth Password hashes waiting for an argon2 worker.\n\
             # TYPE tobira_hash_queue_depth gauge\n\
             tobira_hash_queue_depth {}\n\
             # HELP tobira_hash_workers argon2 worker threads.\n\
             # TYPE tobira_hash_workers gauge\n\
             tobira_hash_workers {}\n\
             # HELP tobira_hash_rejected_total Password hashes refused because the queue was full (answered 503).\n\
             # TYPE tobira_hash_rejected_total counter\n\
             tobira_hash_rejected_total {}\n\
             # HELP tobira_hash_wait_seconds Time a password hash waited for a worker.\n\
             # TYPE tobira_hash_wait_seconds histogram\n",
            pool.depth, pool.workers, pool.rejected
        );
        hash_wait.write(&mut out, "tobira_hash_wait_seconds", "");
        out.push_str(
            "# HELP tobira_mail_delivery_attempts_total Mail delivery attempts of this process, by outcome.\n\
             # TYPE tobira_mail_delivery_attempts_total counter\n",
        );
        let mail = self.mail.lock().map(|m| m.clone()).unwrap_or_default();
        for outcome in ["sent", "retrying", "given_up"] {
            let n = mail.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "tobira_mail_delivery_attempts_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        if let Some(q) = queue {
            let _ = write!(
                out,
                "# HELP tobira_mail_queue Mails in the queue (the database, all processes), by status.\n\
                 # TYPE tobira_mail_queue gauge\n\
                 tobira_mail_queue{{status=\"pending\"}} {}\n\
                 tobira_mail_queue{{status=\"sent\"}} {}\n\
                 tobira_mail_queue{{status=\"failed\"}} {}\n",
                q.pending, q.sent, q.failed
            );
        }
        out.push_str(
            "# HELP tobira_throttle_refusals_total Guesses refused before being checked, by throttle scope and outcome (delayed, held).\n\
             # TYPE tobira_throttle_refusals_total counter\n",
        );
        let throttle = self.throttle.lock().map(|m| m.clone()).unwrap_or_default();
        for ((scope, outcome), n) in throttle {
            let _ = writeln!(
                out,
                "tobira_throttle_refusals_total{{scope=\"{scope}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The middleware that counts every request under its route template (`unmatched` for the
/// 404 fallback, so that probing random paths adds no label values).
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    metrics.request(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.request("GET", "/a/{x}", 200, Duration::from_millis(3));
        m.request("GET", "/a/{x}", 200, Duration::from_millis(30));
        m.request("GET", "/a/{x}", 404, Duration::from_secs(60));
        m.request("POST", "/q\"", 500, Duration::ZERO);
        m.throttled("account", "held");
        let text = m.render(
            PoolStats {
                depth: 2,
                rejected: 1,
                workers: 4,
            },
            &Histogram::default(),
            None,
        );
        for line in [
            "tobira_http_requests_total{method=\"GET\",route=\"/a/{x}\",status=\"200\"} 2",
            "tobira_http_requests_total{method=\"GET\",route=\"/a/{x}\",status=\"404\"} 1",
            "tobira_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{x}\",le=\"0.001\"} 0",
            "tobira_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{x}\",le=\"0.005\"} 1",
            "tobira_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{x}\",le=\"0.05\"} 2",
            "tobira_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{x}\",le=\"10\"} 2",
            "tobira_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{x}\",le=\"+Inf\"} 3",
            "tobira_http_request_duration_seconds_count{method=\"GET\",route=\"/a/{x}\"} 3",
            "tobira_http_requests_total{method=\"POST\",route=\"/q\\\"\",status=\"500\"} 1",
            "tobira_hash_queue_depth 2",
            "tobira_hash_rejected_total 1",
            "tobira_hash_wait_seconds_count 0",
            "tobira_throttle_refusals_total{scope=\"account\",outcome=\"held\"} 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}
