//! The verifier (keri.md §10–§11): folds KEL and TEL events into key state and credential state.
//!
//! [`Ledger::process`] checks one message against everything accepted so far and either accepts
//! it (state changes only then), reports it [`Outcome::Duplicate`], holds it as
//! [`Outcome::Pending`] (something it depends on has not been seen yet), or refuses it with a
//! [`Problem`]. [`verify_stream`] runs a whole CESR stream through it, retrying pending messages
//! as their dependencies arrive, and names the first bad message.
//!
//! **Invariant**: state is a fold over accepted events; a refused or pending message changes
//! nothing. Dependencies are looked up before signatures are verified, so a message that waits
//! costs no signature checks. Two different events at one place of one log are duplicity only
//! when the second is itself properly signed (or anchored): the first seen stays, the second is
//! refused and recorded in [`Ledger::duplicity`]; an unsigned pretender is merely invalid.
//!
//! A credential's TEL is keyed by its registry and its SAID ([`Event::log_id`]): another
//! registry's events for the same SAID are another log and cannot shadow it.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cesr::{Attachments, Siger, TransSigGroup};
use crate::event::{Body, Event, EventSeal, Ilk, Key, Prefix, Said};
use crate::stream::{EventRef, Message, Payload, StreamReader};

mod snapshot;

pub use snapshot::Need;

/// Why a message was refused: it was checked, and it is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A structural rule of the event type is broken (prefix derivation, thresholds, lists).
    #[error("{0}")]
    Malformed(String),
    /// The sequence number is not the one the log needs.
    #[error("sequence number {found} where {expected} is required")]
    Sequence {
        /// The sequence number required.
        expected: u64,
        /// The one found.
        found: u64,
    },
    /// The prior-event digest (`p`) is not the SAID of the log's last event.
    #[error("prior event digest p is {found} but the last accepted event is {expected}")]
    Prior {
        /// The SAID of the last accepted event.
        expected: String,
        /// The `p` found.
        found: String,
    },
    /// A signature does not verify, names a key that is not there, or is missing.
    #[error("{0}")]
    Signature(String),
    /// Too few valid signatures for the threshold.
    #[error("{found} valid {what} signature(s), threshold {needed}")]
    Threshold {
        /// Controller, prior-next or witness.
        what: &'static str,
        /// The threshold.
        needed: u64,
        /// Valid signatures found.
        found: u64,
    },
    /// Delegation is missing or not approved by the delegator.
    #[error("delegation: {0}")]
    Delegation(String),
    /// A TEL event's anchor is missing from, or wrong in, the controller's KEL.
    #[error("anchor: {0}")]
    Anchor(String),
    /// Two different events at one sequence number of one log.
    #[error("duplicity: {prefix} already has event {first} at sn {sn}; this is {second}")]
    Duplicity {
        /// The log.
        prefix: String,
        /// The sequence number.
        sn: u64,
        /// The SAID seen first (and kept).
        first: String,
        /// The SAID of the second event.
        second: String,
    },
    /// The event is not allowed in this log (an `ixn` in an establishment-only KEL, a `vrt` in
    /// a backerless registry, an `iss` in a registry with backers, …).
    #[error("{0}")]
    NotAllowed(String),
}

/// What processing a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: state changed.
    Accepted,
    /// The same event was accepted before (its signatures check); nothing changed.
    Duplicate,
    /// It depends on something not seen yet; nothing changed.
    Pending(String),
}

type Checked<T> = Result<T, Verdict>;

/// A check that did not pass: refused, or waiting for a dependency.
#[derive(Debug)]
enum Verdict {
    Invalid(Problem),
    Pending(String),
    Duplicate,
}

impl From<Problem> for Verdict {
    fn from(p: Problem) -> Verdict {
        Verdict::Invalid(p)
    }
}

fn malformed(text: impl Into<String>) -> Verdict {
    Verdict::Invalid(Problem::Malformed(text.into()))
}

/// Where a TEL event (or a delegated establishment event) is anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The KEL holding the seal.
    pub prefix: String,
    /// Sequence number of the anchoring event.
    pub sn: u64,
    /// SAID of the anchoring event.
    pub said: String,
}

/// The key state of one identifier after its accepted events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The identifier.
    pub prefix: Prefix,
    /// Sequence number of the latest event.
    pub sn: u64,
    /// SAID of the latest event.
    pub said: Said,
    /// Type of the latest event.
    pub ilk: Ilk,
    /// Current signing keys.
    pub keys: Vec<Key>,
    /// Current signing threshold.
    pub kt: u64,
    /// Next-key digests (empty: the identifier cannot rotate any more).
    pub next: Vec<Said>,
    /// Next threshold.
    pub nt: u64,
    /// Current witnesses.
    pub witnesses: Vec<Prefix>,
    /// Witness threshold.
    pub toad: u64,
    /// Configuration traits from inception.
    pub config: Vec<String>,
    /// The delegator, for a delegated identifier.
    pub delegator: Option<Prefix>,
    /// Sequence number of the latest establishment event.
    pub last_est_sn: u64,
    /// SAID of the latest establishment event.
    pub last_est_said: Said,
    /// Where the delegator approved the latest establishment event.
    pub approval: Option<Anchor>,
}

/// Keys, next-key commitments and witnesses in force from an establishment event on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Establishment {
    /// Its sequence number.
    pub sn: u64,
    /// Its SAID.
    pub said: Said,
    /// The signing keys it set.
    pub keys: Vec<Key>,
    /// Their threshold.
    pub kt: u64,
    /// The next-key digests it committed to.
    pub next: Vec<Said>,
    /// Their threshold.
    pub nt: u64,
    /// The witnesses in force from it on.
    pub witnesses: Vec<Prefix>,
    /// Their threshold.
    pub toad: u64,
    /// Where the delegator approved it (delegated identifiers).
    pub approval: Option<Anchor>,
}

/// One accepted KEL event, kept to check anchors, receipts and endorsements against it.
#[derive(Debug, Clone)]
struct KelEntry {
    event: Event,
    sigs: Vec<Siger>,
}

/// One KEL as the verifier holds it: its key state, every establishment event's keys, and
/// the accepted events it has (all of them when it folded the log itself; only those a check
/// needs when it was loaded from a [`KelRow`]).
#[derive(Debug, Clone)]
struct Kel {
    state: KeyState,
    entries: BTreeMap<u64, KelEntry>,
    establishments: Vec<Establishment>,
}

