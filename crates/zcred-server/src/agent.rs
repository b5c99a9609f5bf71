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

/// The agent's current and next keys, opened from their sealed record: kept as their seeds'
/// text (zeroized on drop), so that a write tried again on fresh state can sign again.
pub struct AgentKeys {
    current: SigningKey,
    next: SigningKey,
    seeds: Zeroizing<String>,
}

impl std::fmt::Debug for AgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKeys").finish_non_exhaustive()
    }
}

/// The two signing keys of a sealed record's text.
fn key_pair(seeds: &str) -> Result<(SigningKey, SigningKey), ApiError> {
    let (current, next) = seeds
        .split_once('\n')
        .ok_or_else(|| ApiError::internal("sealed agent keys are malformed"))?;
    Ok((
        SigningKey::from_zetrix(current).map_err(ApiError::internal)?,
        SigningKey::from_zetrix(next).map_err(ApiError::internal)?,
    ))
}

impl AgentKeys {
    /// The keys as a pair, to start a controller with.
    pub fn into_pair(self) -> (SigningKey, SigningKey) {
        (self.current, self.next)
    }

    /// The keys as a fresh pair (the record can give them again).
    pub fn pair(&self) -> Result<(SigningKey, SigningKey), ApiError> {
        key_pair(&self.seeds)
    }

    /// The pre-committed next key.
    pub fn next(&self) -> &SigningKey {
        &self.next
    }

    /// A controller for the agent at its recorded `state`; `None` when these are not its keys
    /// in force (it rotated since they were opened).
    pub fn resume(&self, state: &KeyState) -> Result<Option<Controller>, ApiError> {
        let (current, next) = key_pair(&self.seeds)?;
        Ok(Controller::resume(state, current, next))
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
    let seeds = Zeroizing::new(
        std::str::from_utf8(&seeds)
            .map_err(ApiError::internal)?
            .to_owned(),
    );
    let (current, next) = key_pair(&seeds)?;
    Ok(AgentKeys {
        current,
        next,
        seeds,
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
    let journal = state.journal();
    let Some(kel) = journal
        .key_state(&prefix)
        .await
        .map_err(ApiError::unavailable)?
    else {
        return Err(ApiError::forbidden(format!(
            "issuer {did} is not registered here; onboard it first"
        )));
    };
    let Some((agent, registry)) = onboarded(state, &prefix).await? else {
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

/// The anchoring agent the issuer `prefix` delegated and its registry, once both are recorded
/// (neither ever changes after: an agent rotates its keys, not its prefix).
pub async fn onboarded<S: Store>(
    state: &AppState<S>,
    prefix: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let journal = state.journal();
    let Some(agent) = journal
        .delegates(prefix)
        .await
        .map_err(ApiError::unavailable)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let registry = journal
        .registries_of(&agent)
        .await
        .map_err(ApiError::unavailable)?
        .into_iter()
        .next();
    Ok(registry.map(|r| (agent, r)))
}

/// Why an anchoring attempt stopped before its write.
enum Anchoring {
    /// What `build` refused.
    Refused(ApiError),
    /// The agent's keys in force are not the ones opened (it rotated meanwhile).
    Rekey,
}

/// Runs `build` with `issuer`'s agent picked up at its key state as the store holds it (the
/// journal loads the agent's and the issuer's KELs, and builds again on fresh state when
/// another writer extended them meanwhile, so concurrent anchors by one agent never race for
/// a sequence number), and records what it builds, using up `blob` when given; in a task of
/// its own, so that a client that hangs up cannot cut the write short.
pub async fn anchored<S: Store, T: Send + 'static>(
    state: &AppState<S>,
    issuer: &Issuer,
    blob: Option<String>,
    build: impl FnMut(&Ledger, &mut Controller) -> Result<(Vec<Message>, Write, T), ApiError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let task_state = state.clone();
    let agent = issuer.agent.clone();
    let kels = vec![issuer.agent.clone(), issuer.prefix.clone()];
    tokio::spawn(async move {
        let mut build = build;
        // A rotation of the agent by another node between opening its keys and writing makes
        // the keys stale; they are opened again (a rotation is rare, so a few tries do).
        for _ in 0..4 {
            let record = task_state
                .journal()
                .key_state(&agent)
                .await
                .map_err(ApiError::unavailable)?
                .map(|k| record_in_force(&k))
                .ok_or_else(|| ApiError::internal("the issuer's agent has no KEL"))?;
            let keys = keys(&task_state, &record).await?;
            let outcome = task_state
                .journal()
                .write_with(&kels, blob.as_deref(), |ledger| {
                    let kel = ledger.key_state(&agent).ok_or_else(|| {
                        Anchoring::Refused(ApiError::internal("the issuer's agent has no KEL"))
                    })?;
                    let mut controller = keys
                        .resume(kel)
                        .map_err(Anchoring::Refused)?
                        .ok_or(Anchoring::Rekey)?;
                    let (mut messages, mut write, out) =
                        build(ledger, &mut controller).map_err(Anchoring::Refused)?;
                    messages.append(&mut write.messages);
                    write.messages = messages;
                    write.consume_blob = blob.clone();
                    Ok::<_, Anchoring>((write, out))
                })
                .await;
            match outcome {
                Ok(Ok(out)) => return Ok(out),
                Ok(Err(Anchoring::Refused(e))) => return Err(e),
                Ok(Err(Anchoring::Rekey)) => continue,
                Err(e) => return Err(journal_error(e)),
            }
        }
        Err(ApiError::unavailable(
            "the issuer's agent kept rotating while this call ran",
        ))
    })
    .await
    .map_err(|e| ApiError::internal(format!("the write task failed: {e}")))?
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
        e @ (JournalError::Store(_) | JournalError::Busy { .. }) => ApiError::unavailable(e),
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

/// Whether `master` opens the sealed keys of the anchoring agents recorded in `journal` (the
/// first one found with a sealed record is tried: they are all sealed under the same key).
/// `Ok(false)` when none is recorded. A node started with the wrong master key refuses to
/// start instead of failing its first issuance.
pub async fn master_opens_agents<S: Store>(
    journal: &zcred_store::Journal<S>,
    master: &crate::keys::MasterKey,
) -> Result<bool, String> {
    let store = journal.store();
    let mut after = String::new();
    loop {
        let page = store
            .states_after("delegate/", &after, 64)
            .await
            .map_err(|e| e.to_string())?;
        for (key, _) in &page {
            let agent = key.rsplit('/').next().unwrap_or_default();
            let Some(kel) = journal.key_state(agent).await.map_err(|e| e.to_string())? else {
                continue;
            };
            let record = record_in_force(&kel);
            // Agents whose keys this service never held (an import) have no sealed record.
            let Some(sealed) = store.sealed(&record).await.map_err(|e| e.to_string())? else {
                continue;
            };
            return master
                .open(&record, &sealed)
                .map(|_| true)
                .map_err(|_| format!("it does not open the sealed keys of agent {agent}"));
        }
        match page.last() {
            Some((key, _)) if page.len() == 64 => after = key.clone(),
            _ => return Ok(false),
        }
    }
}
