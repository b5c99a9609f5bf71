//! zcred's identities and the events each API operation writes (ledger.md).
//!
//! | who | prefix | signs with |
//! |---|---|---|
//! | issuer | basic transferable `D…` = its Ed25519 key (the key of its `did:zid:`) | its own key, on its side: the service builds the event, the blob is the event's raw bytes, the issuer returns the signature |
//! | anchoring agent | self-addressing, delegated (`dip`, `di` = issuer) | the service ([`Controller`]) |
//! | registry | `vcp` with `ii` = agent, `c` = `["NB"]` | – (anchored by an agent `ixn`) |
//!
//! Every TEL event is anchored by one agent `ixn` carrying exactly its seal (keripy accepts
//! nothing else). [`Controller::anchor_batch`] puts many seals in one `ixn` for bulk loads; it is
//! off unless asked for, and streams that use it verify only with
//! [`Options::batch_anchors`](crate::verify::Options).

use std::fmt;

use serde_json::{Map, Value};
use zcred_crypto::zetrix::{Signature, SigningKey, VerifyingKey};

use crate::build::{self, Incept, Rotate};
use crate::cesr::{Attachments, Siger, TransSigGroup};
use crate::event::{Body, DateTime, Event, EventError, Key, Nonce, Prefix, Said};
use crate::stream::Message;

/// The inception a new issuer signs: a basic transferable prefix from its Ed25519 key,
/// committing to `next` (its next key) or, when the client supplies none, to the digest of the
/// current key itself (weaker: a stolen current key can then also rotate).
pub fn issuer_inception(
    key: &VerifyingKey,
    next: Option<&VerifyingKey>,
) -> Result<Event, EventError> {
    let current = Key::new(key, true);
    let next_key = next.map_or_else(|| current.clone(), |n| Key::new(n, true));
    Incept {
        keys: vec![current],
        next: vec![next_key.next_digest()],
        ..Incept::default()
    }
    .build()
}

/// The rotation an issuer signs (with its new key) after its KEL's latest event `prior` at
/// `sn - 1`: `key` becomes the signing key (its digest must be the one the last establishment
/// event committed to) and the KEL commits to `next`, or, when the client supplies none, to the
/// digest of `key` itself (weaker, as at inception).
pub fn issuer_rotation(
    issuer: &Prefix,
    sn: u64,
    prior: &Said,
    key: &VerifyingKey,
    next: Option<&VerifyingKey>,
) -> Result<Event, EventError> {
    let current = Key::new(key, true);
    let next_key = next.map_or_else(|| current.clone(), |n| Key::new(n, true));
    Rotate::single(issuer, sn, prior, current, next_key.next_digest(), false).build()
}

/// The issuer `ixn` that approves the agent's delegated inception (or rotation): one seal of it.
pub fn approve_delegation(
    issuer: &Prefix,
    sn: u64,
    prior: &Said,
    delegated: &Event,
) -> Result<Event, EventError> {
    build::interact(issuer, sn, prior, &[delegated.seal().to_map()])
}

/// The issuer signature over `event` (index 0: the issuer's single key) as an attachment group.
pub fn controller_signature(signature: Signature) -> Attachments {
    Attachments {
        sigs: vec![Siger {
            index: 0,
            signature,
        }],
        ..Attachments::default()
    }
}

/// The issuer's endorsement of a TEL event (its revocation blob): a `-F` group tied to the
/// issuer's establishment event in force.
pub fn endorsement(
    issuer: &Prefix,
    est_sn: u64,
    est_said: &Said,
    signature: Signature,
) -> TransSigGroup {
    TransSigGroup {
        prefix: issuer.to_string(),
        sn: est_sn,
        said: est_said.to_string(),
        sigs: vec![Siger {
            index: 0,
            signature,
        }],
    }
}

/// A backerless registry (`vcp`, `c = ["NB"]`) of the agent `agent`; `nonce` makes two
/// registries of one agent differ.
pub fn registry(agent: &Prefix, nonce: &[u8; 16]) -> Result<Event, EventError> {
    build::registry_incept(agent, &["NB".to_owned()], &[], 0, &Nonce::from_bytes(nonce))
}

/// The `iss` of credential `credential` in `registry` at `dt`.
pub fn issuance(
    credential: &Said,
    registry: &Said,
    dt: time::OffsetDateTime,
) -> Result<Event, EventError> {
    build::issue(
        &credential.clone().into(),
        &registry.clone().into(),
        &DateTime::from_time(dt),
    )
}