impl Kel {
    /// The keys in force at `sn` (those of the last establishment event at or before it).
    fn keys_at(&self, sn: u64) -> &Establishment {
        let i = self.establishments.partition_point(|e| e.sn <= sn);
        &self.establishments[i.saturating_sub(1)]
    }

    /// The accepted event at `sn`, when this ledger holds it.
    fn entry(&self, sn: u64) -> Option<&KelEntry> {
        self.entries.get(&sn)
    }

    /// The SAID of the accepted event at `sn` (the head's is always known).
    fn said_at(&self, sn: u64) -> Option<&Said> {
        match self.entry(sn) {
            Some(e) => Some(e.event.said()),
            None if sn == self.state.sn => Some(&self.state.said),
            None if sn == self.state.last_est_sn => Some(&self.state.last_est_said),
            None => self
                .establishments
                .iter()
                .find(|e| e.sn == sn)
                .map(|e| &e.said),
        }
    }
}

/// A KEL's state as a store keeps it beside the log (`kel/<prefix>`): the key state and every
/// establishment event's keys, enough to check any event that extends the log, and any
/// endorsement by it, without its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KelRow {
    /// The key state after the log's last event.
    pub state: KeyState,
    /// Every establishment event, by sequence number (the inception first).
    pub establishments: Vec<Establishment>,
}

/// One management event of a registry: its SAID and the backers in force from it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEvent {
    /// Its SAID.
    pub said: Said,
    /// The backers from it on.
    pub backers: Vec<Prefix>,
    /// Their threshold.
    pub toad: u64,
    #[serde(skip)]
    event: Option<Event>,
}

/// A credential registry (management TEL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryState {
    /// The registry id (SAID of its `vcp`).
    pub id: Said,
    /// The controller whose KEL anchors the registry's events (`vcp.ii`).
    pub issuer: Prefix,
    /// Sequence number of the latest management event.
    pub sn: u64,
    /// SAID of the latest management event.
    pub said: Said,
    /// Backerless (`NB`).
    pub backerless: bool,
    /// Current backers.
    pub backers: Vec<Prefix>,
    /// Backer threshold.
    pub toad: u64,
    /// Where the inception is anchored.
    pub anchor: Anchor,
    /// Every management event, by sequence number.
    pub events: Vec<RegistryEvent>,
}

/// A credential's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Issued and not revoked.
    Issued,
    /// Revoked.
    Revoked,
}

/// One event of a credential's TEL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelRecord {
    /// Its SAID.
    pub said: Said,
    /// Its type.
    pub ilk: Ilk,
    /// Its date-time (`dt`).
    pub dt: String,
    /// The anchoring KEL event.
    pub anchor: Anchor,
    /// Identifiers whose `-F` signatures on it verified.
    pub endorsers: Vec<String>,
    #[serde(skip)]
    event: Option<Event>,
}

/// A credential's state: issued or revoked, with the anchoring events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialState {
    /// The credential's SAID (the TEL's `i`).
    pub said: Prefix,
    /// Its registry.
    pub registry: Prefix,
    /// Current status.
    pub status: Status,
    /// The issuance.
    pub issued: TelRecord,
    /// The revocation, once revoked.
    pub revoked: Option<TelRecord>,
}

/// A recorded case of duplicity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicity {
    /// The log.
    pub prefix: String,
    /// The sequence number.
    pub sn: u64,
    /// The SAID seen first.
    pub first: String,
    /// The conflicting SAID.
    pub second: String,
}

/// Verifier settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Accept anchoring events that carry many seals (zcred's opt-in batch mode). keripy accepts
    /// only one seal per anchoring event, so streams that need this are not keripy-verifiable.
    pub batch_anchors: bool,
}

/// Accepted key and credential state.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    options: Options,
    kels: HashMap<String, Kel>,
    registries: HashMap<String, RegistryState>,
    /// Keyed by the credential TEL's log id, `<registry>/<credential SAID>`.
    credentials: HashMap<String, CredentialState>,
    acdcs: HashMap<String, String>,
    /// (log, sn, receipter) of every receipt signature accepted.
    receipts: HashSet<(String, u64, String)>,
    /// (log, sn) places whose receipters a snapshot loaded.
    receipts_loaded: HashSet<(String, u64)>,
    duplicity: Vec<Duplicity>,
    accepted: usize,
}

/// Verifies indexed signatures over `raw` against `keys`; returns the indices that verified.
/// An index past the list, an index given twice, or a signature that does not verify refuses
/// the message (zcred names bad signatures rather than skipping them).
fn verify_sigs(raw: &[u8], sigs: &[Siger], keys: &[Key], what: &'static str) -> Checked<Vec<u32>> {
    let mut valid: Vec<u32> = Vec::with_capacity(sigs.len());
    for s in sigs {
        if valid.contains(&s.index) {
            return Err(Verdict::Invalid(Problem::Signature(format!(
                "{what} signature index {} appears twice",
                s.index
            ))));
        }
        let key = keys.get(s.index as usize).ok_or_else(|| {
            Problem::Signature(format!(
                "{what} signature index {} is past the {} key(s)",
                s.index,
                keys.len()
            ))
        })?;
        let vk = key
            .verifying_key()
            .map_err(|e| Problem::Malformed(format!("key {key}: {e}")))?;
        vk.verify(raw, &s.signature).map_err(|_| {
            Problem::Signature(format!(
                "{what} signature {} (key {key}) does not verify",
                s.index
            ))
        })?;
        valid.push(s.index);
    }
    Ok(valid)
}

fn threshold(what: &'static str, valid: usize, needed: u64) -> Checked<()> {
    if valid as u64 >= needed {
        Ok(())
    } else {
        Err(Verdict::Invalid(Problem::Threshold {
            what,
            needed,
            found: valid as u64,
        }))
    }
}

fn check_thresholds(kt: u64, keys: usize, nt: u64, next: usize) -> Checked<()> {
    if keys == 0 {
        return Err(malformed("the key list k is empty"));
    }
    if kt < 1 || kt > keys as u64 {
        return Err(malformed(format!(
            "signing threshold kt {kt} is outside 1..={keys}"
        )));
    }
    if nt > next as u64 || (next > 0 && nt < 1) {
        return Err(malformed(format!(
            "next threshold nt {nt} does not fit {next} next-key digest(s)"
        )));
    }
    Ok(())
}

