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

/// A subscription plan: what a key may use. Three are built in; an operator defines more
/// (`zcred admin plan set`, `POST /zcred/v1/admin/plans/set`), kept as state rows `plan/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its name.
    pub name: String,
    /// Issuances per UTC day (`u64::MAX`: no limit).
    pub issuances_per_day: u64,
    /// Requests per second (`u32::MAX`: no limit).
    pub requests_per_second: u32,
}

/// The built-in plans: name, issuances per day, requests per second.
pub const BUILT_IN: [(&str, u64, u32); 3] = [
    ("free", 100, 5),
    ("standard", 10_000, 50),
    ("unlimited", u64::MAX, u32::MAX),
];

fn built_in(name: &str) -> Option<Plan> {
    BUILT_IN.iter().find(|(n, _, _)| *n == name).map(
        |&(name, issuances_per_day, requests_per_second)| Plan {
            name: name.to_owned(),
            issuances_per_day,
            requests_per_second,
        },
    )
}

/// The state row of an operator-defined plan.
pub fn plan_row(name: &str) -> String {
    format!("plan/{name}")
}

/// A plan name: 1–32 of `a-z`, `0-9`, `-`, `_`.
pub fn check_plan_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "plan name {name:?} must be 1–32 characters of a-z, 0-9, '-' and '_'"
        ))
    }
}

/// The plan named `name`: built in, or defined by the operator. `Ok(None)` when unknown.
pub async fn find_plan<S: zcred_store::LedgerStore>(
    store: &S,
    name: &str,
) -> Result<Option<Plan>, zcred_store::StoreError> {
    if let Some(plan) = built_in(name) {
        return Ok(Some(plan));
    }
    if check_plan_name(name).is_err() {
        return Ok(None);
    }
    let Some(row) = store.state(&plan_row(name)).await? else {
        return Ok(None);
    };
    let row: serde_json::Value = serde_json::from_str(&row).unwrap_or_default();
    let (Some(issuances_per_day), Some(requests_per_second)) = (
        row["issuancesPerDay"].as_u64(),
        row["requestsPerSecond"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok()),
    ) else {
        return Ok(None);
    };
    Ok(Some(Plan {
        name: name.to_owned(),
        issuances_per_day,
        requests_per_second,
    }))
}

/// The plan a new key is made for: 400 naming the plans when unknown.
pub async fn plan_for_key<S: zcred_store::LedgerStore>(
    store: &S,
    name: &str,
) -> Result<Plan, ApiError> {
    find_plan(store, name)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _, _)| *n).collect();
            ApiError::invalid_format(format!(
                "unknown plan {name:?}; the built-in plans are {}, and an operator may define more with `zcred admin plan set`",
                names.join(", ")
            ))
            .at("/plan")
        })
}

/// Defines (or redefines) an operator plan. Built-in plans cannot be redefined (400).
pub async fn set_plan<S: zcred_store::LedgerStore>(store: &S, plan: &Plan) -> Result<(), ApiError> {
    check_plan_name(&plan.name).map_err(|e| ApiError::invalid_format(e).at("/name"))?;
    if built_in(&plan.name).is_some() {
        return Err(ApiError::invalid_request(format!(
            "{} is a built-in plan and cannot be redefined; choose another name",
            plan.name
        ))
        .at("/name"));
    }
    if plan.requests_per_second == 0 {
        return Err(
            ApiError::invalid_format("requestsPerSecond must be at least 1")
                .at("/requestsPerSecond"),
        );
    }
    let row = serde_json::json!({
        "issuancesPerDay": plan.issuances_per_day,
        "requestsPerSecond": plan.requests_per_second,
    });
    store
        .append(zcred_store::Append {
            events: vec![],
            states: vec![zcred_store::StateUpdate {
                key: plan_row(&plan.name),
                value: row.to_string(),
            }],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .map(|_| ())
        .map_err(ApiError::unavailable)
}

/// Lowercase hex SHA-256 of a key's text.
pub fn hash_key(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new key for `plan`, bound to `issuer` when given: its text (shown once) and its record.
pub fn new_key(plan: &Plan, issuer: Option<String>, now: i64) -> (Zeroizing<String>, ApiKey) {
    let mut raw = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(raw.as_mut());
    let text = Zeroizing::new(format!("zk_{}", URL_SAFE_NO_PAD.encode(raw.as_ref())));
    let hash = hash_key(&text);
    let record = ApiKey {
        id: hash[..12].to_owned(),
        hash,
        plan: plan.name.clone(),
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

/// Paths served without an API key: DID resolution (public), and the operator's paths, which
/// take the admin token instead (checked by `admin::require_admin`).
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
    // Public routes need no key; admin routes have their own token (checked before this).
    if crate::routes::access_of(&req) != crate::routes::Access::Key {
        return next.run(req).await;
    }
    let hash = match presented_key(&req) {
        Ok(key) => hash_key(key),
        Err(e) => return e.into_response(),
    };
    match state.journal().store().api_key(&hash).await {
        Ok(Some(key)) if !key.disabled => {
            // A key whose plan is gone keeps the most modest rate.
            let per_second = match find_plan(state.journal().store(), &key.plan).await {
                Ok(found) => found.map_or(1, |p| p.requests_per_second),
                Err(e) => return ApiError::unavailable(e).into_response(),
            };
            // Counted in the store, so that the rate holds across every node.
            if per_second != u32::MAX {
                let now_us = crate::blobs::now_ms().saturating_mul(1000);
                match state
                    .journal()
                    .store()
                    .admit(&key.hash, now_us, per_second)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        let mut refused = ApiError::rate_limited(format!(
                            "the {} plan allows {per_second} requests per second; retry in 1 s",
                            key.plan
                        ));
                        refused.retry_after = Some(1);
                        return refused.into_response();
                    }
                    Err(e) => return ApiError::unavailable(e).into_response(),
                }
            }
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
        let plan = built_in("free").unwrap();
        let (a, rec_a) = new_key(&plan, None, 0);
        let (b, _) = new_key(&plan, None, 0);
        assert_ne!(*a, *b);
        assert!(a.starts_with("zk_") && a.len() == 46, "{}", *a);
        assert_eq!(rec_a.hash, hash_key(&a));
        assert!(!format!("{rec_a:?}").contains(&a[3..]));
        assert!(check_plan_name("trial-1").is_ok());
        for bad in ["", "Gold", "a b", &"x".repeat(33)] {
            assert!(check_plan_name(bad).is_err(), "{bad:?}");
        }
    }
}
