//! Builders for every event of keri.md §5–§6, with keripy's defaults (string thresholds,
//! `kt = max(1, ⌈len(k)/2⌉)`, `nt = ⌈len(n)/2⌉`, `bt = ample(len(b))`).
//!
//! A builder returns the finished [`Event`]: SAIDs computed, size written, and the bytes parsed
//! back through [`Event::parse`], so a built event is exactly what a verifier will accept.

use serde_json::{json, Map, Value};

use crate::event::{
    saidive_labels, DateTime, Event, EventError, EventSeal, Hex, Ilk, Key, Nonce, Prefix, Said,
};
use crate::said::DUMMY;

fn strings<T: ToString>(items: &[T]) -> Value {
    Value::Array(items.iter().map(|x| Value::String(x.to_string())).collect())
}

fn hex(n: u64) -> Value {
    Value::String(String::from(Hex(n)))
}

fn anchors(list: &[Map<String, Value>]) -> Value {
    Value::Array(list.iter().cloned().map(Value::Object).collect())
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn invalid(ilk: Ilk, reason: &str) -> EventError {
    EventError::Value {
        ilk: ilk.as_str().to_owned(),
        reason: reason.to_owned(),
    }
}

/// keripy's default witness threshold for `n` witnesses (`ample`): 1→1, 2→2, 3→3, 4→3, 5→4,
/// 6→4, 7→5.
pub fn ample(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let f = ((n - 1) / 3).max(1);
    n.min((n + f + 1).div_ceil(2))
}

fn default_kt(keys: usize) -> u64 {
    (keys as u64).div_ceil(2).max(1)
}

fn default_nt(next: usize) -> u64 {
    (next as u64).div_ceil(2)
}

/// An inception (`icp`), or a delegated inception (`dip`) when `delegator` is set.
#[derive(Debug, Clone, Default)]
pub struct Incept {
    /// The signing keys (`k`).
    pub keys: Vec<Key>,
    /// The signing threshold; default `max(1, ⌈len(k)/2⌉)`.
    pub kt: Option<u64>,
    /// The next-key digests (`n`); empty makes the identifier non-transferable.
    pub next: Vec<Said>,
    /// The next threshold; default `⌈len(n)/2⌉`.
    pub nt: Option<u64>,
    /// The witnesses (`b`).
    pub witnesses: Vec<Prefix>,
    /// The witness threshold; default `ample(len(b))`.
    pub toad: Option<u64>,
    /// Configuration traits (`c`), e.g. `EO`, `DND`.
    pub config: Vec<String>,
    /// Seals (`a`).
    pub anchors: Vec<Map<String, Value>>,
    /// The delegator's prefix; makes the event a `dip`.
    pub delegator: Option<Prefix>,
    /// A self-addressing prefix (`i` = the SAID). A basic prefix (`i = k[0]`) otherwise, which
    /// needs exactly one key and no delegator.
    pub self_addressing: bool,
}

impl Incept {
    /// Builds the event.
    pub fn build(&self) -> Result<Event, EventError> {
        let ilk = if self.delegator.is_some() {
            Ilk::Dip
        } else {
            Ilk::Icp
        };
        let prefix = if self.self_addressing || self.delegator.is_some() {
            DUMMY.to_owned()
        } else {
            match self.keys.as_slice() {
                [only] => only.to_string(),
                _ => return Err(invalid(ilk, "a basic prefix needs exactly one key")),
            }
        };
        let mut map = object(json!({
            "v": "",
            "t": ilk.as_str(),
            "d": "",
            "i": prefix,
            "s": "0",
            "kt": hex(self.kt.unwrap_or_else(|| default_kt(self.keys.len()))),
            "k": strings(&self.keys),
            "nt": hex(self.nt.unwrap_or_else(|| default_nt(self.next.len()))),
            "n": strings(&self.next),
            "bt": hex(self.toad.unwrap_or_else(|| ample(self.witnesses.len() as u64))),
            "b": strings(&self.witnesses),
            "c": strings(&self.config),
            "a": anchors(&self.anchors),
        }));
        if let Some(di) = &self.delegator {
            map.insert("di".into(), Value::String(di.to_string()));
        }
        let labels: &[&str] = if prefix == DUMMY { &["d", "i"] } else { &["d"] };
        Event::finish(map, labels)
    }
}

/// A rotation (`rot`), or a delegated rotation (`drt`).
#[derive(Debug, Clone)]
pub struct Rotate {
    /// The identifier.
    pub prefix: Prefix,
    /// Its new sequence number.
    pub sn: u64,
    /// The SAID of the event before it.
    pub prior: Said,
    /// The new signing keys (their digests were in the prior `n`).
    pub keys: Vec<Key>,
    /// Signing threshold; default `max(1, ⌈len(k)/2⌉)`.
    pub kt: Option<u64>,
    /// The new next-key digests.
    pub next: Vec<Said>,
    /// Next threshold; default `⌈len(n)/2⌉`.
    pub nt: Option<u64>,
    /// Witnesses removed (`br`).
    pub cuts: Vec<Prefix>,
    /// Witnesses added (`ba`).
    pub adds: Vec<Prefix>,
    /// The witness threshold after the change.
    pub toad: u64,
    /// Seals (`a`).
    pub anchors: Vec<Map<String, Value>>,
    /// `drt` instead of `rot`.
    pub delegated: bool,
}

impl Rotate {
    /// A rotation of a single-key identifier without witnesses or seals: `key` becomes the
    /// signing key and the KEL commits to `next` (a digest); a `drt` when `delegated`.
    pub fn single(
        prefix: &Prefix,
        sn: u64,
        prior: &Said,
        key: Key,
        next: Said,
        delegated: bool,
    ) -> Rotate {
        Rotate {
            prefix: prefix.clone(),
            sn,
            prior: prior.clone(),
            keys: vec![key],
            kt: None,
            next: vec![next],
            nt: None,
            cuts: vec![],
            adds: vec![],
            toad: 0,
            anchors: vec![],
            delegated,
        }
    }

    /// Builds the event.
    pub fn build(&self) -> Result<Event, EventError> {
        let ilk = if self.delegated { Ilk::Drt } else { Ilk::Rot };
        let map = object(json!({
            "v": "",
            "t": ilk.as_str(),
            "d": "",
            "i": self.prefix.to_string(),
            "s": hex(self.sn),
            "p": self.prior.to_string(),
            "kt": hex(self.kt.unwrap_or_else(|| default_kt(self.keys.len()))),
            "k": strings(&self.keys),
            "nt": hex(self.nt.unwrap_or_else(|| default_nt(self.next.len()))),
            "n": strings(&self.next),
            "bt": hex(self.toad),
            "br": strings(&self.cuts),
            "ba": strings(&self.adds),
            "a": anchors(&self.anchors),
        }));
        Event::finish(map, &["d"])
    }
}

/// An interaction (`ixn`) at `sn` after `prior`, anchoring `seals`.
pub fn interact(
    prefix: &Prefix,
    sn: u64,
    prior: &Said,
    seals: &[Map<String, Value>],
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "ixn",
        "d": "",
        "i": prefix.to_string(),
        "s": hex(sn),
        "p": prior.to_string(),
        "a": anchors(seals),
    }));
    Event::finish(map, &["d"])
}

