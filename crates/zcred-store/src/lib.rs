//! zcred-store: the storage traits every backend implements, the in-memory backend, and the
//! conformance suite ([`conformance`]) that SQLite and PostgreSQL run too.
//!
//! - [`LedgerStore`]: the append-only event log (KEL and TEL events with their attachments, in
//!   first-seen order) and the state rows derived from it, written together in one transaction.
//! - [`MemoryStore`]: the same contract in memory, for tests and benchmarks.
//! - [`journal`]: verifies messages against the cached key state, then appends them with the
//!   updated state, so that what is stored has always been verified.
//! - [`export`] / [`replay`]: the log as a CESR text stream, and the ledger rebuilt from it.
//!
//! **Invariant**: the event log is never updated in place. An event is acknowledged only after
//! the transaction that holds it (and the state it changes) committed. At most one event other
//! than a receipt sits at each (prefix, sn): a second one is a [`StoreError::Conflict`] and
//! nothing of that append is written.

use std::future::Future;

pub mod audit;
pub mod conformance;
pub mod journal;
mod memory;
pub mod rows;

pub use audit::{audit, verify_tail, AuditError, Report};
pub use journal::{Journal, JournalError, Write};
pub use memory::MemoryStore;

use zcred_ledger::verify::{Ledger, Options, Outcome};
use zcred_ledger::{Ilk, Message};

/// Why a store operation failed. The variants say whose problem it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing asked for is not there.
    #[error("not found: {0}")]
    NotFound(String),
    /// The write conflicts with what is stored (a taken (prefix, sn), a stale state).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store could not be reached or failed; nothing was written.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// An event to append: its place in its log and its CESR text (body and attachments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The log ([`Event::log_id`](zcred_ledger::Event::log_id)): an AID, a registry id, or
    /// `<registry>/<credential SAID>` for a credential's TEL.
    pub prefix: String,
    /// Sequence number in that log.
    pub sn: u64,
    /// Event type (`icp`, `iss`, …).
    pub ilk: String,
    /// The event's SAID (for a receipt, the receipted event's).
    pub said: String,
    /// The message as CESR text: the raw body followed by its attachments.
    pub message: String,
}

impl NewEvent {
    /// The stored form of a message.
    /// An ACDC (a template record, api.md §7) is stored as the only entry of a log named by
    /// its SAID, with the ilk `acdc`.
    pub fn from_message(message: &Message) -> Option<NewEvent> {
        let Some(event) = message.as_event() else {
            let zcred_ledger::stream::Payload::Acdc(acdc) = &message.payload else {
                return None;
            };
            return Some(NewEvent {
                prefix: acdc.said().to_owned(),
                sn: 0,
                ilk: "acdc".to_owned(),
                said: acdc.said().to_owned(),
                message: message.to_text(),
            });
        };
        Some(NewEvent {
            prefix: event.log_id(),
            sn: event.sn(),
            ilk: event.ilk().as_str().to_owned(),
            said: event.said().to_string(),
            message: message.to_text(),
        })
    }

    /// Receipts may share a (prefix, sn) with the event they receipt and with each other.
    pub fn is_receipt(&self) -> bool {
        self.ilk == Ilk::Rct.as_str()
    }
}

/// A stored event, with the position the store gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// First-seen ordinal across the whole store: increasing, from 1.
    pub ordinal: u64,
    /// The event.
    pub event: NewEvent,
}

/// A state row written with the events that change it (key → JSON text), replacing what the
/// key held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateUpdate {
    /// The key, e.g. `kel/<prefix>` or `credential/<said>`.
    pub key: String,
    /// The value, JSON text.
    pub value: String,
}

/// One atomic write: events appended and state rows replaced, all or nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Append {
    /// Events, in the order they were first seen.
    pub events: Vec<NewEvent>,
    /// State rows.
    pub states: Vec<StateUpdate>,
    /// A blob this write uses up (api.md §1.5: single use). If it is gone already, the write is
    /// a [`StoreError::Conflict`] and nothing is written.
    pub consume_blob: Option<String>,
    /// Compare-and-set: each state row named here must hold exactly this value (`None`: must
    /// not exist) when the write commits, otherwise the write is a [`StoreError::Conflict`]
    /// and nothing is written. Lifecycle transitions (api.md §4) are atomic this way.
    pub expect: Vec<Expectation>,
}