/// Witness (or backer) lists: non-transferable prefixes (unique: checked when parsed), and a
/// threshold of 0 with none, else 1..=len.
fn check_toad(toad: u64, witnesses: &[Prefix], what: &str) -> Checked<()> {
    if witnesses.iter().any(Prefix::is_transferable) {
        return Err(malformed(format!(
            "{what}s must be non-transferable prefixes (B…)"
        )));
    }
    let n = witnesses.len() as u64;
    let ok = if n == 0 {
        toad == 0
    } else {
        (1..=n).contains(&toad)
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "{what} threshold {toad} does not fit {n} {what}(s)"
        )))
    }
}

/// Applies cuts then adds to a witness (or backer) list, with keri.md §10 step 6's rules
/// (cuts and adds have no repeats: checked when parsed).
fn rotate_list(
    current: &[Prefix],
    cuts: &[Prefix],
    adds: &[Prefix],
    what: &str,
) -> Checked<Vec<Prefix>> {
    let current_set: HashSet<&Prefix> = current.iter().collect();
    if let Some(c) = cuts.iter().find(|c| !current_set.contains(c)) {
        return Err(malformed(format!(
            "cut {what} {c} is not in the current list"
        )));
    }
    let cut_set: HashSet<&Prefix> = cuts.iter().collect();
    if let Some(a) = adds
        .iter()
        .find(|a| current_set.contains(a) && !cut_set.contains(a) || cut_set.contains(a))
    {
        return Err(malformed(format!(
            "added {what} {a} is already in the list or cut"
        )));
    }
    let mut next: Vec<Prefix> = current
        .iter()
        .filter(|w| !cut_set.contains(w))
        .cloned()
        .collect();
    next.extend(adds.iter().cloned());
    Ok(next)
}

