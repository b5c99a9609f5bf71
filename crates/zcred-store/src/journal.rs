//! The journal: the one way events get into a store, and the store-backed reads of ledger
//! state.
//!
//! The store is the truth. The journal keeps no ledger state between calls: each write loads
//! the state rows its messages depend on ([`rows`](crate::rows): the KEL heads they extend,
//! the registry, the credential's TEL, the endorsers' keys, the anchoring events), checks the
//! messages against them with the ledger crate's verifier ([`Ledger::needs`] names what to
//! load), and appends the events with the rows they change in one transaction that *expects*
//! every row it read to be unchanged. A concurrent writer that got there first (on this node
//! or another one) makes the append a [`StoreError::Conflict`]; the journal then loads fresh
//! state and tries again, so a race the caller did not cause never reaches it. A write the
//! caller lost (its blob used, a record it expected changed) is reported as such.
//!
//! Writers on one node that extend the same log (one issuer's agent) queue on a striped lock
//! instead of colliding; writers of different logs run in parallel. Reads take no lock.
//!
//! **Invariants**: a write is all or nothing. Nothing is recorded that the verifier did not
//! accept against the rows as they stood when the write committed. A dropped write future
//! leaves nothing behind (there is no cache to mend).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use zcred_ledger::verify::{CredentialState, KelRow, KeyState, Need, Problem, RegistryState};
use zcred_ledger::{Body, Event, Ledger, Message, Options, Outcome, Payload};

use crate::{
    rows, Append, BlobStore, Expectation, LedgerStore, LoggedEvent, NewEvent, StateUpdate,
    StoreError,
};

