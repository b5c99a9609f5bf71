//! API keys and plans (api.md §1.2, OP-1).
//!
//! A key is `zk_` followed by base64url of 32 random bytes. Only its SHA-256 is stored; the key
//! text is shown once, when it is made. Keys are looked up by hash, so no key comparison
//! happens in this process.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use zcred_store::ApiKey;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::{AppState, Store};

/// A subscription plan: what a key may use (quotas are enforced in a later release; the plan
/// is recorded with every key now so that keys need not be re-issued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Its name.
    pub name: &'static str,
    /// Issuances per day.
    pub issuances_per_day: u64,
    /// Requests per second.
    pub requests_per_second: u32,
}

/// The plans a key can be made for.
pub const PLANS: [Plan; 3] = [
    Plan {
        name: "free",
        issuances_per_day: 100,
        requests_per_second: 5,
    },
    Plan {
        name: "standard",
        issuances_per_day: 10_000,
        requests_per_second: 50,
    },
    Plan {
        name: "unlimited",
        issuances_per_day: u64::MAX,
        requests_per_second: u32::MAX,
    },
];

/// The plan named `name`.
pub fn plan(name: &str) -> Result<Plan, String> {
    PLANS
        .iter()
        .copied()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = PLANS.iter().map(|p| p.name).collect();
            format!("unknown plan {name:?}; the plans are {}", names.join(", "))
        })
}

/// Lowercase hex SHA-256 of a key's text.
pub fn hash_key(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new key for `plan`, bound to `issuer` when given: its text (shown once) and its record.
pub fn new_key(plan: Plan, issuer: Option<String>, now: i64) -> (Zeroizing<String>, ApiKey) {
    let mut raw = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(raw.as_mut());
    let text = Zeroizing::new(format!("zk_{}", URL_SAFE_NO_PAD.encode(raw.as_ref())));
    let hash = hash_key(&text);
    let record = ApiKey {
        id: hash[..12].to_owned(),
        hash,
        plan: plan.name.to_owned(),
        issuer,
        created: now,
        disabled: false,
    };
    (text, record)
}

/// Who is calling: the key's record, put into the request's extensions by [`require_key`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's public handle.
    pub key_id: String,
    /// The SHA-256 of the key (unique; owns the blobs the key asks for).
    pub key_hash: String,
    /// Its plan.
    pub plan: String,
    /// The issuer DID it is bound to.
    pub issuer: Option<String>,
}

/// Paths served without a key: health and DID resolution.
fn is_public(path: &str) -> bool {
    // Admin paths take the admin token instead (checked by `admin::require_admin`).
    path == "/health"
        || path.starts_with("/1.0/identifiers/")
        || path.starts_with("/zcred/v1/admin/")
}

/// The key in `Authorization: Bearer <key>` (or a bare `Authorization: <key>`).
fn presented_key(req: &Request) -> Result<&str, ApiError> {
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated("an API key is required: send Authorization: Bearer <key>")
    })?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?
        .trim();
    let key = match text.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => {
            return Err(ApiError::unauthenticated(
                "the Authorization header must be Bearer <key>",
            ))
        }
        None => text,
    };
    if key.is_empty() {
        return Err(ApiError::unauthenticated("the API key is empty"));
    }
    Ok(key)
}

/// Middleware: every path but the public ones needs a known, enabled key (401 first, before
/// any other check, api.md §1.4).
pub async fn require_key<S: Store>(
    State(state): State<AppState<S>>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let hash = match presented_key(&req) {
        Ok(key) => hash_key(key),
        Err(e) => return e.into_response(),
    };
    match state.journal().store().api_key(&hash).await {
        Ok(Some(key)) if !key.disabled => {
            req.extensions_mut().insert(Caller {
                key_id: key.id,
                key_hash: key.hash,
                plan: key.plan,
                issuer: key.issuer,
            });
            next.run(req).await
        }
        Ok(_) => ApiError::unauthenticated("unknown or disabled API key").into_response(),
        Err(e) => ApiError::unavailable(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_only_their_hash_is_kept() {
        let plan = plan("free").unwrap();
        let (a, rec_a) = new_key(plan, None, 0);
        let (b, _) = new_key(plan, None, 0);
        assert_ne!(*a, *b);
        assert!(a.starts_with("zk_") && a.len() == 46, "{}", *a);
        assert_eq!(rec_a.hash, hash_key(&a));
        assert!(!format!("{rec_a:?}").contains(&a[3..]));
        assert!(plan_named_wrongly());
    }

    fn plan_named_wrongly() -> bool {
        plan("gold").is_err_and(|e| e.contains("free, standard, unlimited"))
    }
}