/// The Ed25519 keys of a witness list.
fn witness_keys(list: &[Prefix]) -> Checked<Vec<Key>> {
    list.iter()
        .map(|p| Key::parse(p.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|e| Verdict::Invalid(Problem::Malformed(format!("witness: {e}"))))
}

/// Verifies witness (or backer) indexed signatures against `list`, needing `toad` of them.
fn check_witnesses(raw: &[u8], wigs: &[Siger], list: &[Prefix], toad: u64) -> Checked<()> {
    if toad == 0 && wigs.is_empty() {
        return Ok(());
    }
    let valid = verify_sigs(raw, wigs, &witness_keys(list)?, "witness")?;
    if (valid.len() as u64) < toad {
        return Err(Verdict::Pending(format!(
            "{} of {toad} witness signatures (partially witnessed)",
            valid.len()
        )));
    }
    Ok(())
}

/// Rotation keys: the new `kt` met by valid signatures, and the prior `nt` met by distinct
/// prior next-key commitments that those signers' keys reveal.
fn check_rotation_sigs(
    raw: &[u8],
    sigs: &[Siger],
    keys: &[Key],
    kt: u64,
    prior_next: &[Said],
    prior_nt: u64,
) -> Checked<()> {
    let valid = verify_sigs(raw, sigs, keys, "controller")?;
    threshold("controller", valid.len(), kt)?;
    let revealed: HashSet<usize> = valid
        .iter()
        .filter_map(|&i| {
            let digest = keys[i as usize].next_digest();
            prior_next.iter().position(|d| *d == digest)
        })
        .collect();
    threshold("prior-next", revealed.len(), prior_nt)
}

fn seal_matches(seal: &Map<String, Value>, event: &Event) -> bool {
    EventSeal::from_map(seal).is_some_and(|s| s == event.seal())
}

fn prior(expected: &Said, found: &Said) -> Verdict {
    Verdict::Invalid(Problem::Prior {
        expected: expected.to_string(),
        found: found.to_string(),
    })
}

/// Same SAID again: a duplicate; another SAID at the place: duplicity. Called only once the
/// second event's own signatures (or anchor) verified.
fn conflict(log: &str, sn: u64, first: &Said, event: &Event) -> Verdict {
    if first == event.said() {
        Verdict::Duplicate
    } else {
        Verdict::Invalid(Problem::Duplicity {
            prefix: log.to_owned(),
            sn,
            first: first.to_string(),
            second: event.said().to_string(),
        })
    }
}

impl Ledger {
    /// An empty ledger.
    pub fn new(options: Options) -> Ledger {
        Ledger {
            options,
            ..Ledger::default()
        }
    }

    /// The key state of `prefix`.
    pub fn key_state(&self, prefix: &str) -> Option<&KeyState> {
        self.kels.get(prefix).map(|k| &k.state)
    }

    /// Every key state, in no particular order.
    pub fn key_states(&self) -> impl Iterator<Item = &KeyState> {
        self.kels.values().map(|k| &k.state)
    }

    /// The key state of the identifier `delegator` delegated (zcred gives each issuer one
    /// anchoring agent).
    pub fn delegate_of(&self, delegator: &str) -> Option<&KeyState> {
        self.key_states().find(|k| {
            k.delegator
                .as_ref()
                .is_some_and(|d| d.as_str() == delegator)
        })
    }

    /// The registry `id`.
    pub fn registry(&self, id: &str) -> Option<&RegistryState> {
        self.registries.get(id)
    }

    /// Every registry.
    pub fn registries(&self) -> impl Iterator<Item = &RegistryState> {
        self.registries.values()
    }

    /// The state of the credential `said` in `registry`.
    pub fn credential(&self, registry: &str, said: &str) -> Option<&CredentialState> {
        self.credentials.get(&format!("{registry}/{said}"))
    }

    /// Every credential.
    pub fn credentials(&self) -> impl Iterator<Item = &CredentialState> {
        self.credentials.values()
    }

    /// SAIDs of the ACDCs seen, with their issuers.
    pub fn acdcs(&self) -> &HashMap<String, String> {
        &self.acdcs
    }

    /// Duplicity seen so far.
    pub fn duplicity(&self) -> &[Duplicity] {
        &self.duplicity
    }

    /// How many messages were accepted.
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// The SAID of the accepted event at (`log`, `sn`), for any log ([`Event::log_id`]).
    pub fn said_at(&self, log: &str, sn: u64) -> Option<&Said> {
        let at = usize::try_from(sn).ok()?;
        if let Some(kel) = self.kels.get(log) {
            return kel.said_at(sn);
        }
        if let Some(reg) = self.registries.get(log) {
            return reg.events.get(at).map(|e| &e.said);
        }
        let cred = self.credentials.get(log)?;
        match sn {
            0 => Some(&cred.issued.said),
            1 => cred.revoked.as_ref().map(|r| &r.said),
            _ => None,
        }
    }

    /// The accepted events of the KEL `prefix` that this ledger holds, by sequence number
    /// (all of them when it folded the whole log).
    pub fn kel_events(&self, prefix: &str) -> Vec<&Event> {
        self.kels
            .get(prefix)
            .map(|k| k.entries.values().map(|e| &e.event).collect())
            .unwrap_or_default()
    }

    /// The accepted KEL event of `prefix` at `sn` with its controller signatures, as a
    /// message (what a snapshot loads with [`Ledger::insert_kel_event`]).
    pub fn kel_message(&self, prefix: &str, sn: u64) -> Option<Message> {
        let entry = self.kels.get(prefix)?.entry(sn)?;
        Some(Message::event(
            entry.event.clone(),
            Attachments {
                sigs: entry.sigs.clone(),
                ..Attachments::default()
            },
        ))
    }

    /// The accepted KEL event of `prefix` at `sn`.
    pub fn kel_event(&self, prefix: &str, sn: u64) -> Option<&Event> {
        self.kels.get(prefix)?.entry(sn).map(|e| &e.event)
    }

    /// Checks one message and, when it is valid and new, folds it into the state.
    pub fn process(&mut self, message: &Message) -> Result<Outcome, Problem> {
        let verdict = match &message.payload {
            Payload::Event(event) => self.process_event(event, &message.attachments),
            Payload::Acdc(acdc) => self.process_acdc(acdc, &message.attachments),
        };
        match verdict {
            Ok(()) => {
                self.accepted += 1;
                Ok(Outcome::Accepted)
            }
            Err(Verdict::Duplicate) => Ok(Outcome::Duplicate),
            Err(Verdict::Pending(reason)) => Ok(Outcome::Pending(reason)),
            Err(Verdict::Invalid(p)) => {
                if let Problem::Duplicity {
                    prefix,
                    sn,
                    first,
                    second,
                } = &p
                {
                    self.duplicity.push(Duplicity {
                        prefix: prefix.clone(),
                        sn: *sn,
                        first: first.clone(),
                        second: second.clone(),
                    });
                }
                Err(p)
            }
        }
    }

    fn process_event(&mut self, event: &Event, att: &Attachments) -> Checked<()> {
        match event.body() {
            Body::Inception(_) => self.incept(event, att),
            Body::Rotation(_) | Body::Interaction(_) => self.extend_kel(event, att),
            Body::Receipt(r) => self.receipt(event, &r.i, att),
            Body::RegistryInception(_) | Body::RegistryRotation(_) => {
                self.registry_event(event, att)
            }
            Body::Issuance(_)
            | Body::Revocation(_)
            | Body::BackerIssuance(_)
            | Body::BackerRevocation(_) => self.credential_event(event, att),
        }
    }

    /// The KEL event of `controller` that the attached `-G` couple names: pending while that
    /// KEL or event is not known, invalid when the SAID differs.
    fn sourced(
        &self,
        controller: &Prefix,
        att: &Attachments,
        what: &str,
    ) -> Checked<(&Kel, &KelEntry, Anchor)> {
        let (sn, said) = att.source_seals.first().ok_or_else(|| {
            Problem::Anchor(format!("no -G source seal couple names the {what} event"))
        })?;
        let kel = self
            .kels
            .get(controller.as_str())
            .ok_or_else(|| Verdict::Pending(format!("{what} KEL {controller} is not known yet")))?;
        let entry = kel.entry(*sn).ok_or_else(|| {
            Verdict::Pending(format!(
                "{what} event {controller} sn {sn} is not known yet"
            ))
        })?;
        if entry.event.said() != said.as_str() {
            return Err(Verdict::Invalid(Problem::Anchor(format!(
                "the -G couple names {said} at sn {sn}, but {controller}'s event there is {}",
                entry.event.said()
            ))));
        }
        let anchor = Anchor {
            prefix: controller.to_string(),
            sn: *sn,
            said: said.clone(),
        };
        Ok((kel, entry, anchor))
    }

    /// Checks that the delegator approved `event` with a seal in the event named by the
    /// attached `-G` couple.
    fn check_delegation(
        &self,
        delegator: &Prefix,
        event: &Event,
        att: &Attachments,
    ) -> Checked<Anchor> {
        let (kel, entry, anchor) = self.sourced(delegator, att, "delegator's approving")?;
        if kel.state.config.iter().any(|c| c == "DND") {
            return Err(Verdict::Invalid(Problem::Delegation(format!(
                "delegator {delegator} is configured do-not-delegate (DND)"
            ))));
        }
        if !entry.event.anchors().iter().any(|s| seal_matches(s, event)) {
            return Err(Verdict::Invalid(Problem::Delegation(format!(
                "the delegator's event at sn {} carries no seal of this event",
                anchor.sn
            ))));
        }
        Ok(anchor)
    }

    /// Checks that `event` is anchored by `controller`'s KEL event named in the `-G` couple,
    /// with exactly one seal unless batch mode is on.
    fn check_anchor(
        &self,
        controller: &Prefix,
        event: &Event,
        att: &Attachments,
    ) -> Checked<Anchor> {
        let (_, entry, anchor) = self.sourced(controller, att, "anchoring")?;
        let seals = entry.event.anchors();
        if !seals.iter().any(|s| seal_matches(s, event)) {
            return Err(Verdict::Invalid(Problem::Anchor(format!(
                "{controller}'s event at sn {} carries no seal of this event",
                anchor.sn
            ))));
        }
        if seals.len() != 1 && !self.options.batch_anchors {
            return Err(Verdict::Invalid(Problem::Anchor(format!(
                "the anchoring event carries {} seals; keripy accepts exactly one (batch mode is off)",
                seals.len()
            ))));
        }
        Ok(anchor)
    }

    fn incept(&mut self, event: &Event, att: &Attachments) -> Checked<()> {
        let Body::Inception(e) = event.body() else {
            return Err(malformed("not an inception"));
        };
        if !e.i.is_self_addressing() {
            if e.k.len() != 1 || e.k[0].as_str() != e.i.as_str() {
                return Err(malformed(
                    "a basic prefix must be the single key of k (i == k[0])",
                ));
            }
            let bare = e.n.is_empty() && e.b.is_empty() && e.a.is_empty();
            if !e.i.is_transferable() && !bare {
                return Err(malformed(
                    "a non-transferable prefix (B…) needs empty n, b and a",
                ));
            }
        }
        if e.t == Ilk::Dip && !e.i.is_self_addressing() {
            return Err(malformed("a delegated prefix must be self-addressing (E…)"));
        }
        check_thresholds(e.kt.0, e.k.len(), e.nt.0, e.n.len())?;
        check_toad(e.bt.0, &e.b, "witness")?;
        let approval = match &e.di {
            Some(di) => Some(self.check_delegation(di, event, att)?),
            None => None,
        };
        let valid = verify_sigs(event.raw(), &att.sigs, &e.k, "controller")?;
        threshold("controller", valid.len(), e.kt.0)?;
        check_witnesses(event.raw(), &att.wigs, &e.b, e.bt.0)?;
        if let Some(kel) = self.kels.get(e.i.as_str()) {
            let first = kel.said_at(0).unwrap_or(&kel.state.last_est_said);
            return Err(conflict(e.i.as_str(), 0, first, event));
        }
        let state = KeyState {
            prefix: e.i.clone(),
            sn: 0,
            said: e.d.clone(),
            ilk: e.t,
            keys: e.k.clone(),
            kt: e.kt.0,
            next: e.n.clone(),
            nt: e.nt.0,
            witnesses: e.b.clone(),
            toad: e.bt.0,
            config: e.c.clone(),
            delegator: e.di.clone(),
            last_est_sn: 0,
            last_est_said: e.d.clone(),
            approval,
        };
        self.kels.insert(
            e.i.to_string(),
            Kel {
                establishments: vec![Establishment {
                    sn: 0,
                    said: e.d.clone(),
                    keys: e.k.clone(),
                    kt: e.kt.0,
                    next: e.n.clone(),
                    nt: e.nt.0,
                    witnesses: e.b.clone(),
                    toad: e.bt.0,
                    approval: state.approval.clone(),
                }],
                state,
                entries: BTreeMap::from([(
                    0,
                    KelEntry {
                        event: event.clone(),
                        sigs: att.sigs.clone(),
                    },
                )]),
            },
        );
        Ok(())
    }

    /// A second event at an accepted sn: refused unless it verifies against the keys in force
    /// before it; then a duplicate (same SAID) or duplicity.
    fn seen_before(&self, kel: &Kel, event: &Event, att: &Attachments) -> Verdict {
        let sn = event.sn();
        let Some(first) = kel.said_at(sn).cloned() else {
            return Verdict::Pending(format!("event {} sn {sn} is not known yet", event.prefix()));
        };
        let before = kel.keys_at(sn - 1);
        let checked = match event.body() {
            Body::Interaction(_) => verify_sigs(event.raw(), &att.sigs, &before.keys, "controller")
                .and_then(|valid| threshold("controller", valid.len(), before.kt)),
            Body::Rotation(e) => {
                if first != e.d && sn > kel.state.last_est_sn {
                    return Verdict::Invalid(Problem::NotAllowed(
                        "a superseding recovery rotation is not supported".into(),
                    ));
                }
                check_rotation_sigs(
                    event.raw(),
                    &att.sigs,
                    &e.k,
                    e.kt.0,
                    &before.next,
                    before.nt,
                )
            }
            _ => Err(malformed("not a KEL event")),
        };
        match checked {
            Ok(()) => conflict(event.prefix(), sn, &first, event),
            Err(v) => v,
        }
    }

    /// `rot`, `drt` and `ixn`.
    fn extend_kel(&mut self, event: &Event, att: &Attachments) -> Checked<()> {
        let prefix = event.prefix();
        let kel = self
            .kels
            .get(prefix)
            .ok_or_else(|| Verdict::Pending(format!("KEL {prefix} is not known yet")))?;
        let state = &kel.state;
        let sn = event.sn();
        if sn <= state.sn {
            return Err(self.seen_before(kel, event, att));
        }
        if sn > state.sn + 1 {
            return Err(Verdict::Pending(format!(
                "out of order: {prefix} is at sn {}, this is sn {sn}",
                state.sn
            )));
        }
        if state.next.is_empty() {
            return Err(Verdict::Invalid(Problem::NotAllowed(
                "the KEL committed to no next keys (non-transferable or abandoned): no event may follow"
                    .into(),
            )));
        }
        let mut next_state = state.clone();
        next_state.sn = sn;
        next_state.said = event.said().clone();
        next_state.ilk = event.ilk();
        let mut establishment = None;
        match event.body() {
            Body::Interaction(e) => {
                if e.p != state.said {
                    return Err(prior(&state.said, &e.p));
                }
                if state.config.iter().any(|c| c == "EO") {
                    return Err(Verdict::Invalid(Problem::NotAllowed(
                        "ixn in an establishment-only (EO) KEL".into(),
                    )));
                }
                let valid = verify_sigs(event.raw(), &att.sigs, &state.keys, "controller")?;
                threshold("controller", valid.len(), state.kt)?;
                check_witnesses(event.raw(), &att.wigs, &state.witnesses, state.toad)?;
            }
            Body::Rotation(e) => {
                if e.p != state.said {
                    return Err(prior(&state.said, &e.p));
                }
                match (e.t, &state.delegator) {
                    (Ilk::Rot, Some(_)) => {
                        return Err(Verdict::Invalid(Problem::NotAllowed(
                            "a delegated KEL rotates with drt, not rot".into(),
                        )))
                    }
                    (Ilk::Drt, None) => {
                        return Err(Verdict::Invalid(Problem::NotAllowed(
                            "drt in a KEL that is not delegated".into(),
                        )))
                    }
                    _ => {}
                }
                check_thresholds(e.kt.0, e.k.len(), e.nt.0, e.n.len())?;
                let witnesses = rotate_list(&state.witnesses, &e.br, &e.ba, "witness")?;
                check_toad(e.bt.0, &witnesses, "witness")?;
                if let Some(di) = &state.delegator {
                    next_state.approval = Some(self.check_delegation(di, event, att)?);
                }
                check_rotation_sigs(event.raw(), &att.sigs, &e.k, e.kt.0, &state.next, state.nt)?;
                check_witnesses(event.raw(), &att.wigs, &witnesses, e.bt.0)?;
                next_state.keys = e.k.clone();
                next_state.kt = e.kt.0;
                next_state.next = e.n.clone();
                next_state.nt = e.nt.0;
                next_state.witnesses = witnesses.clone();
                next_state.toad = e.bt.0;
                next_state.last_est_sn = sn;
                next_state.last_est_said = e.d.clone();
                establishment = Some(Establishment {
                    sn,
                    said: e.d.clone(),
                    keys: e.k.clone(),
                    kt: e.kt.0,
                    next: e.n.clone(),
                    nt: e.nt.0,
                    witnesses,
                    toad: e.bt.0,
                    approval: next_state.approval.clone(),
                });
            }
            _ => return Err(malformed("not a KEL event")),
        }
        let kel = self
            .kels
            .get_mut(prefix)
            .ok_or_else(|| Verdict::Pending(format!("KEL {prefix} is not known yet")))?;
        kel.state = next_state;
        kel.entries.insert(
            sn,
            KelEntry {
                event: event.clone(),
                sigs: att.sigs.clone(),
            },
        );
        kel.establishments.extend(establishment);
        Ok(())
    }

    /// A receipt: witness signatures (`-C` couples or `-B` indexed, from the witnesses in force
    /// at the receipted event) and validator signatures (`-F`/`-D`). Receipts already recorded
    /// make it a duplicate.
    fn receipt(&mut self, event: &Event, prefix: &Prefix, att: &Attachments) -> Checked<()> {
        let sn = event.sn();
        let kel = self
            .kels
            .get(prefix.as_str())
            .ok_or_else(|| Verdict::Pending(format!("receipted KEL {prefix} is not known yet")))?;
        let receipted = &kel
            .entry(sn)
            .ok_or_else(|| {
                Verdict::Pending(format!("receipted event {prefix} sn {sn} is not known yet"))
            })?
            .event;
        if receipted.said() != event.said() {
            return Err(malformed(format!(
                "receipt of {} but the accepted event at that sn is {}",
                event.said(),
                receipted.said()
            )));
        }
        let witnesses = &kel.keys_at(sn).witnesses;
        let mut receipters: Vec<String> = Vec::new();
        for (witness, sig) in &att.receipts {
            if !witnesses.iter().any(|w| w.as_str() == witness) {
                return Err(Verdict::Invalid(Problem::Signature(format!(
                    "receipt by {witness}, which is not a witness of {prefix} at sn {sn}"
                ))));
            }
            let key = Key::parse(witness)
                .and_then(|k| k.verifying_key())
                .map_err(|e| Problem::Malformed(format!("receipt prefix: {e}")))?;
            key.verify(receipted.raw(), sig)
                .map_err(|_| Problem::Signature(format!("receipt by {witness} does not verify")))?;
            receipters.push(witness.clone());
        }
        for i in verify_sigs(
            receipted.raw(),
            &att.wigs,
            &witness_keys(witnesses)?,
            "witness receipt",
        )? {
            receipters.push(witnesses[i as usize].to_string());
        }
        // keripy v1 sends validator receipts as -F groups; -D is the older form.
        for group in att.trans_receipts.iter().chain(&att.endorsements) {
            self.check_signature_group(group, receipted.raw())?;
            receipters.push(group.prefix.clone());
        }
        if receipters.is_empty() {
            return Err(Verdict::Invalid(Problem::Signature(
                "a receipt must carry receipt signatures".into(),
            )));
        }
        let log = prefix.to_string();
        let new: Vec<_> = receipters
            .into_iter()
            .map(|r| (log.clone(), sn, r))
            .filter(|k| !self.receipts.contains(k))
            .collect();
        if new.is_empty() {
            return Err(Verdict::Duplicate);
        }
        self.receipts.extend(new);
        Ok(())
    }

    /// A `-F` or `-D` group: signatures by `group.prefix` with the keys of its latest
    /// establishment event (keys rotated away may not sign any more).
    fn check_signature_group(&self, group: &TransSigGroup, raw: &[u8]) -> Checked<()> {
        let kel = self
            .kels
            .get(&group.prefix)
            .ok_or_else(|| Verdict::Pending(format!("signer {} is not known yet", group.prefix)))?;
        let latest = kel
            .establishments
            .last()
            .ok_or_else(|| malformed("empty KEL"))?;
        if group.sn > latest.sn {
            return Err(Verdict::Pending(format!(
                "establishment event {} sn {} is not known yet",
                group.prefix, group.sn
            )));
        }
        if group.sn != latest.sn || latest.said.as_str() != group.said {
            return Err(Verdict::Invalid(Problem::Signature(format!(
                "signature group uses the keys of {} sn {} ({}), but {}'s keys in force are those of sn {} ({})",
                group.prefix, group.sn, group.said, group.prefix, latest.sn, latest.said
            ))));
        }
        let valid = verify_sigs(raw, &group.sigs, &latest.keys, "endorsement")?;
        threshold("endorsement", valid.len(), latest.kt)
    }

    fn registry_event(&mut self, event: &Event, att: &Attachments) -> Checked<()> {
        match event.body() {
            Body::RegistryInception(e) => {
                let backerless = e.c.iter().any(|c| c == "NB");
                if backerless && (!e.b.is_empty() || e.bt.0 != 0) {
                    return Err(malformed(
                        "a backerless (NB) registry must have no backers and bt 0",
                    ));
                }
                check_toad(e.bt.0, &e.b, "backer")?;
                let anchor = self.check_anchor(&e.ii, event, att)?;
                check_witnesses(event.raw(), &att.wigs, &e.b, e.bt.0)?;
                if let Some(reg) = self.registries.get(e.i.as_str()) {
                    let first = reg.events.first().map_or(&reg.said, |m| &m.said);
                    return Err(conflict(e.i.as_str(), 0, first, event));
                }
                self.registries.insert(
                    e.i.to_string(),
                    RegistryState {
                        id: e.i.clone(),
                        issuer: e.ii.clone(),
                        sn: 0,
                        said: e.d.clone(),
                        backerless,
                        backers: e.b.clone(),
                        toad: e.bt.0,
                        anchor,
                        events: vec![RegistryEvent {
                            said: e.d.clone(),
                            backers: e.b.clone(),
                            toad: e.bt.0,
                            event: Some(event.clone()),
                        }],
                    },
                );
                Ok(())
            }
            Body::RegistryRotation(e) => {
                let reg = self.registries.get(e.i.as_str()).ok_or_else(|| {
                    Verdict::Pending(format!("registry {} is not known yet", e.i))
                })?;
                if e.s.0 > reg.sn + 1 {
                    return Err(Verdict::Pending(format!(
                        "out of order: registry {} is at sn {}, this is sn {}",
                        e.i, reg.sn, e.s.0
                    )));
                }
                if reg.backerless {
                    return Err(Verdict::Invalid(Problem::NotAllowed(
                        "vrt in a backerless (NB) registry".into(),
                    )));
                }
                let issuer = reg.issuer.clone();
                self.check_anchor(&issuer, event, att)?;
                if e.s.0 <= reg.sn {
                    let Some(first) = usize::try_from(e.s.0).ok().and_then(|i| reg.events.get(i))
                    else {
                        return Err(malformed(format!(
                            "registry {} lists no event at sn {}",
                            e.i, e.s.0
                        )));
                    };
                    return Err(conflict(e.i.as_str(), e.s.0, &first.said, event));
                }
                if e.p != reg.said {
                    return Err(prior(&reg.said, &e.p));
                }
                let backers = rotate_list(&reg.backers, &e.br, &e.ba, "backer")?;
                check_toad(e.bt.0, &backers, "backer")?;
                check_witnesses(event.raw(), &att.wigs, &backers, e.bt.0)?;
                let reg = self.registries.get_mut(e.i.as_str()).ok_or_else(|| {
                    Verdict::Pending(format!("registry {} is not known yet", e.i))
                })?;
                reg.sn = e.s.0;
                reg.said = e.d.clone();
                reg.events.push(RegistryEvent {
                    said: e.d.clone(),
                    backers: backers.clone(),
                    toad: e.bt.0,
                    event: Some(event.clone()),
                });
                reg.backers = backers;
                reg.toad = e.bt.0;
                Ok(())
            }
            _ => Err(malformed("not a registry event")),
        }
    }

    fn credential_event(&mut self, event: &Event, att: &Attachments) -> Checked<()> {
        let (cred, registry_id, dt, prior_said, ra) = match event.body() {
            Body::Issuance(e) => (&e.i, e.ri.as_str(), &e.dt, None, None),
            Body::Revocation(e) => (&e.i, e.ri.as_str(), &e.dt, Some(&e.p), None),
            Body::BackerIssuance(e) => (&e.i, e.ii.as_str(), &e.dt, None, Some(&e.ra)),
            Body::BackerRevocation(e) => (&e.i, e.ra.i.as_str(), &e.dt, Some(&e.p), Some(&e.ra)),
            _ => return Err(malformed("not a credential event")),
        };
        let log = event.log_id();
        let reg = self
            .registries
            .get(registry_id)
            .ok_or_else(|| Verdict::Pending(format!("registry {registry_id} is not known yet")))?;
        let backer_event = matches!(event.ilk(), Ilk::Bis | Ilk::Brv);
        if reg.backerless == backer_event {
            return Err(Verdict::Invalid(Problem::NotAllowed(format!(
                "{} in a registry {} backers",
                event.ilk(),
                if reg.backerless { "without" } else { "with" }
            ))));
        }
        let backers = match ra {
            Some(ra) => {
                let named = usize::try_from(ra.s.0)
                    .ok()
                    .and_then(|i| reg.events.get(i))
                    .filter(|m| ra.i.as_str() == registry_id && m.said == ra.d);
                let RegistryEvent { backers, toad, .. } = named.ok_or_else(|| {
                    malformed(format!(
                        "ra names registry event {} sn {} ({}), which is not in registry {registry_id}",
                        ra.i, ra.s.0, ra.d
                    ))
                })?;
                Some((backers.clone(), *toad))
            }
            None => None,
        };
        let issuer = reg.issuer.clone();
        let anchor = self.check_anchor(&issuer, event, att)?;
        let existing = self.credentials.get(&log);
        match (existing, prior_said) {
            (Some(c), None) => return Err(conflict(&log, 0, &c.issued.said, event)),
            (Some(c), Some(p)) => {
                if let Some(r) = &c.revoked {
                    return Err(conflict(&log, 1, &r.said, event));
                }
                if *p != c.issued.said {
                    return Err(prior(&c.issued.said, p));
                }
            }
            (None, Some(_)) => {
                return Err(Verdict::Pending(format!(
                    "credential {cred} has no issuance in registry {registry_id} yet"
                )))
            }
            (None, None) => {}
        }
        if let Some((backers, toad)) = &backers {
            check_witnesses(event.raw(), &att.wigs, backers, *toad)?;
        }
        let mut endorsers = Vec::new();
        for group in &att.endorsements {
            self.check_signature_group(group, event.raw())?;
            endorsers.push(group.prefix.clone());
        }
        let record = TelRecord {
            said: event.said().clone(),
            ilk: event.ilk(),
            dt: dt.as_str().to_owned(),
            anchor,
            endorsers,
            event: Some(event.clone()),
        };
        match prior_said {
            None => {
                let registry = Prefix::parse(registry_id)
                    .map_err(|e| Problem::Malformed(format!("registry id: {e}")))?;
                self.credentials.insert(
                    log,
                    CredentialState {
                        said: cred.clone(),
                        registry,
                        status: Status::Issued,
                        issued: record,
                        revoked: None,
                    },
                );
            }
            Some(_) => {
                if let Some(c) = self.credentials.get_mut(&log) {
                    c.status = Status::Revoked;
                    c.revoked = Some(record);
                }
            }
        }
        Ok(())
    }

    /// An ACDC: its registry (when it names one) must be known and controlled by its issuer,
    /// and `-F` signatures on it must be its issuer's.
    fn process_acdc(&mut self, acdc: &crate::acdc::Acdc, att: &Attachments) -> Checked<()> {
        if let Some(ri) = acdc.registry() {
            let reg = self
                .registries
                .get(ri)
                .ok_or_else(|| Verdict::Pending(format!("registry {ri} is not known yet")))?;
            if reg.issuer.as_str() != acdc.issuer() {
                return Err(malformed(format!(
                    "ACDC issuer {} is not the issuer {} of registry {ri}",
                    acdc.issuer(),
                    reg.issuer
                )));
            }
        }
        for group in &att.endorsements {
            if group.prefix != acdc.issuer() {
                return Err(Verdict::Invalid(Problem::Signature(format!(
                    "ACDC signed by {}, which is not its issuer {}",
                    group.prefix,
                    acdc.issuer()
                ))));
            }
            self.check_signature_group(group, acdc.raw())?;
        }
        if self.acdcs.contains_key(acdc.said()) {
            return Err(Verdict::Duplicate);
        }
        self.acdcs
            .insert(acdc.said().to_owned(), acdc.issuer().to_owned());
        Ok(())
    }

    /// Re-verifies the status of credential `said` in `registry` from the events kept for it:
    /// the SAIDs of its TEL events and of their anchoring events, the anchoring events'
    /// signatures against the keys in force at their sequence numbers, and the seals. Its cost
    /// does not depend on how many credentials or events the ledger holds.
    pub fn verify_status(&self, registry: &str, said: &str) -> Result<Status, Problem> {
        let cred = self.credential(registry, said).ok_or_else(|| {
            Problem::Malformed(format!("credential {said} is not in registry {registry}"))
        })?;
        let reg = self.registries.get(registry).ok_or_else(|| {
            Problem::Malformed(format!("registry {registry} is not in the ledger"))
        })?;
        let vcp = reg
            .events
            .first()
            .and_then(|m| m.event.as_ref())
            .ok_or_else(|| Problem::Malformed("the registry's inception was not kept".into()))?;
        self.reverify_anchor(vcp, &reg.anchor)?;
        for record in std::iter::once(&cred.issued).chain(cred.revoked.as_ref()) {
            let event = record
                .event
                .as_ref()
                .ok_or_else(|| Problem::Malformed("TEL event was not kept".into()))?;
            self.reverify_anchor(event, &record.anchor)?;
        }
        Ok(cred.status)
    }

    /// Re-parses `event` and the KEL event `anchor` names, and checks seal and signatures.
    fn reverify_anchor(&self, event: &Event, anchor: &Anchor) -> Result<(), Problem> {
        let reparse =
            |e: &Event| Event::parse(e.raw()).map_err(|err| Problem::Malformed(format!("{err}")));
        let event = reparse(event)?;
        let kel = self.kels.get(&anchor.prefix).ok_or_else(|| {
            Problem::Anchor(format!("KEL {} is not in the ledger", anchor.prefix))
        })?;
        let entry = kel.entry(anchor.sn).ok_or_else(|| {
            Problem::Anchor(format!(
                "{} has no event at sn {}",
                anchor.prefix, anchor.sn
            ))
        })?;
        let anchoring = reparse(&entry.event)?;
        if anchoring.said() != anchor.said.as_str()
            || !anchoring.anchors().iter().any(|s| seal_matches(s, &event))
        {
            return Err(Problem::Anchor(format!(
                "{} sn {} does not anchor {}",
                anchor.prefix,
                anchor.sn,
                event.said()
            )));
        }
        let est = kel.keys_at(anchor.sn);
        verify_sigs(anchoring.raw(), &entry.sigs, &est.keys, "controller")
            .and_then(|valid| threshold("controller", valid.len(), est.kt))
            .map_err(|v| match v {
                Verdict::Invalid(p) => p,
                Verdict::Pending(r) => Problem::Malformed(r),
                Verdict::Duplicate => Problem::Malformed("duplicate".into()),
            })
    }
}

/// Why a stream did not verify: the first bad message and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct StreamFailure {
    /// The message.
    pub at: EventRef,
    /// What is wrong.
    pub reason: String,
}