/// A state row's value that an [`Append`] requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The row.
    pub key: String,
    /// Its value, or `None` when the row must not exist.
    pub value: Option<String>,
}

impl Expectation {
    /// The conflict reported when `key` does not hold what was expected.
    pub fn conflict(&self) -> StoreError {
        StoreError::Conflict(format!("state {} changed meanwhile", self.key))
    }
}

/// A pending blob of the blob/sign/submit pattern (api.md §1.5): what was handed out to be
/// signed, and what the submit needs to finish the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The blobId (32 uppercase hex characters).
    pub id: String,
    /// What the blob is for, e.g. `issuer-inception`.
    pub kind: String,
    /// The API key that asked for it (its hash); only that key may submit it.
    pub owner: String,
    /// What the blob is about (e.g. the issuer's prefix): one unexpired blob of a kind per
    /// subject, so that no one is led to sign two conflicting events.
    pub subject: String,
    /// What the submit needs, as JSON text (the bytes to sign among it).
    pub payload: String,
    /// When it expires, Unix milliseconds.
    pub expires: i64,
}

/// Pending blobs. A blob is used up by the [`Append`] that records its operation.
pub trait BlobStore: Send + Sync {
    /// Stores a new blob; an id already stored is a [`StoreError::Conflict`].
    fn put_blob(&self, blob: Blob) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores `blob` unless an unexpired blob (at `now`, Unix ms) of the same kind and subject
    /// is stored, in which case that one is returned and nothing is written: the check and the
    /// insert are one step, so that of two racing creates of one step exactly one gets a blob.
    fn put_blob_alone(
        &self,
        blob: Blob,
        now: i64,
    ) -> impl Future<Output = Result<Option<Blob>, StoreError>> + Send;

    /// The blob `id`, if it was not used up (expiry is the caller's check).
    fn blob(&self, id: &str) -> impl Future<Output = Result<Option<Blob>, StoreError>> + Send;

    /// An unexpired blob of `kind` about `subject` (at `now`, Unix ms).
    fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Blob>, StoreError>> + Send;

