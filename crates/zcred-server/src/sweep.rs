//! The sweep: what expires goes, in the background (every [`INTERVAL`] while the service runs)
//! and on the operator's request (`POST /zcred/v1/admin/sweep`).
//!
//! - Expired blobs (api.md OP-16).
//! - Abandoned applications (OP-12): APPLIED and CREATED records older than the setting
//!   `abandoned_after` (30 days by default) become `PURGED` tombstones without their values,
//!   which frees the holder's duplicate check; their vcId then answers 404.
//! - Credential bodies past their download window (OP-14): the VC is dropped from the record,
//!   which stays for the 410, its status and SAIDs (the first download after the window does
//!   the same).
//!
//! Every change is a compare-and-set on the record's text, so a sweep that races a create or a
//! submit either loses (the record changed: it is left for the next sweep) or wins (the other
//! call then gets 409).

use std::time::Duration;

use axum::extract::State;
use serde_json::json;

use crate::body::Body;
use crate::error::{ApiError, Envelope};
use crate::vc::{self, VcRecord};
use crate::{AppState, Store};

/// How often the background sweep runs.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// Records read per page.
const PAGE: usize = 500;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Expired blobs.
    pub blobs: u64,
    /// Abandoned applications made tombstones.
    pub abandoned: u64,
    /// Credential bodies dropped after their window.
    pub bodies: u64,
}

/// One sweep at `now_ms` (Unix ms).
pub async fn sweep<S: Store>(state: &AppState<S>, now_ms: i64) -> Result<Swept, ApiError> {
    let store = state.journal().store();
    let mut swept = Swept {
        blobs: store
            .purge_blobs(now_ms)
            .await
            .map_err(ApiError::unavailable)?,
        ..Swept::default()
    };
    // Keys whose rate buckets are full again hold nothing worth keeping.
    store
        .purge_rates(now_ms.saturating_mul(1000))
        .await
        .map_err(ApiError::unavailable)?;
    let abandoned_before = now_ms.saturating_sub(state.settings().abandoned_after_ms);
    let mut after = String::new();
    loop {
        let page = store
            .states_after(vc::RECORD_PREFIX, &after, PAGE)
            .await
            .map_err(ApiError::unavailable)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (_, text) in page {
            let Ok(record) = serde_json::from_str::<VcRecord>(&text) else {
                continue;
            };
            let (next, count) = match record.status.as_str() {
                "APPLIED" | "CREATED" if record.created < abandoned_before => {
                    (vc::tombstone(&record), &mut swept.abandoned)
                }
                "ISSUED" | "REVOKED"
                    if record.vc.is_some()
                        && record.download_expiry.is_some_and(|e| e < now_ms) =>
                {
                    (vc::without_body(&record), &mut swept.bodies)
                }
                _ => continue,
            };
            match vc::replace(state, &text, &next).await {
                Ok(()) => *count += 1,
                // Changed meanwhile: the next sweep looks again.
                Err(e) if e.status == axum::http::StatusCode::CONFLICT => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(swept)
}

/// Sweeps every [`INTERVAL`] (the first after one interval) until the task is dropped.
pub async fn sweep_forever<S: Store>(state: AppState<S>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + INTERVAL, INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sweep(&state, crate::blobs::now_ms()).await {
            Ok(s) => tracing::info!(
                blobs = s.blobs,
                abandoned = s.abandoned,
                bodies = s.bodies,
                "sweep"
            ),
            Err(e) => tracing::warn!(error = %e.message.message, "sweep failed"),
        }
    }
}

/// `POST /zcred/v1/admin/sweep` `{}` → `{blobs, abandoned, bodies}`. Its body holds nothing,
/// but is read like every other (a JSON object, at most 1 MiB).
pub async fn endpoint<S: Store>(
    State(state): State<AppState<S>>,
    Body(_): Body,
) -> Result<Envelope, ApiError> {
    let s = sweep(&state, crate::blobs::now_ms()).await?;
    Ok(Envelope(json!({
        "blobs": s.blobs,
        "abandoned": s.abandoned,
        "bodies": s.bodies,
    })))
}