/// How many messages may wait for their dependencies at once in [`verify_stream`].
pub const MAX_ESCROW: usize = 10_000;

type Escrow = Vec<(EventRef, Message, String)>;

/// Verifies a whole CESR text stream. Messages that depend on later ones wait in escrow and are
/// retried as the stream goes on; whatever still waits at the end is reported.
pub fn verify_stream(bytes: &[u8], options: Options) -> Result<Ledger, StreamFailure> {
    let mut ledger = Ledger::new(options);
    let mut escrow: Escrow = Vec::new();
    for (index, item) in StreamReader::new(bytes).enumerate() {
        let message = item.map_err(|e| StreamFailure {
            at: e.at().clone(),
            reason: e.reason(),
        })?;
        let at = message.reference(index);
        match ledger.process(&message) {
            Ok(Outcome::Accepted) => retry_escrow(&mut ledger, &mut escrow)?,
            Ok(Outcome::Duplicate) => {}
            Ok(Outcome::Pending(reason)) => {
                if escrow.len() >= MAX_ESCROW {
                    return Err(StreamFailure {
                        at,
                        reason: format!(
                            "more than {MAX_ESCROW} messages wait for events that have not come"
                        ),
                    });
                }
                let merged = merge_receipt(&message, &mut escrow);
                escrow.push((at, message, reason));
                if merged {
                    retry_escrow(&mut ledger, &mut escrow)?;
                }
            }
            Err(problem) => {
                return Err(StreamFailure {
                    at,
                    reason: problem.to_string(),
                })
            }
        }
    }
    if let Some((at, _, reason)) = escrow.into_iter().next() {
        return Err(StreamFailure {
            at,
            reason: format!("never resolved: {reason}"),
        });
    }
    Ok(ledger)
}

