//! Prometheus metrics (text format 0.0.4) at `GET /metrics`: requests by method, route
//! template and status, and request latency histograms by method and route template. The
//! route is the matched template (`/1.0/identifiers/{did}`), never the raw path, so DIDs and
//! ids do not become labels. Served behind the admin token: it shows every issuer's traffic.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    issuances: std::sync::atomic::AtomicU64,
    revocations: std::sync::atomic::AtomicU64,
}

/// A lifecycle event counted for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    /// A credential issued (8.3).
    Issuance,
    /// A credential revoked (9.2).
    Revocation,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Metrics {
    /// Counts one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        *lock(&self.requests)
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let seconds = took.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// Counts one issuance or revocation.
    pub fn count(&self, what: Counted) {
        let counter = match what {
            Counted::Issuance => &self.issuances,
            Counted::Revocation => &self.revocations,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, help, counter) in [
            (
                "zcred_issuances_total",
                "Credentials issued (8.3) by this process.",
                &self.issuances,
            ),
            (
                "zcred_revocations_total",
                "Credentials revoked (9.2) by this process.",
                &self.revocations,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(
                out,
                "{name} {}",
                counter.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP zcred_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE zcred_http_requests_total counter\n");
        for ((method, route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "zcred_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP zcred_http_request_duration_seconds HTTP request latency by method and route.\n",
        );
        out.push_str("# TYPE zcred_http_request_duration_seconds histogram\n");
        for ((method, route), h) in lock(&self.latency).iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "zcred_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "zcred_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "zcred_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "zcred_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/health", 200, Duration::from_micros(500));
        m.observe("GET", "/health", 200, Duration::from_millis(30));
        m.observe("POST", "/x", 400, Duration::from_millis(3));
        m.count(Counted::Issuance);
        let text = m.render();
        assert!(text.contains("zcred_issuances_total 1\n"), "{text}");
        assert!(text.contains("zcred_revocations_total 0\n"), "{text}");
        assert!(
            text.contains(
                "zcred_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text
            .contains("zcred_http_requests_total{method=\"POST\",route=\"/x\",status=\"400\"} 1"));
        assert!(text.contains("zcred_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",le=\"0.001\"} 1"));
        assert!(text.contains("zcred_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",le=\"0.05\"} 2"));
        assert!(text.contains(
            "zcred_http_request_duration_seconds_count{method=\"GET\",route=\"/health\"} 2"
        ));
    }
}