/// A receipt (`rct`) body for the event `said` at `sn` of `prefix`.
pub fn receipt(prefix: &Prefix, sn: u64, said: &Said) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "rct",
        "d": said.to_string(),
        "i": prefix.to_string(),
        "s": hex(sn),
    }));
    Event::finish(map, saidive_labels(Ilk::Rct, ""))
}

/// A registry inception (`vcp`) for `issuer`. `config` should hold `NB` for a backerless
/// registry; `nonce` makes two registries of one issuer differ.
pub fn registry_incept(
    issuer: &Prefix,
    config: &[String],
    backers: &[Prefix],
    toad: u64,
    nonce: &Nonce,
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "vcp",
        "d": "",
        "i": "",
        "ii": issuer.to_string(),
        "s": "0",
        "c": strings(config),
        "bt": hex(toad),
        "b": strings(backers),
        "n": nonce.to_string(),
    }));
    Event::finish(map, saidive_labels(Ilk::Vcp, ""))
}

/// A registry rotation (`vrt`) of backers.
pub fn registry_rotate(
    registry: &Said,
    prior: &Said,
    sn: u64,
    toad: u64,
    cuts: &[Prefix],
    adds: &[Prefix],
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "vrt",
        "d": "",
        "i": registry.to_string(),
        "p": prior.to_string(),
        "s": hex(sn),
        "bt": hex(toad),
        "br": strings(cuts),
        "ba": strings(adds),
    }));
    Event::finish(map, &["d"])
}

/// An issuance (`iss`) of the credential `credential` in the backerless registry `registry`.
pub fn issue(credential: &Prefix, registry: &Prefix, dt: &DateTime) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "iss",
        "d": "",
        "i": credential.to_string(),
        "s": "0",
        "ri": registry.to_string(),
        "dt": dt.as_str(),
    }));
    Event::finish(map, &["d"])
}

/// A revocation (`rev`) of the credential whose issuance is `issued`.
pub fn revoke(
    credential: &Prefix,
    registry: &Prefix,
    issued: &Said,
    dt: &DateTime,
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "rev",
        "d": "",
        "i": credential.to_string(),
        "s": "1",
        "ri": registry.to_string(),
        "p": issued.to_string(),
        "dt": dt.as_str(),
    }));
    Event::finish(map, &["d"])
}

/// An issuance in a registry with backers (`bis`); `ra` names the registry's management event.
pub fn backer_issue(
    credential: &Prefix,
    registry: &Prefix,
    ra: &EventSeal,
    dt: &DateTime,
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "bis",
        "d": "",
        "i": credential.to_string(),
        "ii": registry.to_string(),
        "s": "0",
        "ra": Value::Object(ra.to_map()),
        "dt": dt.as_str(),
    }));
    Event::finish(map, &["d"])
}

/// A revocation in a registry with backers (`brv`).
pub fn backer_revoke(
    credential: &Prefix,
    issued: &Said,
    ra: &EventSeal,
    dt: &DateTime,
) -> Result<Event, EventError> {
    let map = object(json!({
        "v": "",
        "t": "brv",
        "d": "",
        "i": credential.to_string(),
        "s": "1",
        "p": issued.to_string(),
        "ra": Value::Object(ra.to_map()),
        "dt": dt.as_str(),
    }));
    Event::finish(map, &["d"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ample_matches_keripy() {
        let got: Vec<u64> = (0..=7).map(ample).collect();
        assert_eq!(got, [0, 1, 2, 3, 3, 4, 4, 5]);
    }
}
