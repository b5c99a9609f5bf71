//! Property tests over whole logs: random valid issuer KELs, delegated agent KELs, registries
//! and credential TELs (rotations, delegation approvals, issuance, revocation) are written as a
//! CESR stream and verified; flipping any byte of any event or attachment makes verification
//! fail and name the message that holds that byte.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::event::EventSeal;
use zcred_ledger::flows;
use zcred_ledger::verify::{verify_stream, Need, Options, Status};
use zcred_ledger::{Ledger, Message, Said};

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Op {
    Issue,
    Revoke(usize),
    RotateIssuer,
    RotateAgent,
    IssuerAnchor,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Issue),
        3 => any::<usize>().prop_map(Op::Revoke),
        1 => Just(Op::RotateIssuer),
        1 => Just(Op::RotateAgent),
        1 => Just(Op::IssuerAnchor),
    ]
}

/// Deterministic keys from a scenario seed.
struct Keys {
    seed: u64,
    n: u64,
}

impl Keys {
    fn next(&mut self) -> SigningKey {
        self.n += 1;
        let mut input = self.seed.to_be_bytes().to_vec();
        input.extend_from_slice(&self.n.to_be_bytes());
        SigningKey::from_seed(blake3::hash(&input).as_bytes())
    }
}

/// A built scenario: the stream, where each message starts, and what the verifier must find.
pub struct Scenario {
    pub stream: String,
    pub starts: Vec<usize>,
    pub issuer: String,
    pub agent: String,
    pub issuer_sn: u64,
    pub agent_sn: u64,
    pub registry: String,
    pub credentials: BTreeMap<String, Status>,
    pub batch: bool,
}

impl Scenario {
    /// Index of the message holding byte `offset`.
    pub fn message_at(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }
}

/// Builds the stream of a scenario: issuer icp, agent dip with its approval, the registry, then
/// `ops`. With `batch`, issuances are anchored two at a time.
pub fn build(seed: u64, ops: &[Op], batch: bool) -> Scenario {
    let mut keys = Keys { seed, n: 0 };
    let onboarded = flows::onboard(
        (keys.next(), keys.next()),
        (keys.next(), keys.next()),
        &seed.to_be_bytes().repeat(2).try_into().unwrap(),
    )
    .unwrap();
    let mut messages: Vec<Message> = onboarded.messages;
    let (mut issuer, mut agent, registry) = (onboarded.issuer, onboarded.agent, onboarded.registry);

    let t0 = time::macros::datetime!(2026-01-01 00:00 UTC);
    let mut issued: Vec<(Said, Said)> = Vec::new();
    let mut credentials = BTreeMap::new();
    let mut pending_batch = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let dt = t0 + time::Duration::seconds(n as i64);
        match op {
            Op::Issue => {
                let cred = Said::digest(format!("credential {seed} {n}").as_bytes());
                let iss = flows::issuance(&cred, &registry, dt).unwrap();
                issued.push((cred.clone(), iss.said().clone()));
                credentials.insert(cred.to_string(), Status::Issued);
                if batch {
                    pending_batch.push(iss);
                    if pending_batch.len() == 2 {
                        let (ixn, tels) = agent
                            .anchor_batch(std::mem::take(&mut pending_batch))
                            .unwrap();
                        messages.push(ixn);
                        messages.extend(tels);
                    }
                } else {
                    let (ixn, tel) = agent.anchor(iss).unwrap();
                    messages.push(ixn);
                    messages.push(tel);
                }
            }
            Op::Revoke(k) => {
                if issued.is_empty() || !pending_batch.is_empty() {
                    continue;
                }
                let (cred, iss) = issued.remove(k % issued.len());
                let rev = flows::revocation(&cred, &registry, &iss, dt).unwrap();
                let (est_sn, est_said) = issuer.establishment();
                let group =
                    flows::endorsement(issuer.prefix(), est_sn, est_said, issuer.sign(rev.raw()));
                let (ixn, mut tel) = agent.anchor(rev).unwrap();
                tel.attachments.endorsements.push(group);
                messages.push(ixn);
                messages.push(tel);
                credentials.insert(cred.to_string(), Status::Revoked);
            }
            Op::RotateIssuer => {
                messages.push(issuer.rotate(keys.next()).unwrap());
            }
            Op::RotateAgent => {
                let drt = agent.rotate(keys.next()).unwrap();
                let drt = drt.as_event().unwrap().clone();
                let approval = issuer.interact(&[drt.seal().to_map()]).unwrap();
                let drt = agent.approved(drt, approval.as_event().unwrap());
                messages.push(approval);
                messages.push(drt);
            }
            Op::IssuerAnchor => {
                // A DID attribute record anchored by its digest, as onboarding does.
                let seal = EventSeal {
                    i: issuer.prefix().clone(),
                    s: zcred_ledger::event::Hex(issuer.sn()),
                    d: Said::digest(format!("attribute {n}").as_bytes()),
                };
                messages.push(issuer.interact(&[seal.to_map()]).unwrap());
            }
        }
    }
    if !pending_batch.is_empty() {
        let (ixn, tels) = agent.anchor_batch(pending_batch).unwrap();
        messages.push(ixn);
        messages.extend(tels);
    }
    let mut stream = String::new();
    let mut starts = Vec::new();
    for m in &messages {
        starts.push(stream.len());
        stream.push_str(&m.to_text());
    }
    Scenario {
        stream,
        starts,
        issuer: issuer.prefix().to_string(),
        agent: agent.prefix().to_string(),
        issuer_sn: issuer.sn(),
        agent_sn: agent.sn(),
        registry: registry.to_string(),
        credentials,
        batch,
    }
}

