//! Re-verifying the stored log from its bytes, in bounded memory: the tail written since the
//! last verified point ([`verify_tail`], at start and in the background), and the whole log
//! with every state row checked against the fold of its events ([`audit`]).
//!
//! Both walk the events in first-seen (ordinal) order and check each against the history
//! before it, with the same verifier the writes use ([`Ledger::needs`] and a snapshot): the
//! KELs and registries as folded so far, the anchoring and approving events read from the
//! store (each must precede the event it anchors), and a credential's TEL state before the
//! event (its row, cut back to that point; the row's own records are checked against the fold
//! as each TEL event passes). Memory holds one fold per KEL and registry met (two of each per
//! issuer), never per credential or event.
//!
//! The tail check starts from the verified point and takes each log it meets at its state
//! then, rebuilt from the log's row and the events before that point (which an earlier check
//! verified). The audit starts from nothing and trusts no row: every KEL and registry is
//! folded from its events, and at the end every derived row must equal its fold.

use std::collections::HashMap;

use zcred_ledger::verify::{KelRow, Need, RegistryState};
use zcred_ledger::{Ledger, Options, Outcome, Payload};

use crate::journal::parse_logged;
use crate::rows::{self, Verified};
use crate::{Append, Expectation, LedgerStore, LoggedEvent, StateUpdate, StoreError};

/// How many events are read per page.
const PAGE: usize = 1000;

/// Why the stored log did not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event does not verify against the history before it.
    #[error("stored event {ordinal} ({ilk} of {prefix} at sn {sn}) does not verify: {reason}")]
    Invalid {
        /// Its ordinal.
        ordinal: u64,
        /// Its type.
        ilk: String,
        /// Its log.
        prefix: String,
        /// Its sequence number.
        sn: u64,
        /// Why.
        reason: String,
    },
    /// A state row is not the fold of its log's events.
    #[error("state row {key} is not the fold of its events: {reason}")]
    Row {
        /// The row.
        key: String,
        /// What differs.
        reason: String,
    },
}

/// What a check covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The first ordinal checked (the one after the verified point).
    pub from: u64,
    /// The last ordinal checked (0: none).
    pub to: u64,
    /// Events checked.
    pub events: u64,
    /// KELs met.
    pub kels: u64,
    /// Registries met.
    pub registries: u64,
    /// Credential TEL events checked.
    pub credential_events: u64,
    /// State rows compared with their fold.
    pub rows: u64,
    /// Rows that moved on while the check ran (their later events were written after it
    /// started); not compared.
    pub moved: u64,
}

/// Progress, for a terminal: `(events checked, ordinal reached, last ordinal to reach)`.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, u64, u64) + Send);

/// Where the folds come from for a log met for the first time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seed {
    /// Nothing: every log is folded from its first event (the audit).
    Nothing,
    /// The log's row, cut back to the events before the one being checked (the tail check).
    Rows,
}

struct Walk<'s, S> {
    store: &'s S,
    options: Options,
    seed: Seed,
    kels: HashMap<String, KelRow>,
    registries: HashMap<String, RegistryState>,
    /// Credential logs whose last stored event was checked (audit: for the row count).
    finished_credentials: u64,
    report: Report,
}

fn invalid(logged: &LoggedEvent, reason: impl Into<String>) -> AuditError {
    AuditError::Invalid {
        ordinal: logged.ordinal,
        ilk: logged.event.ilk.clone(),
        prefix: logged.event.prefix.clone(),
        sn: logged.event.sn,
        reason: reason.into(),
    }
}

/// Whether two states are the same as rows (what a row cannot hold, the events kept beside a
/// fold, does not count).
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    rows::text(a) == rows::text(b)
}