/// The `rev` of a credential whose `iss` is `issued`.
pub fn revocation(
    credential: &Said,
    registry: &Said,
    issued: &Said,
    dt: time::OffsetDateTime,
) -> Result<Event, EventError> {
    build::revoke(
        &credential.clone().into(),
        &registry.clone().into(),
        issued,
        &DateTime::from_time(dt),
    )
}

/// A TEL event with the `-G` couple naming the KEL event that anchors it.
pub fn anchored(tel: Event, anchor: &Event) -> Message {
    Message::event(
        tel,
        Attachments {
            source_seals: vec![(anchor.sn(), anchor.said().to_string())],
            ..Attachments::default()
        },
    )
}

/// A KEL controlled here: the service's anchoring agent, or any identifier whose keys this
/// process holds (tests, benchmarks, the command line's local issuer).
///
/// Invariant: it holds the current and the pre-committed next signing key; a rotation moves to
/// the next key and commits to a new one. Keys are never printed (`Debug` shows the prefix).
pub struct Controller {
    prefix: Prefix,
    current: SigningKey,
    next: SigningKey,
    sn: u64,
    said: Said,
    est_sn: u64,
    est_said: Said,
    delegator: Option<Prefix>,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("prefix", &self.prefix)
            .field("sn", &self.sn)
            .finish_non_exhaustive()
    }
}

impl Controller {
    fn start(
        event: &Event,
        current: SigningKey,
        next: SigningKey,
        delegator: Option<Prefix>,
    ) -> Self {
        let prefix = match event.body() {
            Body::Inception(e) => e.i.clone(),
            _ => event.said().clone().into(),
        };
        Controller {
            prefix,
            current,
            next,
            sn: 0,
            said: event.said().clone(),
            est_sn: 0,
            est_said: event.said().clone(),
            delegator,
        }
    }

    /// An issuer-style identifier: basic transferable prefix of `current`, committed to `next`.
    /// Returns it with its signed inception.
    pub fn incept_basic(
        current: SigningKey,
        next: SigningKey,
    ) -> Result<(Self, Message), EventError> {
        let icp = issuer_inception(&current.verifying_key(), Some(&next.verifying_key()))?;
        let controller = Controller::start(&icp, current, next, None);
        let message = controller.signed(icp);
        Ok((controller, message))
    }

    /// An agent delegated by `delegator`: self-addressing `dip`. The message still needs the
    /// `-G` couple of the delegator's approving event ([`Controller::approved`]).
    pub fn incept_delegated(
        delegator: &Prefix,
        current: SigningKey,
        next: SigningKey,
    ) -> Result<(Self, Event), EventError> {
        let dip = Incept {
            keys: vec![Key::new(&current.verifying_key(), true)],
            next: vec![Key::new(&next.verifying_key(), true).next_digest()],
            delegator: Some(delegator.clone()),
            self_addressing: true,
            ..Incept::default()
        }
        .build()?;
        let controller = Controller::start(&dip, current, next, Some(delegator.clone()));
        Ok((controller, dip))
    }

    /// A controller picked up again from its recorded key state and its keys (the service
    /// reopening its agent). `None` when the keys are not the ones `state` holds and commits
    /// to (a rotation happened that these keys do not know of).
    pub fn resume(
        state: &crate::verify::KeyState,
        current: SigningKey,
        next: SigningKey,
    ) -> Option<Controller> {
        let current_key = Key::new(&current.verifying_key(), true);
        let next_digest = Key::new(&next.verifying_key(), true).next_digest();
        if state.keys != [current_key] || state.next != [next_digest] {
            return None;
        }
        Some(Controller {
            prefix: state.prefix.clone(),
            current,
            next,
            sn: state.sn,
            said: state.said.clone(),
            est_sn: state.last_est_sn,
            est_said: state.last_est_said.clone(),
            delegator: state.delegator.clone(),
        })
    }

    /// A delegated event signed, with the `-G` couple of the delegator's `approval`.
    pub fn approved(&self, delegated: Event, approval: &Event) -> Message {
        let mut message = self.signed(delegated);
        message.attachments.source_seals = vec![(approval.sn(), approval.said().to_string())];
        message
    }

    /// The prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// Sequence number of the latest event.
    pub fn sn(&self) -> u64 {
        self.sn
    }

    /// SAID of the latest event.
    pub fn said(&self) -> &Said {
        &self.said
    }

    /// Sequence number and SAID of the latest establishment event.
    pub fn establishment(&self) -> (u64, &Said) {
        (self.est_sn, &self.est_said)
    }

    /// Signs bytes with the current key (a blob, an endorsement).
    pub fn sign(&self, bytes: &[u8]) -> Signature {
        self.current.sign(bytes)
    }

