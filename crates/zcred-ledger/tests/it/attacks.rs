//! Hostile input: each test is an attack or a malformed stream that the verifier or the
//! parsers must refuse (or hold), without panicking and without changing state.

use serde_json::{Map, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::acdc::Acdc;
use zcred_ledger::build::{self, Incept, Rotate};
use zcred_ledger::cesr::{Attachments, Siger};
use zcred_ledger::event::{DateTime, EventError};
use zcred_ledger::flows::{self, Controller};
use zcred_ledger::said::{saidify, Proto};
use zcred_ledger::verify::{verify_stream, Ledger, Options, Outcome, Problem, Status};
use zcred_ledger::{Event, Key, Message, Said};

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

fn qb64(k: &SigningKey) -> Key {
    Key::new(&k.verifying_key(), true)
}

/// `event` with signatures by `signers` at the given indices.
fn signed(event: &Event, signers: &[(&SigningKey, u32)]) -> Message {
    let sigs = signers
        .iter()
        .map(|(k, index)| Siger {
            index: *index,
            signature: k.sign(event.raw()),
        })
        .collect();
    Message::event(
        event.clone(),
        Attachments {
            sigs,
            ..Attachments::default()
        },
    )
}

fn accept(ledger: &mut Ledger, m: &Message) {
    assert_eq!(ledger.process(m), Ok(Outcome::Accepted), "{m:?}");
}

fn refused(ledger: &mut Ledger, m: &Message) -> Problem {
    ledger.process(m).expect_err("must be refused")
}

/// Re-SAIDs an event after its members were edited by hand (to build events the builders
/// would never make).
fn forge(event: &Event, edit: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
    let mut map: Map<String, Value> = serde_json::from_slice(event.raw()).unwrap();
    edit(&mut map);
    saidify(&mut map, &["d"], Some(Proto::Keri)).1
}

#[test]
fn one_next_key_cannot_fill_two_places_of_the_prior_next_threshold() {
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let icp = Incept {
        keys: vec![qb64(&key(9))],
        next: vec![qb64(&k1).next_digest(), qb64(&k2).next_digest()],
        nt: Some(2),
        self_addressing: true,
        ..Incept::default()
    }
    .build()
    .unwrap();
    let mut ledger = Ledger::new(Options::default());
    accept(&mut ledger, &signed(&icp, &[(&key(9), 0)]));
    let prefix = zcred_ledger::Prefix::parse(icp.prefix()).unwrap();
    let rotate = |keys: Vec<Key>| Rotate {
        prefix: prefix.clone(),
        sn: 1,
        prior: icp.said().clone(),
        keys,
        kt: Some(2),
        next: vec![qb64(&k3).next_digest()],
        nt: Some(1),
        cuts: vec![],
        adds: vec![],
        toad: 0,
        anchors: vec![],
        delegated: false,
    };
    // The same key twice in k is refused when parsed.
    let err = rotate(vec![qb64(&k1), qb64(&k1)]).build().unwrap_err();
    assert!(
        matches!(&err, EventError::Value { reason, .. } if reason.contains("twice")),
        "{err}"
    );
    // k1 with an uncommitted key: two signatures, but one prior commitment revealed.
    let rot = rotate(vec![qb64(&k1), qb64(&k3)]).build().unwrap();
    let problem = refused(&mut ledger, &signed(&rot, &[(&k1, 0), (&k3, 1)]));
    assert!(
        matches!(
            problem,
            Problem::Threshold {
                what: "prior-next",
                needed: 2,
                found: 1
            }
        ),
        "{problem}"
    );
    // Both committed keys rotate in.
    let rot = rotate(vec![qb64(&k1), qb64(&k2)]).build().unwrap();
    accept(&mut ledger, &signed(&rot, &[(&k1, 0), (&k2, 1)]));
}

#[test]
fn nothing_follows_a_non_transferable_or_abandoned_kel() {
    let k = key(4);
    let basic = Key::new(&k.verifying_key(), false);
    let icp = Incept {
        keys: vec![basic.clone()],
        ..Incept::default()
    }
    .build()
    .unwrap();
    let mut ledger = Ledger::new(Options::default());
    accept(&mut ledger, &signed(&icp, &[(&k, 0)]));
    let prefix = zcred_ledger::Prefix::parse(icp.prefix()).unwrap();
    let ixn = build::interact(&prefix, 1, icp.said(), &[]).unwrap();
    let problem = refused(&mut ledger, &signed(&ixn, &[(&k, 0)]));
    assert!(
        matches!(problem, Problem::NotAllowed(ref m) if m.contains("no event may follow")),
        "{problem}"
    );

    // A transferable KEL that abandons itself (rotates to no next keys).
    let (c, icp) = Controller::incept_basic(key(5), key(6)).unwrap();
    let mut ledger = Ledger::new(Options::default());
    accept(&mut ledger, &icp);
    let abandon = Rotate {
        prefix: c.prefix().clone(),
        sn: 1,
        prior: c.said().clone(),
        keys: vec![qb64(&key(6))],
        kt: None,
        next: vec![],
        nt: None,
        cuts: vec![],
        adds: vec![],
        toad: 0,
        anchors: vec![],
        delegated: false,
    }
    .build()
    .unwrap();
    accept(&mut ledger, &signed(&abandon, &[(&key(6), 0)]));
    let ixn = build::interact(c.prefix(), 2, abandon.said(), &[]).unwrap();
    let problem = refused(&mut ledger, &signed(&ixn, &[(&key(6), 0)]));
    assert!(matches!(problem, Problem::NotAllowed(_)), "{problem}");
    assert_eq!(c.sn(), 0);
}

#[test]
fn sequence_numbers_are_fixed_by_the_event_type() {
    let reg = Said::digest(b"registry");
    let cred = Said::digest(b"cred");
    let dt = DateTime::from_time(time::OffsetDateTime::UNIX_EPOCH);
    let rev = build::revoke(
        &cred.clone().into(),
        &reg.into(),
        &Said::digest(b"iss"),
        &dt,
    )
    .unwrap();
    let forged = forge(&rev, |m| {
        m.insert("s".into(), Value::String("0".into()));
    });
    let err = Event::parse(&forged).unwrap_err();
    assert!(
        matches!(&err, EventError::Value { reason, .. } if reason.contains("s must be 1")),
        "{err}"
    );
    let (c, _) = Controller::incept_basic(key(1), key(2)).unwrap();
    let ixn = build::interact(c.prefix(), 1, c.said(), &[]).unwrap();
    let forged = forge(&ixn, |m| {
        m.insert("s".into(), Value::String("0".into()));
    });
    assert!(Event::parse(&forged).is_err());
}

/// Issuer, agent and registry; returns the messages, both controllers and the registry id.
fn onboard(seed: u8) -> (Vec<Message>, Controller, Controller, Said) {
    let o = flows::onboard(
        (key(seed), key(seed + 1)),
        (key(seed + 2), key(seed + 3)),
        &[seed; 16],
    )
    .unwrap();
    (o.messages, o.issuer, o.agent, o.registry)
}

#[test]
fn another_registry_cannot_shadow_a_credential() {
    let mut ledger = Ledger::new(Options::default());
    let (victim_msgs, _, mut victim, victim_reg) = onboard(10);
    let (attacker_msgs, _, mut attacker, attacker_reg) = onboard(20);
    for m in victim_msgs.iter().chain(&attacker_msgs) {
        accept(&mut ledger, m);
    }
    let cred = Said::digest(b"the victim's credential");
    let dt = time::OffsetDateTime::UNIX_EPOCH;
    // The attacker issues and revokes the victim's credential SAID in its own registry first.
    let iss = flows::issuance(&cred, &attacker_reg, dt).unwrap();
    let iss_said = iss.said().clone();
    let (x, t) = attacker.anchor(iss).unwrap();
    accept(&mut ledger, &x);
    accept(&mut ledger, &t);
    let (x, t) = attacker
        .anchor(flows::revocation(&cred, &attacker_reg, &iss_said, dt).unwrap())
        .unwrap();
    accept(&mut ledger, &x);
    accept(&mut ledger, &t);
    // The victim's real issuance is still accepted, and its status is its own.
    let (x, t) = victim
        .anchor(flows::issuance(&cred, &victim_reg, dt).unwrap())
        .unwrap();
    accept(&mut ledger, &x);
    accept(&mut ledger, &t);
    assert!(ledger.duplicity().is_empty());
    assert_eq!(
        ledger.verify_status(victim_reg.as_str(), cred.as_str()),
        Ok(Status::Issued)
    );
    assert_eq!(
        ledger.verify_status(attacker_reg.as_str(), cred.as_str()),
        Ok(Status::Revoked)
    );
}

#[test]
fn an_unsigned_pretender_is_invalid_not_duplicity_but_a_signed_one_is() {
    let (mut c, icp) = Controller::incept_basic(key(30), key(31)).unwrap();
    let mut ledger = Ledger::new(Options::default());
    accept(&mut ledger, &icp);
    let first = c.interact(&[]).unwrap();
    accept(&mut ledger, &first);
    let seal = flows::endorsement(c.prefix(), 0, c.said(), c.sign(b"x")).prefix;
    let other = build::interact(
        c.prefix(),
        1,
        icp.as_event().unwrap().said(),
        &[Map::from_iter([("d".to_owned(), Value::String(seal))])],
    )
    .unwrap();
    // Unsigned, or signed by a stranger: refused, no duplicity recorded.
    let problem = refused(
        &mut ledger,
        &Message::event(other.clone(), Attachments::default()),
    );
    assert!(matches!(problem, Problem::Threshold { .. }), "{problem}");
    let problem = refused(&mut ledger, &signed(&other, &[(&key(99), 0)]));
    assert!(matches!(problem, Problem::Signature(_)), "{problem}");
    assert!(ledger.duplicity().is_empty());
    // Signed by the controller: provable duplicity, recorded; the first event stays.
    let problem = refused(&mut ledger, &signed(&other, &[(&key(30), 0)]));
    assert!(
        matches!(problem, Problem::Duplicity { sn: 1, .. }),
        "{problem}"
    );
    assert_eq!(ledger.duplicity().len(), 1);
    assert_eq!(
        ledger.kel_event(c.prefix().as_str(), 1).unwrap(),
        first.as_event().unwrap()
    );
    // The same event again is a duplicate.
    assert_eq!(ledger.process(&first), Ok(Outcome::Duplicate));
}

#[test]
fn a_signature_index_given_twice_is_refused() {
    let k = key(40);
    let icp = Incept {
        keys: vec![qb64(&k), qb64(&key(41))],
        kt: Some(2),
        self_addressing: true,
        ..Incept::default()
    }
    .build()
    .unwrap();
    let mut ledger = Ledger::new(Options::default());
    let problem = refused(&mut ledger, &signed(&icp, &[(&k, 0), (&k, 0)]));
    assert!(
        matches!(problem, Problem::Signature(ref m) if m.contains("twice")),
        "{problem}"
    );
}

#[test]
fn receipts_come_only_from_witnesses_and_count_once() {
    let w = key(50);
    let witness =
        zcred_ledger::Prefix::parse(Key::new(&w.verifying_key(), false).as_str()).unwrap();
    let icp = Incept {
        keys: vec![qb64(&key(51))],
        next: vec![qb64(&key(52)).next_digest()],
        witnesses: vec![witness.clone()],
        self_addressing: true,
        ..Incept::default()
    }
    .build()
    .unwrap();
    let prefix = zcred_ledger::Prefix::parse(icp.prefix()).unwrap();
    let rct = build::receipt(&prefix, 0, icp.said()).unwrap();
    let couple = |k: &SigningKey| {
        Message::event(
            rct.clone(),
            Attachments {
                receipts: vec![(
                    Key::new(&k.verifying_key(), false).to_string(),
                    k.sign(icp.raw()),
                )],
                ..Attachments::default()
            },
        )
    };
    let icp_msg = signed(&icp, &[(&key(51), 0)]);
    // Without its witness's signature the inception waits.
    let mut ledger = Ledger::new(Options::default());
    assert!(matches!(ledger.process(&icp_msg), Ok(Outcome::Pending(_))));
    // A stranger's receipt does not help and fails the stream; the witness's does.
    let text = |ms: &[&Message]| ms.iter().map(|m| m.to_text()).collect::<String>();
    let stranger = couple(&key(53));
    let failure =
        verify_stream(text(&[&icp_msg, &stranger]).as_bytes(), Options::default()).unwrap_err();
    assert_eq!(failure.at.index, 0, "{failure}");
    let good = couple(&w);
    let ledger = verify_stream(
        text(&[&icp_msg, &good, &good]).as_bytes(),
        Options::default(),
    )
    .unwrap();
    assert_eq!(ledger.key_state(icp.prefix()).unwrap().toad, 1);
    // Once accepted, a receipt by a non-witness is refused, and the same receipt again is a
    // duplicate.
    let mut ledger = ledger;
    let problem = refused(&mut ledger, &stranger);
    assert!(
        matches!(problem, Problem::Signature(ref m) if m.contains("not a witness")),
        "{problem}"
    );
    assert_eq!(ledger.process(&good), Ok(Outcome::Duplicate));
}

#[test]
fn endorsements_need_the_signers_current_keys() {
    let (msgs, mut issuer, mut agent, registry) = onboard(60);
    let mut ledger = Ledger::new(Options::default());
    for m in &msgs {
        accept(&mut ledger, m);
    }
    let dt = time::OffsetDateTime::UNIX_EPOCH;
    let cred = Said::digest(b"endorsed");
    let iss = flows::issuance(&cred, &registry, dt).unwrap();
    let iss_said = iss.said().clone();
    let (x, t) = agent.anchor(iss).unwrap();
    accept(&mut ledger, &x);
    accept(&mut ledger, &t);
    // The issuer rotates (sn 1 is its approval ixn; the rotation is sn 2).
    let rot = issuer.rotate(key(62)).unwrap();
    accept(&mut ledger, &rot);
    // A revocation endorsed with the keys of the issuer's inception (rotated away) is refused.
    let rev = flows::revocation(&cred, &registry, &iss_said, dt).unwrap();
    let icp_said = ledger
        .kel_event(issuer.prefix().as_str(), 0)
        .unwrap()
        .said()
        .clone();
    let stale = flows::endorsement(issuer.prefix(), 0, &icp_said, key(60).sign(rev.raw()));
    let (x, mut t) = agent.anchor(rev.clone()).unwrap();
    t.attachments.endorsements.push(stale);
    accept(&mut ledger, &x);
    let problem = refused(&mut ledger, &t);
    assert!(
        matches!(problem, Problem::Signature(ref m) if m.contains("keys in force")),
        "{problem}"
    );
    // With the current keys it is accepted.
    let (sn, said) = issuer.establishment();
    let current = flows::endorsement(issuer.prefix(), sn, said, issuer.sign(rev.raw()));
    t.attachments.endorsements = vec![current];
    accept(&mut ledger, &t);
}

#[test]
fn hostile_attachments_fail_without_panicking() {
    // Nested -V wrappers (each claiming the rest of the text) are refused, not recursed into.
    let depth = 5000;
    let mut text = String::new();
    for level in 0..depth {
        let quadlets = depth - level - 1;
        text.push_str(&zcred_ledger::cesr::Counter::AttachedGroup.encode(quadlets.min(4095)));
    }
    assert!(Attachments::read(&text).is_err());
    // A group type twice.
    assert!(Attachments::read("-GAB0AAAAAAAAAAAAAAAAAAAAAAAEIf-ENw7PrM52w4H-S7NGU2qVIfraXVIlV9hEAaMHg7W-GAB0AAAAAAAAAAAAAAAAAAAAAAAEIf-ENw7PrM52w4H-S7NGU2qVIfraXVIlV9hEAaMHg7W").is_err());
    // Non-ASCII where a counter or signature code stands.
    assert!(Attachments::read("-éAAAAA").is_err());
    assert!(Attachments::read("-AABéAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_err());
    assert!(zcred_ledger::cesr::Counter::read("é").is_err());
}

#[test]
fn dates_are_exactly_keripys_form() {
    for bad in [
        "+2021-01-01T00:00:00.000000+00:00",
        "2021-01-01T00:00:00+00:00",
        "2021-01-01T00:00:00.000000Z",
    ] {
        assert!(DateTime::try_from(bad.to_owned()).is_err(), "{bad}");
    }
    let ok = DateTime::try_from("2021-01-01T00:00:00.000000+00:00".to_owned()).unwrap();
    assert_eq!(
        ok.to_time(),
        Some(time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(18628))
    );
}

#[test]
fn acdc_nested_blocks_are_checked_wherever_d_stands() {
    let mut members = Map::new();
    members.insert("d".into(), Value::String(String::new()));
    members.insert("i".into(), Value::String("EIssuer".into()));
    members.insert("s".into(), Value::String("ESchema".into()));
    let mut a = Map::new();
    a.insert("dt".into(), Value::String("2021-01-01".into()));
    a.insert("d".into(), Value::String(String::new()));
    members.insert("a".into(), Value::Object(a));
    let acdc = Acdc::build(members).unwrap();
    // Change the attribute block's d (and re-SAID the top level): refused.
    let mut map: Map<String, Value> = serde_json::from_slice(acdc.raw()).unwrap();
    map["a"]["d"] = Value::String(Said::digest(b"other").to_string());
    let (_, raw) = saidify(&mut map, &["d"], Some(Proto::Acdc));
    let err = Acdc::parse(&raw).unwrap_err();
    assert!(err.to_string().contains("nested block"), "{err}");
}

#[test]
fn an_acdc_waits_for_its_registry() {
    let mut members = Map::new();
    members.insert("d".into(), Value::String(String::new()));
    members.insert("i".into(), Value::String("EIssuer".into()));
    members.insert(
        "ri".into(),
        Value::String(Said::digest(b"unknown").to_string()),
    );
    members.insert("s".into(), Value::String("ESchema".into()));
    let acdc = Acdc::build(members).unwrap();
    let mut ledger = Ledger::new(Options::default());
    let message = Message {
        payload: zcred_ledger::Payload::Acdc(acdc),
        attachments: Attachments::default(),
    };
    assert!(matches!(ledger.process(&message), Ok(Outcome::Pending(_))));
}

#[test]
fn an_issuer_rotation_built_from_public_keys_is_the_controllers_own() {
    let (msgs, mut issuer, mut agent, _) = onboard(70);
    let mut ledger = Ledger::new(Options::default());
    for m in &msgs {
        accept(&mut ledger, m);
    }
    let (sn, prior) = (issuer.sn() + 1, issuer.said().clone());
    // A rotation to a key the KEL never committed to is refused, even when that key signs it.
    let forged =
        flows::issuer_rotation(issuer.prefix(), sn, &prior, &key(73).verifying_key(), None)
            .unwrap();
    let problem = refused(&mut ledger, &signed(&forged, &[(&key(73), 0)]));
    assert!(problem.to_string().contains("next"), "{problem}");
    // The key the inception committed to is key(71) (onboard's issuer next key).
    let built = flows::issuer_rotation(
        issuer.prefix(),
        sn,
        &prior,
        &key(71).verifying_key(),
        Some(&key(72).verifying_key()),
    )
    .unwrap();
    let rot = issuer.rotate(key(72)).unwrap();
    assert_eq!(built.raw(), rot.raw());
    accept(&mut ledger, &rot);
    // The agent's delegated rotation is accepted once the issuer's ixn approves it.
    let mut drt = agent.rotate(key(74)).unwrap();
    let drt_event = drt.as_event().unwrap().clone();
    let approval =
        flows::approve_delegation(issuer.prefix(), issuer.sn() + 1, issuer.said(), &drt_event)
            .unwrap();
    assert!(ledger.process(&drt).is_err(), "a drt without approval");
    drt.attachments.source_seals = vec![(approval.sn(), approval.said().to_string())];
    accept(&mut ledger, &issuer.signed(approval));
    accept(&mut ledger, &drt);
    let state = ledger.key_state(agent.prefix().as_str()).unwrap();
    assert_eq!(state.last_est_sn, drt_event.sn());
    assert_eq!(state.keys, vec![Key::new(&key(73).verifying_key(), true)]);
}
