//! The issuer an issuer-only call acts for (api.md §1.2: a key bound to that issuer, an
//! approved issuer with its agent), and the service's anchoring agent for it (ledger.md: the
//! agent's keys are sealed under the master key; the agent signs the `ixn`s that anchor
//! templates, issuances and revocations).

use serde_json::{Map, Value};
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_ledger::flows::Controller;
use zcred_ledger::verify::KeyState;
use zcred_ledger::{Key, Ledger, Message};
use zcred_model::Did;
use zcred_store::{JournalError, Write};
use zeroize::Zeroizing;

use crate::access::Caller;
use crate::admin::IssuerStatus;
use crate::error::ApiError;
use crate::{AppState, Store};

/// The sealed record of an agent's keys at its inception: `agent/<agent prefix>/0`.
pub fn record_name(agent: &str, sn: u64) -> String {
    format!("agent/{agent}/{sn}")
}

/// The sealed record of an agent's keys after a rotation at `sn` that commits to `next`:
/// `agent/<agent prefix>/<sn>/<next-key digest>`. Sealed records are immutable, and a rotation
/// blob may expire unsubmitted; naming the record by the fresh next key lets a later rotation
/// at the same `sn` seal its own keys.
pub fn rotated_record_name(agent: &str, sn: u64, next: &str) -> String {
    format!("agent/{agent}/{sn}/{next}")
}

/// The sealed record holding the keys in force of the agent whose key state is `kel`.
pub fn record_in_force(kel: &KeyState) -> String {
    match (kel.last_est_sn, kel.next.first()) {
        (0, _) | (_, None) => record_name(kel.prefix.as_str(), kel.last_est_sn),
        (sn, Some(next)) => rotated_record_name(kel.prefix.as_str(), sn, next.as_str()),
    }
}

/// The agent's current and next keys, opened from their sealed record.
pub struct AgentKeys {
    current: SigningKey,
    next: SigningKey,
}

impl std::fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKeys").finish_non_exhaustive()
    }
}

impl AgentKeys {
    /// The keys as a pair, to start a controller with.
    pub fn into_pair(self) -> (SigningKey, SigningKey) {
        (self.current, self.next)
    }

    /// The pre-committed next key.
    pub fn next(&self) -> &SigningKey {
        &self.next
    }

    /// A controller for the agent at its recorded `state`.
    pub fn resume(self, state: &KeyState) -> Result<Controller, ApiError> {
        Controller::resume(state, self.current, self.next).ok_or_else(|| {
            ApiError::internal(format!(
                "the sealed keys of agent {} are not its keys in force",
                state.prefix
            ))
        })
    }
}

/// Seals an agent's `current` and `next` keys under `record`.
pub async fn seal<S: Store>(
    state: &AppState<S>,
    record: &str,
    current: &SigningKey,
    next: &SigningKey,
) -> Result<(), ApiError> {
    let seeds = Zeroizing::new(format!("{}\n{}", *current.to_zetrix(), *next.to_zetrix()));
    let sealed = state
        .master()
        .seal(record, seeds.as_bytes())
        .map_err(ApiError::internal)?;
    state
        .journal()
        .store()
        .put_sealed(record, &sealed)
        .await
        .map_err(ApiError::unavailable)
}

/// Opens the sealed agent keys under `record`.
pub async fn keys<S: Store>(state: &AppState<S>, record: &str) -> Result<AgentKeys, ApiError> {
    let sealed = state
        .journal()
        .store()
        .sealed(record)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::internal(format!("sealed keys {record} are missing")))?;
    let seeds = state
        .master()
        .open(record, &sealed)
        .map_err(ApiError::internal)?;
    let seeds = std::str::from_utf8(&seeds).map_err(ApiError::internal)?;
    let (current, next) = seeds
        .split_once('\n')
        .ok_or_else(|| ApiError::internal("sealed agent keys are malformed"))?;
    Ok(AgentKeys {
        current: SigningKey::from_zetrix(current).map_err(ApiError::internal)?,
        next: SigningKey::from_zetrix(next).map_err(ApiError::internal)?,
    })
}

/// An approved issuer, as an issuer-only call needs it.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// Its DID.
    pub did: Did,
    /// Its KEL prefix.
    pub prefix: String,
    /// Its key in force (after a rotation, no longer the DID's key).
    pub key: VerifyingKey,
    /// Its establishment event in force (sn, SAID), for endorsements.
    pub establishment: (u64, String),
    /// Its anchoring agent's prefix.
    pub agent: String,
    /// The agent's registry.
    pub registry: String,
}

