//! Credentials issued by Zetrix's own service verify offline, and a changed attribute value fails
//! both proofs. The credentials and their issuer keys are published vectors; their sources are in
//! `crates/zcred-crypto/tests/vectors/zetrix/SOURCES.md` (Zetrix VC API reference, and the
//! `Zetrix-Chain/zetrix-vc-flutter` tests).

use std::path::PathBuf;

use serde_json::Value;
use zcred_crypto::bbs;
use zcred_crypto::zetrix::VerifyingKey;
use zcred_model::verify::{verify_credential, IssuerKeys, Report};
use zcred_model::Credential;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../zcred-crypto/tests/vectors/zetrix")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(vectors().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Case {
    vc: String,
    ed25519: VerifyingKey,
    bbs: bbs::PublicKey,
    messages: Vec<String>,
}

fn case(name: &str) -> Case {
    let keys: Value = serde_json::from_str(&read("keys.json")).unwrap();
    let k = &keys[name];
    Case {
        vc: read(name),
        ed25519: VerifyingKey::from_zetrix(k["issuerEd25519PublicKey"].as_str().unwrap()).unwrap(),
        bbs: bbs::PublicKey::from_multibase(k["issuerBbsPublicKey"].as_str().unwrap()).unwrap(),
        messages: serde_json::from_value(k["bbsMessages"].clone()).unwrap(),
    }
}

impl Case {
    /// Verifies `vc_text` (this case's credential, possibly edited) under this case's keys.
    fn verify(&self, vc_text: &str, when: &str) -> Report {
        let vc = Credential::from_json(vc_text).unwrap();
        let keys = IssuerKeys {
            ed25519: &self.ed25519,
            bbs: &self.bbs,
            did: None,
        };
        verify_credential(&vc, keys, at(when))
    }
}

/// Whether the named check passed.
fn passed(report: &Report, check: &str) -> bool {
    report
        .check(check)
        .unwrap_or_else(|| panic!("no {check} check"))
        .ok
}

fn at(text: &str) -> time::OffsetDateTime {
    zcred_model::time::parse(text).unwrap()
}

const ISSUED: [&str; 2] = ["apiref_submit_vc.json", "flutter_vp_test_passport_vc.json"];

#[test]
fn zetrix_issued_credentials_verify() {
    for name in ISSUED {
        let c = case(name);
        let vc = Credential::from_json(&c.vc).unwrap();
        assert_eq!(
            vc.bbs_messages().unwrap(),
            c.messages,
            "{name}: message list"
        );
        let inside = vc.valid_from() + time::Duration::days(1);
        let report = verify_credential(
            &vc,
            IssuerKeys {
                ed25519: &c.ed25519,
                bbs: &c.bbs,
                did: None,
            },
            inside,
        );
        assert!(report.verified, "{name}: {report:#?}");
        assert!(report
            .check("Ed25519Signature2020")
            .unwrap()
            .detail
            .contains("hex form"));
    }
}

#[test]
fn one_changed_attribute_fails_both_proofs() {
    let c = case("apiref_submit_vc.json");
    let changed = c.vc.replace("\"Ali bin Abu\"", "\"Ali bin Abd\"");
    assert_ne!(changed, c.vc);
    let report = c.verify(&changed, "2025-06-01");
    assert!(!report.verified);
    assert!(!passed(&report, "Ed25519Signature2020"), "{report:#?}");
    assert!(!passed(&report, "BbsBlsSignature2020"), "{report:#?}");
    assert!(passed(&report, "validFrom") && passed(&report, "validUntil"));
}

#[test]
fn reordered_subject_members_fail_the_bbs_proof_only() {
    // The JWS payload is canonical (order-free); the BBS+ messages follow member order.
    let c = case("apiref_submit_vc.json");
    let swapped = c.vc.replace(
        "\"class\": \"B2\",\n            \"age\": \"21\"",
        "\"age\": \"21\",\n            \"class\": \"B2\"",
    );
    assert_ne!(swapped, c.vc);
    let report = c.verify(&swapped, "2025-06-01");
    assert!(passed(&report, "Ed25519Signature2020"), "{report:#?}");
    assert!(!passed(&report, "BbsBlsSignature2020"), "{report:#?}");
}

#[test]
fn dates_and_keys_are_checked() {
    let c = case("apiref_submit_vc.json");
    assert!(!passed(
        &c.verify(&c.vc, "2024-12-31T23:00:00Z"),
        "validFrom"
    ));
    assert!(
        passed(&c.verify(&c.vc, "2024-12-31T23:57:00Z"), "validFrom"),
        "within the clock skew"
    );
    let after = c.verify(&c.vc, "2026-01-02");
    assert!(!passed(&after, "validUntil"));
    assert!(!after.verified);

    // The same credential under another issuer's keys.
    let other = case("flutter_vp_test_passport_vc.json");
    let wrong = other.verify(&c.vc, "2025-06-01");
    assert!(!passed(&wrong, "issuer"));
    assert!(!passed(&wrong, "Ed25519Signature2020"));
    assert!(!passed(&wrong, "BbsBlsSignature2020"));
}
