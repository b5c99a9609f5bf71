//! The verifier fed a snapshot instead of the whole history.
//!
//! A [`Ledger`] that folded a whole stream holds every log. A store that keeps each log's
//! state beside it (a [`KelRow`] per KEL, a [`RegistryState`] per registry, a
//! [`CredentialState`] per credential TEL) can instead load only what one message needs:
//! [`Ledger::needs`] names it, the `insert_*` methods load it, and [`Ledger::process`] then
//! runs exactly the checks it runs on a full ledger. What a message needs is looked up in
//! rounds, because some needs are known only once others are loaded (a TEL event's anchoring
//! KEL is its registry's controller).
//!
//! **Invariant**: a snapshot holds, for every log it holds, the state after that log's last
//! accepted event (or, for an audit, after the last event before the one being checked), never
//! a mix; the caller loads each piece whole or not at all.

use super::{CredentialState, Kel, KelEntry, KelRow, Ledger, Options, RegistryState, Status};
use crate::event::Body;
use crate::stream::{Message, Payload};

/// Something the verifier needs to check a message and does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Need {
    /// A KEL's state ([`KelRow`]).
    Kel(String),
    /// The accepted event of a KEL at a sequence number, with its signatures (an anchoring
    /// event, a delegator's approval, a receipted event, or an event at a place already taken).
    KelEvent(String, u64),
    /// A registry's state.
    Registry(String),
    /// A credential's TEL state, by the TEL's log id `<registry>/<credential SAID>`.
    Credential(String),
    /// Whether an ACDC of this SAID was accepted.
    Acdc(String),
    /// The receipters already recorded for the event of a KEL at a sequence number.
    Receipts(String, u64),
}

impl Ledger {
    /// A ledger that holds nothing yet, to be loaded piece by piece.
    pub fn snapshot(options: Options) -> Ledger {
        Ledger::new(options)
    }

