//! Every POST endpoint of the real axum app, in-process over the in-memory store (see
//! `src/api.rs` for the fixture). The first byte picks the route from
//! `zcred_server::routes::ROUTES` (POST rows, `/enc/` twins included); the rest is the body,
//! sent with a valid API key (the admin token on the operator's routes). For an `/enc/` twin,
//! a first byte below 128 seals the body with the service's key, 128 and above sends it as is.
//!
//! Properties: no status is 5xx; a plain answer is JSON (the `{object, messages}` envelope); a
//! sealed 2xx answer opens with the request's channel, to JSON.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use zcred_fuzz::api::{fuzzed_routes, Api};
use zcred_server::routes::Route;

fn routes() -> &'static [&'static Route] {
    static ROUTES: OnceLock<Vec<&'static Route>> = OnceLock::new();
    ROUTES.get_or_init(fuzzed_routes)
}

/// `ZCRED_FUZZ_TRACE=1`: print each request's route and answer (to see what seeds reach).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ZCRED_FUZZ_TRACE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let api = Api::get();
    let route = routes()[usize::from(selector) % routes().len()];
    let body = api.substitute(body);
    let sealed = selector < 128 && route.twin.is_some();
    let answer = api.post(route, &body, sealed);
    if trace() {
        eprintln!(
            "http_api: POST {}{} -> {}: {}",
            route.path,
            if sealed { " (sealed)" } else { "" },
            answer.status,
            String::from_utf8_lossy(&answer.body.slice(..answer.body.len().min(300)))
        );
    }
    assert!(
        answer.status.as_u16() < 500,
        "POST {} answered {}: {}",
        route.path,
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    match answer.channel {
        Some(channel) if answer.status.is_success() => {
            let text = std::str::from_utf8(&answer.body).expect("a sealed answer is text");
            let opened = channel.open(text).unwrap_or_else(|e| {
                panic!("POST {}: the sealed answer does not open: {e}", route.path)
            });
            serde_json::from_slice::<Value>(&opened).unwrap_or_else(|e| {
                panic!("POST {}: the opened answer is not JSON: {e}", route.path)
            });
        }
        _ => {
            serde_json::from_slice::<Value>(&answer.body).unwrap_or_else(|e| {
                panic!(
                    "POST {} answered {} with a body that is not JSON ({e}): {}",
                    route.path,
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                )
            });
        }
    }
});