fn options(s: &Scenario) -> Options {
    Options {
        batch_anchors: s.batch,
    }
}

/// The stream verifies and every state is what the scenario made.
fn check_states(s: &Scenario) {
    let ledger = verify_stream(s.stream.as_bytes(), options(s)).unwrap();
    assert_eq!(ledger.key_state(&s.issuer).unwrap().sn, s.issuer_sn);
    let agent = ledger.key_state(&s.agent).unwrap();
    assert_eq!(agent.sn, s.agent_sn);
    assert_eq!(agent.delegator.as_ref().unwrap().as_str(), s.issuer);
    assert_eq!(ledger.credentials().count(), s.credentials.len());
    for (cred, status) in &s.credentials {
        assert_eq!(
            ledger.credential(&s.registry, cred).unwrap().status,
            *status,
            "{cred}"
        );
        assert_eq!(ledger.verify_status(&s.registry, cred).unwrap(), *status);
    }
}

/// Flipping the byte at `offset` makes verification fail, naming the message that holds it.
fn check_flip(s: &Scenario, offset: usize, mask: u8) {
    let mut bytes = s.stream.clone().into_bytes();
    bytes[offset] ^= mask;
    let failure = verify_stream(&bytes, options(s))
        .err()
        .unwrap_or_else(|| panic!("flipping byte {offset} with {mask:#04x} still verifies"));
    assert_eq!(
        failure.at.index,
        s.message_at(offset),
        "byte {offset} (mask {mask:#04x}) is in message {}, failure names {}",
        s.message_at(offset),
        failure
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_logs_verify_and_every_flip_is_caught(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 0..16),
        batch in proptest::bool::weighted(0.2),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 24),
    ) {
        let s = build(seed, &ops, batch);
        check_states(&s);
        for (at, mask) in flips {
            check_flip(&s, at.index(s.stream.len()), mask);
        }
    }
}

#[test]
fn every_byte_of_a_small_log_is_covered() {
    let ops = [
        Op::Issue,
        Op::RotateAgent,
        Op::Revoke(0),
        Op::RotateIssuer,
        Op::Issue,
    ];
    let s = build(7, &ops, false);
    check_states(&s);
    for offset in 0..s.stream.len() {
        check_flip(&s, offset, 0x01);
    }
}