    /// `event` with this controller's signature attached.
    pub fn signed(&self, event: Event) -> Message {
        let signature = self.current.sign(event.raw());
        Message::event(event, controller_signature(signature))
    }

    fn advance(&mut self, event: &Event) {
        self.sn = event.sn();
        self.said = event.said().clone();
    }

    fn next_ixn(&mut self, seals: &[Map<String, Value>]) -> Result<Event, EventError> {
        let ixn = build::interact(&self.prefix, self.sn + 1, &self.said, seals)?;
        self.advance(&ixn);
        Ok(ixn)
    }

    /// An `ixn` anchoring `seals`, signed.
    pub fn interact(&mut self, seals: &[Map<String, Value>]) -> Result<Message, EventError> {
        let ixn = self.next_ixn(seals)?;
        Ok(self.signed(ixn))
    }

    /// The signed `ixn` that anchors one TEL event, and the TEL event with its `-G` couple.
    pub fn anchor(&mut self, tel: Event) -> Result<(Message, Message), EventError> {
        let ixn = self.next_ixn(&[tel.seal().to_map()])?;
        let tel = anchored(tel, &ixn);
        Ok((self.signed(ixn), tel))
    }

    /// Batch mode (off by default in the service): one `ixn` anchoring many TEL events. Not
    /// keripy-verifiable; verify with `Options { batch_anchors: true }`.
    pub fn anchor_batch(
        &mut self,
        tels: Vec<Event>,
    ) -> Result<(Message, Vec<Message>), EventError> {
        let seals: Vec<_> = tels.iter().map(|t| t.seal().to_map()).collect();
        let ixn = self.next_ixn(&seals)?;
        let messages = tels.into_iter().map(|t| anchored(t, &ixn)).collect();
        Ok((self.signed(ixn), messages))
    }

    /// Rotates to the pre-committed next key and commits to `new_next`, returning the signed
    /// rotation. For a delegated identifier it is a `drt` that still needs its approval's `-G`
    /// couple ([`Controller::approved`]).
    ///
    /// The controller moves to the new state at once: a caller whose event is then refused must
    /// not keep using this controller (rebuild it from the recorded KEL).
    pub fn rotate(&mut self, new_next: SigningKey) -> Result<Message, EventError> {
        let rot = Rotate::single(
            &self.prefix,
            self.sn + 1,
            &self.said,
            Key::new(&self.next.verifying_key(), true),
            Key::new(&new_next.verifying_key(), true).next_digest(),
            self.delegator.is_some(),
        )
        .build()?;
        self.current = std::mem::replace(&mut self.next, new_next);
        self.advance(&rot);
        self.est_sn = rot.sn();
        self.est_said = rot.said().clone();
        Ok(self.signed(rot))
    }
}

/// What [`onboard`] makes: the messages in the order they verify, and the two controllers.
#[derive(Debug)]
pub struct Onboarded {
    /// Issuer `icp`, the issuer `ixn` approving the agent, the agent's `dip` (with its `-G`
    /// couple), the agent `ixn` anchoring the registry, and the `vcp`.
    pub messages: Vec<Message>,
    /// The issuer's KEL, as far as it went.
    pub issuer: Controller,
    /// The agent's KEL.
    pub agent: Controller,
    /// The registry id.
    pub registry: Said,
}

/// The whole onboarding of ledger.md for keys held here: an issuer (basic prefix of
/// `issuer.0`, committed to `issuer.1`), its delegated agent (`agent.0`, committed to
/// `agent.1`) approved by an issuer `ixn`, and the agent's backerless registry.
pub fn onboard(
    issuer: (SigningKey, SigningKey),
    agent: (SigningKey, SigningKey),
    registry_nonce: &[u8; 16],
) -> Result<Onboarded, EventError> {
    let (mut issuer, icp) = Controller::incept_basic(issuer.0, issuer.1)?;
    let (mut agent, dip) = Controller::incept_delegated(issuer.prefix(), agent.0, agent.1)?;
    let approval_event = approve_delegation(issuer.prefix(), issuer.sn + 1, &issuer.said, &dip)?;
    issuer.advance(&approval_event);
    let dip = agent.approved(dip, &approval_event);
    let approval = issuer.signed(approval_event);
    let vcp = registry(agent.prefix(), registry_nonce)?;
    let registry = vcp.said().clone();
    let (ixn, vcp) = agent.anchor(vcp)?;
    Ok(Onboarded {
        messages: vec![icp, approval, dip, ixn, vcp],
        issuer,
        agent,
        registry,
    })
}