/// A witness receipt (`rct` with `-B` or `-C`) of an inception waiting for witness signatures
/// lends it those of its signatures that verify, as keripy's partially-witnessed escrow does.
fn merge_receipt(receipt: &Message, escrow: &mut [(EventRef, Message, String)]) -> bool {
    let Payload::Event(rct) = &receipt.payload else {
        return false;
    };
    if rct.ilk() != Ilk::Rct {
        return false;
    }
    let mut merged = false;
    for (_, waiting, _) in escrow.iter_mut() {
        let Payload::Event(event) = &waiting.payload else {
            continue;
        };
        let Body::Inception(icp) = event.body() else {
            continue;
        };
        if event.prefix() != rct.prefix() || event.sn() != rct.sn() || event.said() != rct.said() {
            continue;
        }
        let Ok(keys) = witness_keys(&icp.b) else {
            continue;
        };
        let couples = receipt.attachments.receipts.iter().filter_map(|(w, sig)| {
            let index = icp.b.iter().position(|b| b.as_str() == w)?;
            Some(Siger {
                index: index as u32,
                signature: *sig,
            })
        });
        for wig in receipt.attachments.wigs.iter().copied().chain(couples) {
            let fresh = !waiting
                .attachments
                .wigs
                .iter()
                .any(|w| w.index == wig.index);
            if fresh && verify_sigs(event.raw(), &[wig], &keys, "witness").is_ok() {
                waiting.attachments.wigs.push(wig);
                merged = true;
            }
        }
    }
    merged
}

/// Retries escrowed messages until none makes progress.
fn retry_escrow(ledger: &mut Ledger, escrow: &mut Escrow) -> Result<(), StreamFailure> {
    loop {
        let mut progressed = false;
        let mut i = 0;
        while i < escrow.len() {
            match ledger.process(&escrow[i].1) {
                Ok(Outcome::Accepted) => {
                    escrow.remove(i);
                    progressed = true;
                }
                Ok(Outcome::Duplicate) => {
                    escrow.remove(i);
                }
                Ok(Outcome::Pending(reason)) => {
                    escrow[i].2 = reason;
                    i += 1;
                }
                Err(problem) => {
                    return Err(StreamFailure {
                        at: escrow[i].0.clone(),
                        reason: problem.to_string(),
                    })
                }
            }
        }
        if !progressed {
            return Ok(());
        }
    }
}
