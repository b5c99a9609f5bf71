//! The journal: the one way events get into a store. It checks each message against the cached
//! ledger (key state, registries, credentials), then appends the accepted events together with
//! the state rows they change, in one transaction.
//!
//! State rows: `kel/<prefix>` ([`KeyState`](zcred_ledger::verify::KeyState)),
//! `registry/<id>` and `credential/<registry>/<said>` as JSON, so that a status can be read
//! without a replay.
//!
//! A batch is checked in order. When message `k` is refused, messages before it (valid, and
//! already folded into the cache) are still stored, and the error names `k`, except for a
//! batch that uses up a blob, which is all or nothing. When the store fails, the cache is
//! rebuilt from the store, so cache and store never disagree.

use std::collections::BTreeSet;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;
use zcred_ledger::event::Body;
use zcred_ledger::verify::{Ledger, Options, Outcome, Problem};
use zcred_ledger::Message;

use crate::{
    replay, Append, BlobStore, LedgerStore, NewEvent, ReplayError, StateUpdate, StoreError,
};

/// Why a submitted batch was not (wholly) recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Message `index` of the batch is invalid; the ones before it were recorded.
    #[error("message {index} is invalid: {problem}")]
    Invalid {
        /// Its position in the batch.
        index: usize,
        /// Why.
        problem: Problem,
    },
    /// Message `index` depends on an event the ledger does not have.
    #[error("message {index} depends on something not recorded: {reason}")]
    Pending {
        /// Its position in the batch.
        index: usize,
        /// What it waits for.
        reason: String,
    },
    /// Message `index` names a place of a log that another event holds.
    #[error("message {index}: {log} already has another event at sn {sn}")]
    Taken {
        /// Its position in the batch.
        index: usize,
        /// The log.
        log: String,
        /// The sequence number.
        sn: u64,
    },
    /// The blob was used up by another submit (or never existed).
    #[error("the blob is unknown or was used already")]
    BlobGone,
    /// Message `index` is not a KEL or TEL event.
    #[error("message {index} is not a KEL or TEL event")]
    NotAnEvent {
        /// Its position in the batch.
        index: usize,
    },
    /// The store failed; nothing of this batch was recorded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store failed, and rebuilding the cache from it failed too.
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// Verified appends to a [`LedgerStore`], with the ledger cached in memory.
#[derive(Debug)]
pub struct Journal<S> {
    store: S,
    options: Options,
    ledger: Mutex<Ledger>,
    /// Set while the cache may hold what the store does not (see `record`).
    stale: AtomicBool,
}

fn state_keys(message: &Message) -> Vec<String> {
    let Some(event) = message.as_event() else {
        return vec![];
    };
    match event.body() {
        Body::Inception(_) | Body::Rotation(_) | Body::Interaction(_) => {
            vec![format!("kel/{}", event.prefix())]
        }
        Body::RegistryInception(_) | Body::RegistryRotation(_) => {
            vec![format!("registry/{}", event.prefix())]
        }
        Body::Issuance(_)
        | Body::Revocation(_)
        | Body::BackerIssuance(_)
        | Body::BackerRevocation(_) => vec![format!("credential/{}", event.log_id())],
        Body::Receipt(_) => vec![],
    }
}

fn state_value(ledger: &Ledger, key: &str) -> Option<String> {
    let (kind, id) = key.split_once('/')?;
    match kind {
        "kel" => serde_json::to_string(ledger.key_state(id)?).ok(),
        "registry" => serde_json::to_string(ledger.registry(id)?).ok(),
        "credential" => {
            let (registry, said) = id.split_once('/')?;
            serde_json::to_string(ledger.credential(registry, said)?).ok()
        }
        _ => None,
    }
}

