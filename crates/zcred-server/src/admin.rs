//! The operator's side (issue 4: onboarding due diligence, API keys over HTTP).
//!
//! Issuers are `PENDING` from their inception until an operator approves them; approval is an
//! operator decision, not a ledger fact, so it is a state row (`issuer/<did>`) in the store, and
//! only approval writes it. Admin endpoints live under `/zcred/v1/admin/` and take the admin
//! token (`Authorization: Bearer <token>`, from `--admin-token-file`) instead of an API key;
//! without a configured token they answer 404. Tokens are compared as SHA-256 digests in
//! constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zcred_ledger::Key;
use zcred_model::Did;
use zcred_store::{Append, Journal, StateUpdate};
use zeroize::Zeroizing;

use crate::body::{optional_string, string, Body};
use crate::error::{ApiError, Envelope};
use crate::{access, AppState, Store};

/// An issuer's onboarding status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuerStatus {
    /// Registered, waiting for the operator.
    Pending,
    /// Approved by the operator: may register templates and issue.
    Approved,
}

impl IssuerStatus {
    /// The text form, uppercase as the API's statuses are.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerStatus::Pending => "PENDING",
            IssuerStatus::Approved => "APPROVED",
        }
    }
}

fn status_key(did: &Did) -> String {
    format!("issuer/{did}")
}

/// The status of `did`'s onboarding (the issuer's KEL must exist; the caller checks).
pub async fn issuer_status<S: Store>(
    journal: &Journal<S>,
    did: &Did,
) -> Result<IssuerStatus, ApiError> {
    let row = journal
        .store()
        .state(&status_key(did))
        .await
        .map_err(ApiError::unavailable)?;
    Ok(match row.as_deref() {
        Some(text) if text.contains("\"APPROVED\"") => IssuerStatus::Approved,
        _ => IssuerStatus::Pending,
    })
}

/// Approves `did`: its KEL and its anchoring agent must be recorded (onboarding finished).
/// Returns whether it was pending before. Used by the endpoint and by `zcred admin issuer
/// approve`.
pub async fn approve<S: Store>(
    journal: &Journal<S>,
    did: &Did,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let key = did
        .key()
        .map_err(|e| ApiError::invalid_format(format!("/did: {e}")).at("/did"))?;
    let prefix = Key::new(&key, true).to_string();
    let known = journal
        .key_state(&prefix)
        .await
        .map_err(ApiError::unavailable)?
        .is_some();
    let delegated = !journal
        .delegates(&prefix)
        .await
        .map_err(ApiError::unavailable)?
        .is_empty();
    if !known {
        return Err(ApiError::not_found(format!(
            "issuer {did} is not registered here"
        )));
    }
    if !delegated {
        return Err(ApiError::invalid_state(format!(
            "issuer {did} has not delegated the service's anchoring agent yet; finish onboarding first"
        )));
    }
    let was_pending = issuer_status(journal, did).await? == IssuerStatus::Pending;
    if was_pending {
        let row = json!({ "status": IssuerStatus::Approved.as_str(), "approvedAt": now_ms });
        journal
            .store()
            .append(Append {
                events: vec![],
                states: vec![StateUpdate {
                    key: status_key(did),
                    value: row.to_string(),
                }],
                consume_blob: None,
                expect: vec![],
            })
            .await
            .map_err(ApiError::unavailable)?;
    }
    Ok(was_pending)
}

/// The admin token's digest, from the token text (surrounding white space ignored).
pub fn token_digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.trim().as_bytes()).into()
}

/// Middleware for the operator's paths: the admin token, compared in constant time.
pub async fn require_admin<S: Store>(
    State(state): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    if crate::routes::access_of(&req) != crate::routes::Access::Admin {
        return next.run(req).await;
    }
    let Some(expected) = state.admin_token() else {
        return ApiError::not_found("the admin API is not enabled (start with --admin-token-file)")
            .into_response();
    };
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().strip_prefix("Bearer "))
        .map(|t| Zeroizing::new(t.to_owned()));
    match presented {
        Some(token) if bool::from(token_digest(&token).ct_eq(expected)) => next.run(req).await,
        _ => ApiError::unauthenticated("the admin token is missing or wrong").into_response(),
    }
}

/// `POST /zcred/v1/admin/issuers/approve` `{did}` → `{did, status}`.
pub async fn approve_endpoint<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let did = Did::parse(string(&body, "did")?)
        .map_err(|e| ApiError::invalid_format(format!("/did: {e}")).at("/did"))?;
    approve(state.journal(), &did, crate::blobs::now_ms()).await?;
    Ok(Envelope(
        json!({ "did": did.as_str(), "status": IssuerStatus::Approved.as_str() }),
    ))
}

/// `POST /zcred/v1/admin/keys/create` `{plan, issuer?}` → `{apiKey, id, plan, issuer}`.
pub async fn create_key_endpoint<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let plan = access::plan_for_key(state.journal().store(), string(&body, "plan")?).await?;
    let issuer = optional_string(&body, "issuer")?
        .map(|did| {
            Did::parse(did)
                .map(|d| d.to_string())
                .map_err(|e| ApiError::invalid_format(format!("/issuer: {e}")).at("/issuer"))
        })
        .transpose()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (text, record) = access::new_key(&plan, issuer, now);
    state
        .journal()
        .store()
        .put_api_key(record.clone())
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Envelope(json!({
        "apiKey": text.as_str(),
        "id": record.id,
        "plan": record.plan,
        "issuer": record.issuer.map_or(Value::Null, Value::String),
    })))
}

/// `POST /zcred/v1/admin/plans/set` `{name, issuancesPerDay, requestsPerSecond}` → the plan.
/// `issuancesPerDay` may be `null` for no limit.
pub async fn set_plan_endpoint<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let name = string(&body, "name")?.to_owned();
    let count = |member: &str, max: u64| -> Result<Option<u64>, ApiError> {
        match body.get(member) {
            None => Err(ApiError::missing(&format!("/{member}"))),
            Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().filter(|n| *n <= max).map(Some).ok_or_else(|| {
                ApiError::invalid_format(format!(
                    "/{member} must be an integer from 0 to {max}, or null for no limit"
                ))
                .at(format!("/{member}"))
            }),
        }
    };
    let plan = access::Plan {
        name,
        issuances_per_day: count("issuancesPerDay", u64::MAX - 1)?.unwrap_or(u64::MAX),
        requests_per_second: count("requestsPerSecond", u64::from(u32::MAX - 1))?
            .map_or(u32::MAX, |n| n as u32),
    };
    access::set_plan(state.journal().store(), &plan).await?;
    Ok(Envelope(plan_json(&plan)))
}

/// A plan as JSON (`null` for no limit).
pub fn plan_json(plan: &access::Plan) -> Value {
    let limit = |n: u64, none: u64| if n == none { Value::Null } else { json!(n) };
    json!({
        "name": plan.name,
        "issuancesPerDay": limit(plan.issuances_per_day, u64::MAX),
        "requestsPerSecond": limit(u64::from(plan.requests_per_second), u64::from(u32::MAX)),
    })
}