    /// What checking `message` needs that this ledger does not hold. Call again after loading
    /// them: a need can reveal another (a registry names its controller's KEL). A need the
    /// caller looked up and found absent is still named; the caller skips what it tried.
    pub fn needs(&self, message: &Message) -> Vec<Need> {
        let mut out = Vec::new();
        let att = &message.attachments;
        let anchor_sn = att.source_seals.first().map(|(sn, _)| *sn);
        let kel = |out: &mut Vec<Need>, prefix: &str| {
            if !self.kels.contains_key(prefix) {
                out.push(Need::Kel(prefix.to_owned()));
            }
        };
        let kel_event = |out: &mut Vec<Need>, prefix: &str, sn: Option<u64>| {
            let Some(sn) = sn else { return };
            match self.kels.get(prefix) {
                Some(k) if k.entry(sn).is_some() => {}
                _ => out.push(Need::KelEvent(prefix.to_owned(), sn)),
            }
        };
        match &message.payload {
            Payload::Event(event) => match event.body() {
                Body::Inception(e) => {
                    kel(&mut out, e.i.as_str());
                    if let Some(di) = &e.di {
                        kel(&mut out, di.as_str());
                        kel_event(&mut out, di.as_str(), anchor_sn);
                    }
                }
                Body::Rotation(_) | Body::Interaction(_) => {
                    let prefix = event.prefix();
                    kel(&mut out, prefix);
                    if let Some(k) = self.kels.get(prefix) {
                        if event.sn() <= k.state.sn {
                            kel_event(&mut out, prefix, Some(event.sn()));
                        }
                        if let (Body::Rotation(_), Some(di)) = (event.body(), &k.state.delegator) {
                            kel(&mut out, di.as_str());
                            kel_event(&mut out, di.as_str(), anchor_sn);
                        }
                    }
                }
                Body::Receipt(r) => {
                    kel(&mut out, r.i.as_str());
                    kel_event(&mut out, r.i.as_str(), Some(event.sn()));
                    let place = (r.i.to_string(), event.sn());
                    if !self.receipts_loaded.contains(&place) {
                        out.push(Need::Receipts(place.0, place.1));
                    }
                }
                Body::RegistryInception(e) => {
                    kel(&mut out, e.ii.as_str());
                    kel_event(&mut out, e.ii.as_str(), anchor_sn);
                    if !self.registries.contains_key(e.i.as_str()) {
                        out.push(Need::Registry(e.i.to_string()));
                    }
                }
                Body::RegistryRotation(e) => match self.registries.get(e.i.as_str()) {
                    None => out.push(Need::Registry(e.i.to_string())),
                    Some(reg) => {
                        kel(&mut out, reg.issuer.as_str());
                        kel_event(&mut out, reg.issuer.as_str(), anchor_sn);
                    }
                },
                Body::Issuance(_)
                | Body::Revocation(_)
                | Body::BackerIssuance(_)
                | Body::BackerRevocation(_) => {
                    let registry = match event.body() {
                        Body::Issuance(e) => e.ri.as_str(),
                        Body::Revocation(e) => e.ri.as_str(),
                        Body::BackerIssuance(e) => e.ii.as_str(),
                        Body::BackerRevocation(e) => e.ra.i.as_str(),
                        _ => "",
                    };
                    match self.registries.get(registry) {
                        None => out.push(Need::Registry(registry.to_owned())),
                        Some(reg) => {
                            kel(&mut out, reg.issuer.as_str());
                            kel_event(&mut out, reg.issuer.as_str(), anchor_sn);
                        }
                    }
                    let log = event.log_id();
                    if !self.credentials.contains_key(&log) {
                        out.push(Need::Credential(log));
                    }
                    for group in &att.endorsements {
                        kel(&mut out, &group.prefix);
                    }
                }
            },
            Payload::Acdc(acdc) => {
                if let Some(ri) = acdc.registry() {
                    if !self.registries.contains_key(ri) {
                        out.push(Need::Registry(ri.to_owned()));
                    }
                }
                for group in &att.endorsements {
                    kel(&mut out, &group.prefix);
                }
                if !self.acdcs.contains_key(acdc.said()) {
                    out.push(Need::Acdc(acdc.said().to_owned()));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Loads a KEL's state. Replaces what the ledger held of that KEL.
    pub fn insert_kel(&mut self, row: KelRow) {
        let KelRow {
            state,
            establishments,
        } = row;
        self.kels.insert(
            state.prefix.to_string(),
            Kel {
                state,
                entries: Default::default(),
                establishments,
            },
        );
    }

    /// Loads an accepted KEL event with its signatures, for a KEL already loaded. Returns
    /// whether it was taken (a message that is not an event of a loaded KEL is not).
    pub fn insert_kel_event(&mut self, message: &Message) -> bool {
        let Some(event) = message.as_event() else {
            return false;
        };
        if !matches!(
            event.body(),
            Body::Inception(_) | Body::Rotation(_) | Body::Interaction(_)
        ) {
            return false;
        }
        let Some(kel) = self.kels.get_mut(event.prefix()) else {
            return false;
        };
        if event.sn() > kel.state.sn {
            return false;
        }
        kel.entries.insert(
            event.sn(),
            KelEntry {
                event: event.clone(),
                sigs: message.attachments.sigs.clone(),
            },
        );
        true
    }

    /// Loads a registry's state.
    pub fn insert_registry(&mut self, registry: RegistryState) {
        self.registries.insert(registry.id.to_string(), registry);
    }

    /// Loads a credential's TEL state.
    pub fn insert_credential(&mut self, credential: CredentialState) {
        let log = format!("{}/{}", credential.registry, credential.said);
        self.credentials.insert(log, credential);
    }

    /// Records that an ACDC of `said` by `issuer` was accepted.
    pub fn insert_acdc(&mut self, said: &str, issuer: &str) {
        self.acdcs.insert(said.to_owned(), issuer.to_owned());
    }

    /// Loads the receipters recorded for the event of `log` at `sn` (none: an empty list).
    pub fn insert_receipts(&mut self, log: &str, sn: u64, receipters: Vec<String>) {
        for r in receipters {
            self.receipts.insert((log.to_owned(), sn, r));
        }
        self.receipts_loaded.insert((log.to_owned(), sn));
    }

    /// The state row of the KEL `prefix`.
    pub fn kel_row(&self, prefix: &str) -> Option<KelRow> {
        let kel = self.kels.get(prefix)?;
        Some(KelRow {
            state: kel.state.clone(),
            establishments: kel.establishments.clone(),
        })
    }

    /// Who receipted the event of `log` at `sn`, sorted.
    pub fn receipters(&self, log: &str, sn: u64) -> Vec<String> {
        let mut out: Vec<String> = self
            .receipts
            .iter()
            .filter(|(l, s, _)| l == log && *s == sn)
            .map(|(_, _, r)| r.clone())
            .collect();
        out.sort();
        out
    }
}

impl KelRow {
    /// The row as it was after the event at `sn` (SAID `said`, type `ilk`): the establishment
    /// events up to it, and the key state they and that event give. `None` when `sn` is past
    /// the row's last event or before its inception.
    pub fn as_of(
        &self,
        sn: u64,
        said: &crate::event::Said,
        ilk: crate::event::Ilk,
    ) -> Option<KelRow> {
        if sn > self.state.sn {
            return None;
        }
        let establishments: Vec<_> = self
            .establishments
            .iter()
            .filter(|e| e.sn <= sn)
            .cloned()
            .collect();
        let last = establishments.last()?.clone();
        let mut state = self.state.clone();
        state.sn = sn;
        state.said = said.clone();
        state.ilk = ilk;
        state.keys = last.keys;
        state.kt = last.kt;
        state.next = last.next;
        state.nt = last.nt;
        state.witnesses = last.witnesses;
        state.toad = last.toad;
        state.last_est_sn = last.sn;
        state.last_est_said = last.said;
        state.approval = last.approval;
        Some(KelRow {
            state,
            establishments,
        })
    }
}

impl CredentialState {
    /// The state as it was before the TEL event at `sn` (0: none yet).
    pub fn before(&self, sn: u64) -> Option<CredentialState> {
        match sn {
            0 => None,
            1 => Some(CredentialState {
                status: Status::Issued,
                revoked: None,
                ..self.clone()
            }),
            _ => Some(self.clone()),
        }
    }
}

impl RegistryState {
    /// The state as it was before the management event at `sn` (0: none yet).
    pub fn before(&self, sn: u64) -> Option<RegistryState> {
        let keep = usize::try_from(sn).ok()?;
        if keep == 0 || keep > self.events.len() {
            return (keep > self.events.len()).then(|| self.clone());
        }
        let events = self.events[..keep].to_vec();
        let last = events.last()?.clone();
        Some(RegistryState {
            sn: sn - 1,
            said: last.said,
            backers: last.backers,
            toad: last.toad,
            events,
            ..self.clone()
        })
    }
}