fn row_error(key: &str, reason: impl Into<String>) -> AuditError {
    AuditError::Row {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

impl<'s, S: LedgerStore> Walk<'s, S> {
    fn new(store: &'s S, options: Options, seed: Seed) -> Walk<'s, S> {
        Walk {
            store,
            options,
            seed,
            kels: HashMap::new(),
            registries: HashMap::new(),
            finished_credentials: 0,
            report: Report::default(),
        }
    }

    /// The stored event of `log` at `sn`, when it precedes `ordinal`.
    async fn before(
        &self,
        log: &str,
        sn: u64,
        ordinal: u64,
    ) -> Result<Option<LoggedEvent>, StoreError> {
        Ok(self
            .store
            .event(log, sn)
            .await?
            .filter(|e| e.ordinal < ordinal))
    }

    /// The KEL `prefix` as it stood before `ordinal`, rebuilt from its row: the last event
    /// before that point is found by bisection over sequence numbers (ordinals rise with them
    /// in a log).
    async fn kel_from_row(&self, prefix: &str, ordinal: u64) -> Result<Option<KelRow>, AuditError> {
        let key = rows::kel(prefix);
        let Some(text) = self.store.state(&key).await? else {
            return Ok(None);
        };
        let row = rows::parse_kel(&key, &text)?;
        if self.before(prefix, 0, ordinal).await?.is_none() {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0, row.state.sn);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.before(prefix, mid, ordinal).await?.is_some() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let head = self
            .before(prefix, lo, ordinal)
            .await?
            .ok_or_else(|| row_error(&key, format!("the event at sn {lo} is missing")))?;
        let message = parse_logged(&head)?;
        let event = message
            .as_event()
            .ok_or_else(|| row_error(&key, "its log holds something that is not an event"))?;
        row.as_of(lo, event.said(), event.ilk())
            .map(Some)
            .ok_or_else(|| row_error(&key, format!("it does not reach sn {lo}")))
    }

    /// The registry `id` as it stood before `ordinal`, from its row.
    async fn registry_from_row(
        &self,
        id: &str,
        ordinal: u64,
    ) -> Result<Option<RegistryState>, AuditError> {
        let key = rows::registry(id);
        let Some(text) = self.store.state(&key).await? else {
            return Ok(None);
        };
        let row = rows::parse_registry(&key, &text)?;
        let before = self
            .store
            .log(id)
            .await?
            .iter()
            .filter(|e| e.ordinal < ordinal)
            .count() as u64;
        Ok(row.before(before))
    }

    /// Loads into `ledger` what checking `logged` (parsed as `message`) needs.
    async fn load(
        &mut self,
        ledger: &mut Ledger,
        logged: &LoggedEvent,
        message: &zcred_ledger::Message,
    ) -> Result<(), AuditError> {
        let mut tried = std::collections::HashSet::new();
        loop {
            let needs: Vec<Need> = ledger
                .needs(message)
                .into_iter()
                .filter(|n| !tried.contains(n))
                .collect();
            if needs.is_empty() {
                return Ok(());
            }
            for need in needs {
                tried.insert(need.clone());
                match need {
                    Need::Kel(prefix) => {
                        if !self.kels.contains_key(&prefix) && self.seed == Seed::Rows {
                            if let Some(row) = self.kel_from_row(&prefix, logged.ordinal).await? {
                                self.kels.insert(prefix.clone(), row);
                            }
                        }
                        if let Some(row) = self.kels.get(&prefix) {
                            ledger.insert_kel(row.clone());
                        }
                    }
                    Need::KelEvent(prefix, sn) => {
                        if let Some(e) = self.before(&prefix, sn, logged.ordinal).await? {
                            ledger.insert_kel_event(&parse_logged(&e)?);
                        }
                    }
                    Need::Registry(id) => {
                        if !self.registries.contains_key(&id) && self.seed == Seed::Rows {
                            if let Some(reg) = self.registry_from_row(&id, logged.ordinal).await? {
                                self.registries.insert(id.clone(), reg);
                            }
                        }
                        if let Some(reg) = self.registries.get(&id) {
                            ledger.insert_registry(reg.clone());
                        }
                    }
                    Need::Credential(log) => {
                        let key = rows::credential(&log);
                        if let Some(text) = self.store.state(&key).await? {
                            let row = rows::parse_credential(&key, &text)?;
                            if let Some(before) = row.before(logged.event.sn) {
                                ledger.insert_credential(before);
                            }
                        }
                    }
                    Need::Acdc(said) => {
                        if let Some(e) = self.before(&said, 0, logged.ordinal).await? {
                            if let Payload::Acdc(acdc) = &parse_logged(&e)?.payload {
                                ledger.insert_acdc(acdc.said(), acdc.issuer());
                            }
                        }
                    }
                    // Receipts add signatures to an event checked already; a receipt whose
                    // receipters were recorded before is a duplicate, which a walk accepts.
                    Need::Receipts(prefix, sn) => ledger.insert_receipts(&prefix, sn, Vec::new()),
                }
            }
        }
    }

    /// Checks one stored event against the history before it and folds it in.
    async fn check(&mut self, logged: &LoggedEvent) -> Result<(), AuditError> {
        let message =
            parse_logged(logged).map_err(|e| invalid(logged, format!("it does not parse: {e}")))?;
        let mut ledger = Ledger::snapshot(self.options);
        self.load(&mut ledger, logged, &message).await?;
        match ledger.process(&message) {
            Ok(Outcome::Accepted) => {}
            Ok(Outcome::Duplicate) if logged.event.is_receipt() => {}
            Ok(Outcome::Duplicate) => {
                return Err(invalid(logged, "it repeats an event stored before it"))
            }
            Ok(Outcome::Pending(reason)) => {
                return Err(invalid(
                    logged,
                    format!("it depends on something not stored before it: {reason}"),
                ))
            }
            Err(problem) => return Err(invalid(logged, problem.to_string())),
        }
        self.report.events += 1;
        let Some(event) = message.as_event() else {
            return Ok(());
        };
        let prefix = event.prefix();
        if let Some(row) = ledger.kel_row(prefix) {
            if row.state.sn == event.sn() && row.state.said == *event.said() {
                if !self.kels.contains_key(prefix) {
                    self.report.kels += 1;
                }
                self.kels.insert(prefix.to_owned(), row);
            }
        }
        if let Some(reg) = ledger.registry(prefix) {
            if !self.registries.contains_key(prefix) {
                self.report.registries += 1;
            }
            self.registries.insert(prefix.to_owned(), reg.clone());
        }
        if let Some((registry, said)) = event.log_id().split_once('/') {
            self.credential_row(logged, registry, said, &ledger).await?;
        }
        Ok(())
    }

    /// A credential's row must hold the record its TEL event just gave.
    async fn credential_row(
        &mut self,
        logged: &LoggedEvent,
        registry: &str,
        said: &str,
        ledger: &Ledger,
    ) -> Result<(), AuditError> {
        self.report.credential_events += 1;
        let key = rows::credential(&format!("{registry}/{said}"));
        let folded = ledger
            .credential(registry, said)
            .ok_or_else(|| invalid(logged, "it left no credential state"))?;
        let text = self
            .store
            .state(&key)
            .await?
            .ok_or_else(|| row_error(&key, "the row is missing"))?;
        let row = rows::parse_credential(&key, &text)?;
        let (from_row, from_fold) = match logged.event.sn {
            0 => (Some(&row.issued), Some(&folded.issued)),
            _ => (row.revoked.as_ref(), folded.revoked.as_ref()),
        };
        if !same(&from_row, &from_fold)
            || row.said != folded.said
            || row.registry != folded.registry
        {
            return Err(row_error(
                &key,
                format!("its record of sn {} differs", logged.event.sn),
            ));
        }
        self.report.rows += 1;
        let last = if row.revoked.is_some() { 1 } else { 0 };
        if logged.event.sn == last {
            if row.status != folded.status {
                return Err(row_error(&key, "its status differs"));
            }
            self.finished_credentials += 1;
        }
        Ok(())
    }

    /// Walks the events after `after` up to `until` (the last ordinal when the walk began,
    /// so that a walk beside live writers ends), checking each; returns the last ordinal
    /// checked.
    async fn walk(
        &mut self,
        after: u64,
        until: u64,
        progress: Progress<'_>,
    ) -> Result<u64, AuditError> {
        let mut at = after;
        self.report.from = after + 1;
        while at < until {
            let page = self.store.events_after(at, PAGE).await?;
            for logged in page.iter().take_while(|e| e.ordinal <= until) {
                self.check(logged).await?;
                at = logged.ordinal;
            }
            self.report.to = at;
            progress(self.report.events, at, until);
            if page.len() < PAGE {
                break;
            }
        }
        Ok(at)
    }

    /// Every KEL and registry folded must equal its row (or its row moved on since).
    async fn compare_folds(&mut self) -> Result<(), AuditError> {
        for (prefix, fold) in &self.kels {
            let key = rows::kel(prefix);
            let Some(text) = self.store.state(&key).await? else {
                return Err(row_error(&key, "the row is missing"));
            };
            let row = rows::parse_kel(&key, &text)?;
            if row.state.sn > fold.state.sn {
                self.report.moved += 1;
            } else if row != *fold {
                return Err(row_error(
                    &key,
                    format!(
                        "it says sn {} ({}), the events give sn {} ({})",
                        row.state.sn, row.state.said, fold.state.sn, fold.state.said
                    ),
                ));
            } else {
                self.report.rows += 1;
            }
        }
        for (id, fold) in &self.registries {
            let key = rows::registry(id);
            let Some(text) = self.store.state(&key).await? else {
                return Err(row_error(&key, "the row is missing"));
            };
            let row = rows::parse_registry(&key, &text)?;
            if row.sn > fold.sn {
                self.report.moved += 1;
            } else if !same(&row, fold) {
                return Err(row_error(&key, "it differs from its events' fold"));
            } else {
                self.report.rows += 1;
            }
        }
        Ok(())
    }

    /// Every derived row of a kind must belong to a log the walk checked (or one begun after
    /// it started): no row without its events.
    async fn no_orphans(&mut self, to: u64) -> Result<(), AuditError> {
        let mut delegates = std::collections::BTreeSet::new();
        let mut anchors = std::collections::BTreeSet::new();
        for (prefix, fold) in &self.kels {
            if let Some(di) = &fold.state.delegator {
                delegates.insert(format!("{}{prefix}", rows::delegates_of(di.as_str())));
            }
        }
        for (id, reg) in &self.registries {
            anchors.insert(format!("{}{id}", rows::registries_of(reg.issuer.as_str())));
        }
        let mut credentials = 0u64;
        let mut moved = 0;
        for kind in [
            "kel/",
            "registry/",
            "delegate/",
            "registries/",
            "credential/",
        ] {
            let mut after = String::new();
            loop {
                let page = self.store.states_after(kind, &after, PAGE).await?;
                for (key, _) in &page {
                    let id = &key[kind.len()..];
                    let (known, log) = match kind {
                        "kel/" => (self.kels.contains_key(id), id),
                        "registry/" => (self.registries.contains_key(id), id),
                        "delegate/" => (
                            delegates.contains(key),
                            id.rsplit_once('/').map_or(id, |(_, child)| child),
                        ),
                        "registries/" => (
                            anchors.contains(key),
                            id.rsplit_once('/').map_or(id, |(_, child)| child),
                        ),
                        _ => {
                            credentials += 1;
                            continue;
                        }
                    };
                    if !known {
                        match self.store.event(log, 0).await? {
                            Some(e) if e.ordinal > to => moved += 1,
                            _ => return Err(row_error(key, "no log checked gives it")),
                        }
                    }
                }
                match page.last() {
                    Some((key, _)) if page.len() == PAGE => after = key.clone(),
                    _ => break,
                }
            }
        }
        self.report.moved += moved;
        if credentials != self.finished_credentials {
            // Find the row the count is about: each row's last record must be a stored event
            // the walk checked.
            let mut after = String::new();
            loop {
                let page = self.store.states_after("credential/", &after, PAGE).await?;
                for (key, text) in &page {
                    let log = &key["credential/".len()..];
                    let row = rows::parse_credential(key, text)?;
                    let last = u64::from(row.revoked.is_some());
                    match self.store.event(log, last).await? {
                        Some(e) if e.ordinal <= to => {}
                        Some(_) => self.report.moved += 1,
                        None => {
                            return Err(row_error(
                                key,
                                format!("it records sn {last}, which its TEL does not hold"),
                            ))
                        }
                    }
                }
                match page.last() {
                    Some((key, _)) if page.len() == PAGE => after = key.clone(),
                    _ => break,
                }
            }
        }
        Ok(())
    }
}

/// The verified point recorded in `store`, with its row's text (for compare-and-set).
pub async fn verified_point<S: LedgerStore>(
    store: &S,
) -> Result<(Option<String>, Verified), StoreError> {
    match store.state(rows::VERIFIED).await? {
        Some(text) => {
            let point = rows::parse_verified(&text)?;
            Ok((Some(text), point))
        }
        None => Ok((None, Verified::default())),
    }
}

/// Moves the verified point from what `held` says to `point`; `None` when another node moved
/// it first.
async fn advance<S: LedgerStore>(
    store: &S,
    held: &Option<String>,
    point: Verified,
) -> Result<Option<String>, StoreError> {
    let text = rows::text(&point);
    let written = store
        .append(Append {
            states: vec![StateUpdate {
                key: rows::VERIFIED.to_owned(),
                value: text.clone(),
            }],
            expect: vec![Expectation {
                key: rows::VERIFIED.to_owned(),
                value: held.clone(),
            }],
            ..Append::default()
        })
        .await;
    match written {
        Ok(_) => Ok(Some(text)),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Verifies the events written since the verified point, checks the rows of the KELs and
/// registries they touched, and moves the point on (compare-and-set: when another node moved
/// it first, this one writes nothing). A store in the format before verified points
/// ([`rows::FORMAT`]) has its derived rows rebuilt first, once, from a full replay.
pub async fn verify_tail<S: LedgerStore>(
    store: &S,
    options: Options,
    progress: Progress<'_>,
) -> Result<Report, AuditError> {
    let (held, point) = verified_point(store).await?;
    if held.is_none() && !old_format(store).await? {
        // Never checked, but written in this format: check it all from the start.
    } else if point.format < rows::FORMAT {
        rebuild(store, options).await?;
        let last = store.last_ordinal().await?;
        let next = Verified {
            ordinal: last,
            format: rows::FORMAT,
        };
        advance(store, &held, next).await?;
        return Ok(Report {
            from: 1,
            to: last,
            events: last,
            ..Report::default()
        });
    }
    let mut walk = Walk::new(store, options, Seed::Rows);
    let until = store.last_ordinal().await?;
    let to = walk.walk(point.ordinal, until, progress).await?;
    walk.compare_folds().await?;
    if to > point.ordinal {
        let next = Verified {
            ordinal: to,
            format: rows::FORMAT,
        };
        advance(store, &held, next).await?;
    }
    Ok(walk.report)
}

/// Whether the store's `kel/` rows are in the format before establishment events were kept.
async fn old_format<S: LedgerStore>(store: &S) -> Result<bool, StoreError> {
    Ok(match store.states_after("kel/", "", 1).await?.first() {
        Some((key, text)) => rows::parse_kel(key, text).is_err(),
        None => false,
    })
}

/// Re-verifies the whole stored log from its bytes and checks every derived state row against
/// the fold of its events, in memory bounded by the number of KELs and registries. Writes
/// nothing.
pub async fn audit<S: LedgerStore>(
    store: &S,
    options: Options,
    progress: Progress<'_>,
) -> Result<Report, AuditError> {
    let mut walk = Walk::new(store, options, Seed::Nothing);
    let until = store.last_ordinal().await?;
    let to = walk.walk(0, until, progress).await?;
    walk.compare_folds().await?;
    walk.no_orphans(to).await?;
    Ok(walk.report)
}

/// Rewrites every derived row from a full replay: the upgrade of a store written before
/// verified points. Holds the whole ledger in memory, once.
async fn rebuild<S: LedgerStore>(store: &S, options: Options) -> Result<(), AuditError> {
    let ledger = crate::replay(store, options).await?;
    let mut states = Vec::new();
    for state in ledger.key_states() {
        let prefix = state.prefix.as_str();
        if let Some(row) = ledger.kel_row(prefix) {
            states.push(StateUpdate {
                key: rows::kel(prefix),
                value: rows::text(&row),
            });
        }
        if let Some(di) = &state.delegator {
            states.push(StateUpdate {
                key: format!("{}{prefix}", rows::delegates_of(di.as_str())),
                value: rows::text(&prefix),
            });
        }
    }
    for reg in ledger.registries() {
        states.push(StateUpdate {
            key: rows::registry(reg.id.as_str()),
            value: rows::text(reg),
        });
        states.push(StateUpdate {
            key: format!("{}{}", rows::registries_of(reg.issuer.as_str()), reg.id),
            value: rows::text(&reg.id.as_str()),
        });
    }
    for cred in ledger.credentials() {
        states.push(StateUpdate {
            key: rows::credential(&format!("{}/{}", cred.registry, cred.said)),
            value: rows::text(cred),
        });
    }
    for chunk in states.chunks(PAGE) {
        store
            .append(Append {
                states: chunk.to_vec(),
                ..Append::default()
            })
            .await?;
    }
    Ok(())
}