/// The issuer `did`, for a call by `caller`: the key must be bound to it (403), and it must
/// be registered, delegated to its agent and approved by the operator (403, saying which step
/// is missing).
pub async fn issuer<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    did: &Did,
) -> Result<Issuer, ApiError> {
    match &caller.issuer {
        Some(bound) if bound == did.as_str() => {}
        Some(bound) => {
            return Err(ApiError::forbidden(format!(
                "this API key is bound to issuer {bound}, not {did}"
            )))
        }
        None => {
            return Err(ApiError::forbidden(format!(
                "this API key is not bound to an issuer; issuer calls for {did} need a key made with --issuer {did}"
            )))
        }
    }
    let original = did
        .key()
        .map_err(|e| ApiError::invalid_format(format!("{did}: {e}")))?;
    let prefix = Key::new(&original, true).to_string();
    let found = state
        .ledger(|l| {
            let kel = l.key_state(&prefix)?.clone();
            let agent = l.delegate_of(&prefix).map(|a| a.prefix.to_string());
            let registry = agent.as_deref().and_then(|a| {
                l.registries()
                    .find(|r| r.issuer.as_str() == a)
                    .map(|r| r.id.to_string())
            });
            Some((kel, agent, registry))
        })
        .await?;
    let Some((kel, agent, registry)) = found else {
        return Err(ApiError::forbidden(format!(
            "issuer {did} is not registered here; onboard it first"
        )));
    };
    let (Some(agent), Some(registry)) = (agent, registry) else {
        return Err(ApiError::forbidden(format!(
            "issuer {did} has not delegated the service's anchoring agent yet; finish onboarding first"
        )));
    };
    if crate::admin::issuer_status(state.journal(), did).await? != IssuerStatus::Approved {
        return Err(ApiError::forbidden(format!(
            "issuer {did} is pending the operator's approval (onboarding due diligence)"
        )));
    }
    let key = kel
        .keys
        .first()
        .and_then(|k| k.verifying_key().ok())
        .ok_or_else(|| ApiError::internal("an issuer KEL has no usable key"))?;
    Ok(Issuer {
        did: did.clone(),
        prefix,
        key,
        establishment: (kel.last_est_sn, kel.last_est_said.to_string()),
        agent,
        registry,
    })
}

/// Runs `build` with `issuer`'s agent picked up at its recorded state, under the journal's
/// lock (so that concurrent anchors by one agent never race for a sequence number), and
/// records what it builds, using up `blob` when given; in a task of its own, so that a client
/// that hangs up cannot cut the write short.
pub async fn anchored<S: Store, T: Send + 'static>(
    state: &AppState<S>,
    issuer: &Issuer,
    blob: Option<String>,
    build: impl FnOnce(&Ledger, &mut Controller) -> Result<(Vec<Message>, Write, T), ApiError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let record = state
        .ledger(|l| l.key_state(&issuer.agent).map(record_in_force))
        .await?
        .ok_or_else(|| ApiError::internal("the issuer's agent has no KEL"))?;
    let keys = keys(state, &record).await?;
    let agent = issuer.agent.clone();
    let task_state = state.clone();
    let outcome = tokio::spawn(async move {
        task_state
            .journal()
            .write_with(blob.clone().as_deref(), move |ledger| {
                let kel = ledger
                    .key_state(&agent)
                    .ok_or_else(|| ApiError::internal("the issuer's agent has no KEL"))?;
                let mut controller = keys.resume(kel)?;
                let (mut messages, mut write, out) = build(ledger, &mut controller)?;
                messages.append(&mut write.messages);
                write.messages = messages;
                write.consume_blob = blob.clone();
                Ok::<_, ApiError>((write, out))
            })
            .await
    })
    .await
    .map_err(|e| ApiError::internal(format!("the write task failed: {e}")))?;
    match outcome {
        Ok(result) => result,
        Err(e) => Err(journal_error(e)),
    }
}

/// The status for a refused journal write: a used blob is 404 (api.md §1.5), a record that
/// changed meanwhile or a refused event 409, a store failure 500.
pub fn journal_error(e: JournalError) -> ApiError {
    match e {
        JournalError::BlobGone => {
            ApiError::not_found("the blob is unknown, expired or already submitted")
        }
        JournalError::Changed(_) | JournalError::Taken { .. } => ApiError::invalid_state(
            "the record changed while this call ran (a concurrent call won); read it again",
        ),
        e @ (JournalError::Store(_) | JournalError::Replay(_)) => ApiError::unavailable(e),
        e => ApiError::internal(e),
    }
}

/// A JSON object from a state row written by this service.
pub fn row(text: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::internal("a stored record is not a JSON object")),
    }
}