#[test]
fn batch_anchors_need_batch_mode() {
    let s = build(3, &[Op::Issue, Op::Issue, Op::Issue], true);
    check_states(&s);
    let failure = verify_stream(s.stream.as_bytes(), Options::default()).unwrap_err();
    assert!(failure.reason.contains("exactly one"), "{failure}");
    assert_eq!(failure.at.ilk, "iss");
}

/// A snapshot of `full` holding only what `message` needs, loaded as a store would load it.
fn snapshot_for(full: &Ledger, message: &Message, options: Options) -> Ledger {
    let mut snap = Ledger::snapshot(options);
    let mut tried = std::collections::HashSet::new();
    loop {
        let needs: Vec<Need> = snap
            .needs(message)
            .into_iter()
            .filter(|n| !tried.contains(n))
            .collect();
        if needs.is_empty() {
            return snap;
        }
        for need in needs {
            tried.insert(need.clone());
            match need {
                Need::Kel(p) => {
                    if let Some(row) = full.kel_row(&p) {
                        snap.insert_kel(row);
                    }
                }
                Need::KelEvent(p, sn) => {
                    if let Some(m) = full.kel_message(&p, sn) {
                        assert!(snap.insert_kel_event(&m));
                    }
                }
                Need::Registry(id) => {
                    if let Some(r) = full.registry(&id) {
                        snap.insert_registry(r.clone());
                    }
                }
                Need::Credential(log) => {
                    let (registry, said) = log.split_once('/').unwrap();
                    if let Some(c) = full.credential(registry, said) {
                        snap.insert_credential(c.clone());
                    }
                }
                Need::Acdc(said) => {
                    if let Some(issuer) = full.acdcs().get(&said) {
                        snap.insert_acdc(&said, issuer);
                    }
                }
                Need::Receipts(p, sn) => snap.insert_receipts(&p, sn, full.receipters(&p, sn)),
            }
        }
    }
}

/// Every state a message can change, as rows, in `ledger`.
fn rows_of(ledger: &Ledger, message: &Message) -> String {
    let Some(event) = message.as_event() else {
        return String::new();
    };
    let log = event.log_id();
    let credential = log
        .split_once('/')
        .and_then(|(r, s)| ledger.credential(r, s))
        .map(|c| serde_json::to_string(c).unwrap());
    format!(
        "{:?}\n{:?}\n{:?}",
        ledger.kel_row(event.prefix()),
        ledger
            .registry(event.prefix())
            .map(|r| serde_json::to_string(r).unwrap()),
        credential
    )
}

/// The verifier fed a snapshot (only the rows and events a message needs, as the journal
/// loads them from the store) decides every message as the verifier holding the whole history
/// does, and leaves the same state; a message tampered with is refused by both with the same
/// problem.
fn check_snapshots(s: &Scenario) {
    let options = options(s);
    let messages = zcred_ledger::stream::parse_stream(s.stream.as_bytes()).unwrap();
    let mut full = Ledger::new(options);
    for (i, message) in messages.iter().enumerate() {
        let mut tampered = message.clone();
        if let Some(sig) = tampered.attachments.sigs.first_mut() {
            sig.signature = SigningKey::from_seed(&[0xee; 32]).sign(message.raw());
        } else if let Some(g) = tampered.attachments.source_seals.first_mut() {
            g.0 += 1;
        }
        for m in [&tampered, message] {
            let mut snap = snapshot_for(&full, m, options);
            let from_snapshot = snap.process(m);
            let mut whole = full.clone();
            let from_whole = whole.process(m);
            assert_eq!(
                format!("{from_snapshot:?}"),
                format!("{from_whole:?}"),
                "message {i}"
            );
            if from_whole.is_ok() {
                assert_eq!(rows_of(&snap, m), rows_of(&whole, m), "message {i}");
            }
        }
        full.process(message).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn snapshots_decide_as_the_whole_history_does(
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 0..16),
        batch in proptest::bool::weighted(0.2),
    ) {
        check_snapshots(&build(seed, &ops, batch));
    }
}