    /// Deletes the blobs that expired before `now`; returns how many.
    fn purge_blobs(&self, now: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The event log and its derived state. Every backend runs [`conformance::run`].
pub trait LedgerStore: Send + Sync {
    /// Appends `append.events` (giving them the next ordinals) and writes `append.states`, in
    /// one transaction. Returns the ordinals given. A non-receipt event whose (prefix, sn) is
    /// taken, or two in one append, is a [`StoreError::Conflict`] and nothing is written.
    fn append(&self, append: Append) -> impl Future<Output = Result<Vec<u64>, StoreError>> + Send;

    /// The non-receipt event at (`prefix`, `sn`).
    fn event(
        &self,
        prefix: &str,
        sn: u64,
    ) -> impl Future<Output = Result<Option<LoggedEvent>, StoreError>> + Send;

    /// The non-receipt events of one log, by sequence number.
    fn log(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    /// Up to `limit` events with ordinals above `after`, in ordinal order.
    fn events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;

    /// The largest ordinal stored (0 when the log is empty).
    fn last_ordinal(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The state row `key`.
    fn state(&self, key: &str) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Up to `limit` state rows `(key, value)` whose keys start with `prefix` and sort after
    /// `after` (byte order), in key order: a sweep pages through a kind of record with it.
    fn states_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
}

/// The smallest key above every key that starts with `prefix` (`None`: no bound), for range
/// scans; prefixes are ASCII.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

/// An API key as stored: never the key itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// A short public handle (the first 12 hex characters of the hash), for listings and logs.
    pub id: String,
    /// Lowercase hex SHA-256 of the key text.
    pub hash: String,
    /// The subscription plan, which sets quotas.
    pub plan: String,
    /// The issuer DID the key is bound to, if any.
    pub issuer: Option<String>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// A disabled key authenticates nothing.
    pub disabled: bool,
}

/// Who may call the service: API keys (stored hashed).
pub trait AccessStore: Send + Sync {
    /// Stores a new key; a hash already stored is a [`StoreError::Conflict`].
    fn put_api_key(&self, key: ApiKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The key whose hash is `hash`.
    fn api_key(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;
}

/// Per-key request rates, counted where every node of a deployment counts them.
///
/// A token bucket per key holding one second's worth of requests and refilled at the plan's
/// rate, kept as GCRA's single number: the key's *theoretical arrival time* (TAT). A request
/// at `now` is admitted when `max(TAT, now) + 1/rate − now` is at most one second, and then
/// moves the TAT there; a refused request changes nothing, so a client that floods gets its
/// plan's rate, not less.
pub trait RateStore: Send + Sync {
    /// Admits one request of `key` at `now_us` (Unix µs) at `per_second` requests a second
    /// (at least 1); `Ok(false)` when the key's bucket is empty.
    fn admit(
        &self,
        key: &str,
        now_us: i64,
        per_second: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets the keys whose buckets are full again by `now_us` (a full bucket is what an
    /// unknown key has); returns how many it forgot.
    fn purge_rates(&self, now_us: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// How long a bucket holds: one second, µs.
pub const RATE_BURST_US: i64 = 1_000_000;

/// The time one request takes from a bucket refilled at `per_second`, µs.
pub fn rate_interval(per_second: u32) -> i64 {
    RATE_BURST_US / i64::from(per_second.max(1))
}

/// [`RateStore`] in one process's memory: for the stores that only one serving process opens
/// (the embedded SQLite file, the in-memory store). One number per key that asked lately.
#[derive(Debug, Default)]
pub struct LocalRates {
    /// Per key: its theoretical arrival time, Unix µs.
    cells: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl LocalRates {
    /// [`RateStore::admit`].
    pub fn admit(&self, key: &str, now_us: i64, per_second: u32) -> bool {
        let mut cells = match self.cells.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let tat = cells.get(key).copied().unwrap_or(now_us).max(now_us) + rate_interval(per_second);
        if tat - now_us <= RATE_BURST_US {
            cells.insert(key.to_owned(), tat);
            true
        } else {
            false
        }
    }

    /// [`RateStore::purge_rates`].
    pub fn purge(&self, now_us: i64) -> u64 {
        let mut cells = match self.cells.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let held = cells.len();
        cells.retain(|_, tat| *tat > now_us);
        (held - cells.len()) as u64
    }
}

/// The service's own secret keys (its anchoring agents' seeds), stored only sealed: encrypted
/// and authenticated under the master key, which the store never sees. Records are immutable.
pub trait SealedKeyStore: Send + Sync {
    /// Stores the sealed bytes under `name`; a name already stored is a
    /// [`StoreError::Conflict`].
    fn put_sealed(
        &self,
        name: &str,
        sealed: &[u8],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The sealed bytes under `name`.
    fn sealed(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
}

/// How many events [`export`] and [`replay`] read per page.
const PAGE: usize = 1000;

/// Writes every stored event, in first-seen order, as one CESR text stream (no separators, as
/// keripy writes). Returns how many events it wrote.
pub async fn export<S: LedgerStore>(
    store: &S,
    out: &mut impl std::io::Write,
) -> Result<u64, StoreError> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store.events_after(after, PAGE).await?;
        for e in &page {
            out.write_all(e.event.message.as_bytes())
                .map_err(|err| StoreError::Unavailable(format!("writing the export: {err}")))?;
            after = e.ordinal;
            written += 1;
        }
        if page.len() < PAGE {
            return Ok(written);
        }
    }
}

/// Rebuilds the verified ledger from every stored event (recovery after a restart: open the
/// store, replay, verify).
pub async fn replay<S: LedgerStore>(store: &S, options: Options) -> Result<Ledger, AuditError> {
    let mut ledger = Ledger::new(options);
    let mut after = 0;
    loop {
        let page = store.events_after(after, PAGE).await?;
        for logged in &page {
            let e = &logged.event;
            let invalid = |reason: String| AuditError::Invalid {
                ordinal: logged.ordinal,
                ilk: e.ilk.clone(),
                prefix: e.prefix.clone(),
                sn: e.sn,
                reason,
            };
            let message = zcred_ledger::stream::parse_stream(e.message.as_bytes())
                .map_err(|err| invalid(err.reason()))?
                .into_iter()
                .next()
                .ok_or_else(|| invalid("empty message".into()))?;
            match ledger.process(&message) {
                Ok(Outcome::Accepted | Outcome::Duplicate) => {}
                Ok(Outcome::Pending(reason)) => return Err(invalid(reason)),
                Err(problem) => return Err(invalid(problem.to_string())),
            }
            after = logged.ordinal;
        }
        if page.len() < PAGE {
            return Ok(ledger);
        }
    }
}