/// Why a submitted write was not recorded. Nothing of it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Message `index` of the write is invalid.
    #[error("message {index} is invalid: {problem}")]
    Invalid {
        /// Its position in the write.
        index: usize,
        /// Why.
        problem: Problem,
    },
    /// Message `index` depends on an event the store does not have.
    #[error("message {index} depends on something not recorded: {reason}")]
    Pending {
        /// Its position in the write.
        index: usize,
        /// What it waits for.
        reason: String,
    },
    /// Message `index` names a place of a log that another event holds.
    #[error("message {index}: {log} already has another event at sn {sn}")]
    Taken {
        /// Its position in the write.
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
    /// write got there first.
    #[error("{0}")]
    Changed(String),
    /// Message `index` is not a KEL or TEL event.
    #[error("message {index} is not a KEL or TEL event")]
    NotAnEvent {
        /// Its position in the write.
        index: usize,
    },
    /// Other writers kept winning the race for the same log head, attempt after attempt.
    #[error("the log head stayed contended after {attempts} attempts: {reason}")]
    Busy {
        /// How many attempts were made.
        attempts: u32,
        /// The last conflict.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One write through the journal: messages to verify and record, records written with them,
/// the state rows they require (compare-and-set), and a blob they use up. All or nothing.
#[derive(Debug, Default, Clone)]
pub struct Write {
    /// KEL/TEL events and ACDCs, in the order they verify.
    pub messages: Vec<Message>,
    /// Records written in the same transaction (never rows the journal derives,
    /// [`rows`](crate::rows)).
    pub states: Vec<StateUpdate>,
    /// State rows that must hold these values when the write commits.
    pub expect: Vec<Expectation>,
    /// A blob the write uses up.
    pub consume_blob: Option<String>,
}

/// How many locks writers of one node queue on (a log head hashes to one of them).
const STRIPES: usize = 64;
/// How many times a write is tried against fresh state before it gives up as [`JournalError::Busy`].
const ATTEMPTS: u32 = 64;

/// Verified appends to a [`LedgerStore`], and reads of the state it keeps.
#[derive(Debug)]
pub struct Journal<S> {
    store: S,
    options: Options,
    stripes: Vec<Mutex<()>>,
}

/// A stored message parsed back.
pub(crate) fn parse_logged(logged: &LoggedEvent) -> Result<Message, StoreError> {
    zcred_ledger::stream::parse_stream(logged.event.message.as_bytes())
        .ok()
        .and_then(|m| m.into_iter().next())
        .ok_or_else(|| {
            StoreError::Unavailable(format!(
                "stored event {} ({} of {} at sn {}) does not parse",
                logged.ordinal, logged.event.ilk, logged.event.prefix, logged.event.sn
            ))
        })
}

/// What a write loaded from the store: a ledger holding just that, and the rows it read.
struct Loaded {
    ledger: Ledger,
    tried: HashSet<Need>,
    /// Derived rows read, with what they held: the append expects them unchanged.
    read: BTreeMap<String, Option<String>>,
}

impl Loaded {
    fn new(options: Options) -> Loaded {
        Loaded {
            ledger: Ledger::snapshot(options),
            tried: HashSet::new(),
            read: BTreeMap::new(),
        }
    }

    async fn row<S: LedgerStore>(
        &mut self,
        store: &S,
        key: String,
    ) -> Result<Option<String>, StoreError> {
        let value = store.state(&key).await?;
        self.read.insert(key, value.clone());
        Ok(value)
    }

    async fn load<S: LedgerStore>(&mut self, store: &S, need: Need) -> Result<(), StoreError> {
        if !self.tried.insert(need.clone()) {
            return Ok(());
        }
        match need {
            Need::Kel(prefix) => {
                let key = rows::kel(&prefix);
                if let Some(text) = self.row(store, key.clone()).await? {
                    self.ledger.insert_kel(rows::parse_kel(&key, &text)?);
                }
            }
            Need::KelEvent(prefix, sn) => {
                if let Some(logged) = store.event(&prefix, sn).await? {
                    self.ledger.insert_kel_event(&parse_logged(&logged)?);
                }
            }
            Need::Registry(id) => {
                let key = rows::registry(&id);
                if let Some(text) = self.row(store, key.clone()).await? {
                    self.ledger
                        .insert_registry(rows::parse_registry(&key, &text)?);
                }
            }
            Need::Credential(log) => {
                let key = rows::credential(&log);
                if let Some(text) = self.row(store, key.clone()).await? {
                    self.ledger
                        .insert_credential(rows::parse_credential(&key, &text)?);
                }
            }
            Need::Acdc(said) => {
                if let Some(logged) = store.event(&said, 0).await? {
                    if let Payload::Acdc(acdc) = &parse_logged(&logged)?.payload {
                        self.ledger.insert_acdc(acdc.said(), acdc.issuer());
                    }
                }
            }
            Need::Receipts(prefix, sn) => {
                let key = rows::receipts(&prefix, sn);
                let receipters = match self.row(store, key.clone()).await? {
                    Some(text) => rows::parse_receipts(&key, &text)?,
                    None => Vec::new(),
                };
                self.ledger.insert_receipts(&prefix, sn, receipters);
            }
        }
        Ok(())
    }

    /// Loads what `message` needs, round after round, until nothing new is named.
    async fn satisfy<S: LedgerStore>(
        &mut self,
        store: &S,
        message: &Message,
    ) -> Result<(), StoreError> {
        loop {
            let needs: Vec<Need> = self
                .ledger
                .needs(message)
                .into_iter()
                .filter(|n| !self.tried.contains(n))
                .collect();
            if needs.is_empty() {
                return Ok(());
            }
            for need in needs {
                self.load(store, need).await?;
            }
        }
    }

    /// Verifies `write`'s messages against what is loaded (loading what they need) and gives
    /// the append that records them.
    async fn verify<S: LedgerStore>(
        &mut self,
        store: &S,
        write: Write,
    ) -> Result<Append, JournalError> {
        let Write {
            messages,
            states: records,
            mut expect,
            consume_blob,
        } = write;
        let mut events = Vec::new();
        let mut touched = BTreeSet::new();
        for (index, message) in messages.iter().enumerate() {
            let Some(new) = NewEvent::from_message(message) else {
                return Err(JournalError::NotAnEvent { index });
            };
            self.satisfy(store, message).await?;
            // The service's write path never records duplicity: a place already taken by
            // another event is refused before the verifier sees it.
            if let Some(event) = message.as_event().filter(|_| !new.is_receipt()) {
                if let Some(said) = self.ledger.said_at(&new.prefix, new.sn) {
                    if said != event.said() {
                        return Err(JournalError::Taken {
                            index,
                            log: new.prefix.clone(),
                            sn: new.sn,
                        });
                    }
                }
            }
            match self.ledger.process(message) {
                Ok(Outcome::Accepted) => {
                    events.push(new);
                    touched.extend(rows::touched(message));
                }
                Ok(Outcome::Duplicate) => {}
                Ok(Outcome::Pending(reason)) => {
                    return Err(JournalError::Pending { index, reason })
                }
                Err(problem) => return Err(JournalError::Invalid { index, problem }),
            }
        }
        let mut states: Vec<StateUpdate> = touched
            .iter()
            .filter_map(|key| {
                rows::value(&self.ledger, key).map(|value| StateUpdate {
                    key: key.clone(),
                    value,
                })
            })
            .collect();
        states.extend(records);
        if !events.is_empty() {
            expect.extend(
                std::mem::take(&mut self.read)
                    .into_iter()
                    .map(|(key, value)| Expectation { key, value }),
            );
        }
        Ok(Append {
            events,
            states,
            consume_blob,
            expect,
        })
    }
}

/// The logs whose heads `messages` extend: the KEL prefixes of their KEL events.
fn heads_of(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(Message::as_event)
        .filter(|e| {
            matches!(
                e.body(),
                Body::Inception(_) | Body::Rotation(_) | Body::Interaction(_)
            )
        })
        .map(|e| e.prefix().to_owned())
        .collect()
}

/// A short wait before attempt `attempt` (1, 2, …): up to 2^min(attempt, 6) ms, jittered so
/// that two losers do not collide again in step.
async fn back_off(attempt: u32) {
    let ceiling = 1u64 << attempt.min(6);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::time::SystemTime::now().hash(&mut h);
    std::thread::current().id().hash(&mut h);
    attempt.hash(&mut h);
    let micros = h.finish() % (ceiling * 1000);
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

impl<S> Journal<S> {
    /// A journal over `store`. Opening reads nothing: the store is the truth, and a node
    /// checks the tail of the log separately ([`crate::audit::verify_tail`]).
    pub fn new(store: S, options: Options) -> Journal<S> {
        Journal {
            store,
            options,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The verifier settings.
    pub fn options(&self) -> Options {
        self.options
    }

    /// The locks of the stripes `heads` hash to, taken in stripe order (so that two writes
    /// never wait for each other crosswise).
    async fn lock(&self, heads: &[String]) -> Vec<MutexGuard<'_, ()>> {
        let stripes: BTreeSet<usize> = heads
            .iter()
            .map(|h| {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                h.hash(&mut hasher);
                (hasher.finish() % STRIPES as u64) as usize
            })
            .collect();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            guards.push(self.stripes[i].lock().await);
        }
        guards
    }
}

impl<S: LedgerStore> Journal<S> {
    /// The state row of the KEL `prefix`.
    pub async fn kel(&self, prefix: &str) -> Result<Option<KelRow>, StoreError> {
        let key = rows::kel(prefix);
        match self.store.state(&key).await? {
            Some(text) => Ok(Some(rows::parse_kel(&key, &text)?)),
            None => Ok(None),
        }
    }

    /// The key state of `prefix`.
    pub async fn key_state(&self, prefix: &str) -> Result<Option<KeyState>, StoreError> {
        Ok(self.kel(prefix).await?.map(|row| row.state))
    }

    /// The registry `id`.
    pub async fn registry(&self, id: &str) -> Result<Option<RegistryState>, StoreError> {
        let key = rows::registry(id);
        match self.store.state(&key).await? {
            Some(text) => Ok(Some(rows::parse_registry(&key, &text)?)),
            None => Ok(None),
        }
    }

    /// The state of the credential `said` in `registry`.
    pub async fn credential(
        &self,
        registry: &str,
        said: &str,
    ) -> Result<Option<CredentialState>, StoreError> {
        let key = rows::credential(&format!("{registry}/{said}"));
        match self.store.state(&key).await? {
            Some(text) => Ok(Some(rows::parse_credential(&key, &text)?)),
            None => Ok(None),
        }
    }

    async fn children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows = self.store.states_after(prefix, "", 64).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, _)| key.strip_prefix(prefix).map(str::to_owned))
            .collect())
    }

    /// The identifiers `delegator` delegated, in prefix order.
    pub async fn delegates(&self, delegator: &str) -> Result<Vec<String>, StoreError> {
        self.children(&rows::delegates_of(delegator)).await
    }

    /// The registries `controller` anchors, in id order.
    pub async fn registries_of(&self, controller: &str) -> Result<Vec<String>, StoreError> {
        self.children(&rows::registries_of(controller)).await
    }

    /// The SAID of the event of `log` at `sn`.
    pub async fn said_at(&self, log: &str, sn: u64) -> Result<Option<String>, StoreError> {
        Ok(self.store.event(log, sn).await?.map(|e| e.event.said))
    }

    /// Every event of the KEL `prefix`, by sequence number. For the logs of issuers, which
    /// grow with what the issuer does (rotations, attributes), never with what it issues.
    pub async fn kel_events(&self, prefix: &str) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::new();
        for logged in self.store.log(prefix).await? {
            if let Some(event) = parse_logged(&logged)?.as_event() {
                out.push(event.clone());
            }
        }
        Ok(out)
    }
}