impl<S: LedgerStore> Journal<S> {
    /// Opens a journal over `store`, replaying (and so verifying) every stored event.
    pub async fn open(store: S, options: Options) -> Result<Journal<S>, ReplayError> {
        let ledger = replay(&store, options).await?;
        Ok(Journal {
            store,
            options,
            ledger: Mutex::new(ledger),
            stale: AtomicBool::new(false),
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Rebuilds the cache from the store when a write was interrupted (its future dropped, or
    /// its store write failed) after the cache had changed.
    async fn fresh(&self, ledger: &mut Ledger) -> Result<(), ReplayError> {
        if self.stale.load(Ordering::SeqCst) {
            *ledger = replay(&self.store, self.options).await?;
            self.stale.store(false, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Runs `f` on the cached ledger (as the store has it).
    pub async fn read<R>(&self, f: impl FnOnce(&Ledger) -> R) -> Result<R, ReplayError> {
        let mut ledger = self.ledger.lock().await;
        self.fresh(&mut ledger).await?;
        Ok(f(&ledger))
    }

    /// Checks `messages` in order and records the accepted ones with the state they change.
    /// Returns the ordinals given (duplicates of recorded events get none).
    pub async fn submit(&self, messages: &[Message]) -> Result<Vec<u64>, JournalError> {
        let mut ledger = self.ledger.lock().await;
        self.fresh(&mut ledger).await?;
        self.record(&mut ledger, messages, None).await
    }

    /// The write. Invariant: the cache is marked stale before it changes and unmarked only once
    /// the store holds the same (or the cache was rebuilt), so a write whose future is dropped
    /// half-way leaves a stale mark, and the next call rebuilds the cache before using it.
    async fn record(
        &self,
        ledger: &mut Ledger,
        messages: &[Message],
        blob: Option<&str>,
    ) -> Result<Vec<u64>, JournalError> {
        self.stale.store(true, Ordering::SeqCst);
        let mut events = Vec::new();
        let mut keys = BTreeSet::new();
        let mut refused = None;
        for (index, message) in messages.iter().enumerate() {
            let (Some(new), Some(event)) = (NewEvent::from_message(message), message.as_event())
            else {
                refused = Some(JournalError::NotAnEvent { index });
                break;
            };
            // The service's write path never records duplicity: a place already taken by
            // another event is a conflict, refused before the verifier sees it.
            if event.ilk() != zcred_ledger::Ilk::Rct {
                if let Some(said) = ledger.said_at(&new.prefix, new.sn) {
                    if said != event.said() {
                        refused = Some(JournalError::Taken {
                            index,
                            log: new.prefix.clone(),
                            sn: new.sn,
                        });
                        break;
                    }
                }
            }
            match ledger.process(message) {
                Ok(Outcome::Accepted) => {
                    events.push(new);
                    keys.extend(state_keys(message));
                }
                Ok(Outcome::Duplicate) => {}
                Ok(Outcome::Pending(reason)) => {
                    refused = Some(JournalError::Pending { index, reason });
                    break;
                }
                Err(problem) => {
                    refused = Some(JournalError::Invalid { index, problem });
                    break;
                }
            }
        }
        let changed = !events.is_empty();
        if blob.is_some() && refused.is_some() {
            // A blob's operation is all or nothing: put the cache back as the store has it.
            if changed {
                *ledger = replay(&self.store, self.options).await?;
            }
            self.stale.store(false, Ordering::SeqCst);
            return Err(refused.unwrap_or(JournalError::NotAnEvent { index: 0 }));
        }
        let states = keys
            .iter()
            .filter_map(|key| {
                state_value(ledger, key).map(|value| StateUpdate {
                    key: key.clone(),
                    value,
                })
            })
            .collect();
        let ordinals = if !changed && blob.is_none() {
            Vec::new()
        } else {
            let appended = self
                .store
                .append(Append {
                    events,
                    states,
                    consume_blob: blob.map(str::to_owned),
                })
                .await;
            match appended {
                Ok(ordinals) => ordinals,
                Err(err) => {
                    if changed {
                        *ledger = replay(&self.store, self.options).await?;
                    }
                    self.stale.store(false, Ordering::SeqCst);
                    return Err(match (err, blob) {
                        (StoreError::Conflict(_), Some(_)) if !changed => JournalError::BlobGone,
                        (err, _) => err.into(),
                    });
                }
            }
        };
        self.stale.store(false, Ordering::SeqCst);
        match refused {
            Some(err) => Err(err),
            None => Ok(ordinals),
        }
    }
}

impl<S: LedgerStore + BlobStore> Journal<S> {
    /// As [`Journal::submit`], and uses up the blob `blob` in the same transaction: of two
    /// submits of one blob, exactly one records anything; the other gets
    /// [`JournalError::BlobGone`] (checked first, under the journal's lock). A blob's
    /// operation is all or nothing: when a message is refused, nothing is written and the
    /// blob stays.
    pub async fn submit_consuming(
        &self,
        messages: &[Message],
        blob: &str,
    ) -> Result<Vec<u64>, JournalError> {
        let mut ledger = self.ledger.lock().await;
        self.fresh(&mut ledger).await?;
        if self.store.blob(blob).await?.is_none() {
            return Err(JournalError::BlobGone);
        }
        self.record(&mut ledger, messages, Some(blob)).await
    }
}
