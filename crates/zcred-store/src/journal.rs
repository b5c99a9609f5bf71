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
    replay, Append, BlobStore, Expectation, LedgerStore, NewEvent, ReplayError, StateUpdate,
    StoreError,
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
    /// A state row the write expected ([`Write::expect`]) holds something else now: another
    /// write got there first. Nothing was written.
    #[error("{0}")]
    Changed(String),
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

/// One write through the journal: messages to verify and record, records written with them,
/// the state rows they require (compare-and-set), and a blob they use up. All or nothing.
#[derive(Debug, Default)]
pub struct Write {
    /// KEL/TEL events and ACDCs, in the order they verify.
    pub messages: Vec<Message>,
    /// Records written in the same transaction (never `kel/`, `registry/` or `credential/`
    /// rows, which the journal derives).
    pub states: Vec<StateUpdate>,
    /// State rows that must hold these values when the write commits.
    pub expect: Vec<Expectation>,
    /// A blob the write uses up.
    pub consume_blob: Option<String>,
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
        self.record(
            &mut ledger,
            Write {
                messages: messages.to_vec(),
                ..Write::default()
            },
        )
        .await
    }

    /// Checks what `write` expects of the store (its blob, its state rows) under the lock.
    async fn precheck(&self, write: &Write) -> Result<(), JournalError>
    where
        S: BlobStore,
    {
        if let Some(blob) = &write.consume_blob {
            if self.store.blob(blob).await?.is_none() {
                return Err(JournalError::BlobGone);
            }
        }
        for e in &write.expect {
            if self.store.state(&e.key).await? != e.value {
                return Err(JournalError::Changed(format!(
                    "{} changed meanwhile",
                    e.key
                )));
            }
        }
        Ok(())
    }

    /// The write. Invariant: the cache is marked stale before it changes and unmarked only once
    /// the store holds the same (or the cache was rebuilt), so a write whose future is dropped
    /// half-way leaves a stale mark, and the next call rebuilds the cache before using it.
    async fn record(&self, ledger: &mut Ledger, write: Write) -> Result<Vec<u64>, JournalError> {
        let Write {
            messages,
            states: records,
            expect,
            consume_blob,
        } = write;
        let blob = consume_blob.as_deref();
        // A write that must land whole: it uses a blob, writes records, or expects state.
        let expected = !expect.is_empty();
        let whole = blob.is_some() || !records.is_empty() || expected;
        self.stale.store(true, Ordering::SeqCst);
        let mut events = Vec::new();
        let mut keys = BTreeSet::new();
        let mut refused = None;
        for (index, message) in messages.iter().enumerate() {
            let Some(new) = NewEvent::from_message(message) else {
                refused = Some(JournalError::NotAnEvent { index });
                break;
            };
            // The service's write path never records duplicity: a place already taken by
            // another event is a conflict, refused before the verifier sees it.
            if let Some(event) = message
                .as_event()
                .filter(|e| e.ilk() != zcred_ledger::Ilk::Rct)
            {
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
        if whole && refused.is_some() {
            // A blob's operation is all or nothing: put the cache back as the store has it.
            if changed {
                *ledger = replay(&self.store, self.options).await?;
            }
            self.stale.store(false, Ordering::SeqCst);
            return Err(refused.unwrap_or(JournalError::NotAnEvent { index: 0 }));
        }
        let mut states: Vec<StateUpdate> = keys
            .iter()
            .filter_map(|key| {
                state_value(ledger, key).map(|value| StateUpdate {
                    key: key.clone(),
                    value,
                })
            })
            .collect();
        states.extend(records);
        let ordinals = if !changed && !whole {
            Vec::new()
        } else {
            let appended = self
                .store
                .append(Append {
                    events,
                    states,
                    consume_blob: blob.map(str::to_owned),
                    expect,
                })
                .await;
            match appended {
                Ok(ordinals) => ordinals,
                Err(err) => {
                    if changed {
                        *ledger = replay(&self.store, self.options).await?;
                    }
                    self.stale.store(false, Ordering::SeqCst);
                    // A conflict here is a race with another instance over the same store
                    // (this one's lock was held, and the precheck passed).
                    return Err(match err {
                        StoreError::Conflict(_) if blob.is_some() && !changed && !expected => {
                            JournalError::BlobGone
                        }
                        StoreError::Conflict(reason) => JournalError::Changed(reason),
                        err => err.into(),
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
        self.write(Write {
            messages: messages.to_vec(),
            consume_blob: Some(blob.to_owned()),
            ..Write::default()
        })
        .await
    }

    /// Records `write`, all or nothing: its blob is checked first ([`JournalError::BlobGone`]),
    /// then its expectations ([`JournalError::Changed`]), then its messages.
    ///
    /// A write of records alone (no messages, no blob) changes nothing of the ledger, so it
    /// goes straight to the store without the ledger's lock: the store checks its expectations
    /// inside its own transaction, and records are never rows the journal derives. Writes of
    /// records (applications, challenges, keys) then do not queue behind event writes.
    pub async fn write(&self, write: Write) -> Result<Vec<u64>, JournalError> {
        if write.messages.is_empty() && write.consume_blob.is_none() {
            if write.states.is_empty() && write.expect.is_empty() {
                return Ok(Vec::new());
            }
            return self
                .store
                .append(Append {
                    events: Vec::new(),
                    states: write.states,
                    consume_blob: None,
                    expect: write.expect,
                })
                .await
                .map_err(|err| match err {
                    StoreError::Conflict(reason) => JournalError::Changed(reason),
                    err => err.into(),
                });
        }
        let mut ledger = self.ledger.lock().await;
        self.fresh(&mut ledger).await?;
        self.precheck(&write).await?;
        self.record(&mut ledger, write).await
    }

    /// As [`Journal::write`], with the write built by `build` from the ledger as it is under
    /// the journal's lock, so that events which extend a log (the next `ixn` of an agent)
    /// never race each other. `blob` is checked before `build` runs. An `Err` from `build`
    /// writes nothing and is returned as `Ok(Err(…))`.
    pub async fn write_with<T, E>(
        &self,
        blob: Option<&str>,
        build: impl FnOnce(&Ledger) -> Result<(Write, T), E>,
    ) -> Result<Result<T, E>, JournalError> {
        let mut ledger = self.ledger.lock().await;
        self.fresh(&mut ledger).await?;
        if let Some(blob) = blob {
            if self.store.blob(blob).await?.is_none() {
                return Err(JournalError::BlobGone);
            }
        }
        let (write, out) = match build(&ledger) {
            Ok(built) => built,
            Err(e) => return Ok(Err(e)),
        };
        self.precheck(&write).await?;
        self.record(&mut ledger, write).await?;
        Ok(Ok(out))
    }
}