impl<S: LedgerStore + BlobStore> Journal<S> {
    /// Checks `messages` in order and records them with the state they change, all or nothing.
    /// Returns the ordinals given (duplicates of recorded events get none).
    pub async fn submit(&self, messages: &[Message]) -> Result<Vec<u64>, JournalError> {
        self.write(Write {
            messages: messages.to_vec(),
            ..Write::default()
        })
        .await
    }

    /// As [`Journal::submit`], and uses up the blob `blob` in the same transaction: of two
    /// submits of one blob, exactly one records anything; the other gets
    /// [`JournalError::BlobGone`].
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
    /// A write of records alone (no messages, no blob) goes straight to the store: the store
    /// checks its expectations inside its own transaction.
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
        let heads = heads_of(&write.messages);
        let blob = write.consume_blob.clone();
        let (ordinals, ()) = self
            .record(&heads, blob.as_deref(), |_| {
                Ok::<_, std::convert::Infallible>((write.clone(), ()))
            })
            .await?
            .unwrap_or_else(|never| match never {});
        Ok(ordinals)
    }

    /// As [`Journal::write`], with the write built by `build` from the ledger state of the
    /// KELs `kels` as the store holds it now, so that events which extend a log (the next
    /// `ixn` of an agent) are built on its head. `build` may run more than once: when another
    /// writer extended a head meanwhile, the journal loads fresh state and builds again.
    /// `blob` is checked before `build` runs. An `Err` from `build` writes nothing and is
    /// returned as `Ok(Err(…))`.
    pub async fn write_with<T, E>(
        &self,
        kels: &[String],
        blob: Option<&str>,
        build: impl FnMut(&Ledger) -> Result<(Write, T), E>,
    ) -> Result<Result<T, E>, JournalError> {
        Ok(self.record(kels, blob, build).await?.map(|(_, out)| out))
    }

    /// Checks what `write` expects of the store that the caller decided: its blob and its
    /// records (the journal's own rows are checked by the append).
    async fn precheck(&self, write: &Write) -> Result<(), JournalError> {
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

    async fn record<T, E>(
        &self,
        kels: &[String],
        blob: Option<&str>,
        mut build: impl FnMut(&Ledger) -> Result<(Write, T), E>,
    ) -> Result<Result<(Vec<u64>, T), E>, JournalError> {
        let _guards = self.lock(kels).await;
        let mut attempt = 0;
        loop {
            if let Some(blob) = blob {
                if self.store.blob(blob).await?.is_none() {
                    return Err(JournalError::BlobGone);
                }
            }
            let mut loaded = Loaded::new(self.options);
            for prefix in kels {
                loaded.load(&self.store, Need::Kel(prefix.clone())).await?;
            }
            let (write, out) = match build(&loaded.ledger) {
                Ok(built) => built,
                Err(e) => return Ok(Err(e)),
            };
            self.precheck(&write).await?;
            let append = loaded.verify(&self.store, write).await?;
            let nothing = append.events.is_empty()
                && append.states.is_empty()
                && append.consume_blob.is_none()
                && append.expect.is_empty();
            if nothing {
                return Ok(Ok((Vec::new(), out)));
            }
            match self.store.append(append).await {
                Ok(ordinals) => return Ok(Ok((ordinals, out))),
                Err(StoreError::Conflict(reason)) => {
                    attempt += 1;
                    if attempt >= ATTEMPTS {
                        return Err(JournalError::Busy {
                            attempts: attempt,
                            reason,
                        });
                    }
                    back_off(attempt).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}
