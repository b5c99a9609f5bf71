//! A presentation's full verification (api.md §10.3): the holder's JWS, a derived credential
//! with 10 attributes (5 revealed) and one 64-bit-window range proof, dates and status.
//! `cargo bench -p zcred-model --bench presentation`.

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zcred_crypto::bbs::{KeyPair, SecretKey};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::{jws, OsRng};
use zcred_model::presentation::{self, IssuerKeySet, RangeRequest, Resolve, Status};
use zcred_model::{canonical, Credential, Did};

struct Keys(IssuerKeySet);

impl Resolve for Keys {
    fn issuer(&self, _: &Did) -> Result<Option<IssuerKeySet>, String> {
        Ok(Some(self.0.clone()))
    }
    fn status(&self, _: &str, _: &Credential) -> Result<Status, String> {
        Ok(Status::Active)
    }
}

fn presentation_benches(c: &mut Criterion) {
    let issuer = SigningKey::from_seed(&[1; 32]);
    let holder = SigningKey::from_seed(&[2; 32]);
    let bbs_pair = KeyPair::new(SecretKey::from_seed(b"bench issuer").expect("seed"));
    let issuer_did = Did::of_key(&issuer.verifying_key());
    let holder_did = Did::of_key(&holder.verifying_key());
    let method = format!("{issuer_did}#delegateKey-1");

    let mut attributes = Map::new();
    attributes.insert("age".into(), json!("42"));
    for i in 1..10 {
        attributes.insert(format!("field{i}"), json!(format!("value {i}")));
    }
    let subject = json!({ "id": holder_did.as_str(), "bench": attributes });
    let unsigned = json!({
        "id": format!("did:zid:{}", "ab".repeat(32)),
        "type": ["VerifiableCredential", "Bench"],
        "issuer": issuer_did.as_str(),
        "issuanceDate": "2025-01-01T00:00:00Z",
        "credentialSubject": subject,
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/bbs/v1"],
    });
    let entries = zcred_model::credential::subject_entries(
        unsigned["credentialSubject"].as_object().expect("object"),
    )
    .expect("entries");
    let messages = zcred_model::credential::signed_messages_of(&entries, &["bench.age".to_owned()])
        .expect("messages");
    let signature = bbs_pair.sign_messages(&messages, &mut OsRng).expect("sign");
    let mut vc = unsigned.clone();
    vc["proof"] = json!([
        { "type": "BbsBlsSignature2020", "created": "2025-01-01T00:00:00Z",
          "proofPurpose": "assertionMethod", "proofValue": signature.to_multibase(),
          "verificationMethod": method, "integerMessages": ["bench.age"] },
        { "type": "Ed25519Signature2020", "created": "2025-01-01T00:00:00Z",
          "proofPurpose": "assertionMethod",
          "verificationMethod": format!("{issuer_did}#controllerKey"),
          "jws": jws::sign(&issuer, canonical::to_string(&unsigned).as_bytes()) }
    ]);
    let credential = Credential::from_value(vc).expect("credential");
    let keys = IssuerKeySet {
        ed25519: vec![issuer.verifying_key()],
        bbs: vec![(method, bbs_pair.public().clone())],
    };
    let revealed: Vec<String> = (1..6).map(|i| format!("bench.field{i}")).collect();
    let ranges = [RangeRequest {
        attribute: "bench.age".into(),
        min: 18,
        max: 65,
    }];
    let make = || {
        let derived = presentation::derive_credential(
            &credential,
            bbs_pair.public(),
            Some(&revealed),
            &ranges,
            "2025-01-01T00:00:00Z",
            &mut OsRng,
        )
        .expect("derive");
        let p = presentation::unsigned_presentation(&holder_did, vec![derived], Some("nonce"));
        let sig = holder.sign(presentation::signing_input(&p).as_bytes());
        presentation::finish(p, &sig, "2025-01-01T00:00:00Z")
    };
    let vp: Value = make();
    let resolver = Keys(keys);
    let now = OffsetDateTime::now_utc();
    let outcome =
        presentation::verify_presentation(&vp, Some("nonce"), now, &resolver).expect("verify");
    assert!(outcome.verified(), "{:?}", outcome.failures);

    let mut g = c.benchmark_group("presentation");
    g.sample_size(30);
    g.bench_function("create-10-attributes-1-range", |b| b.iter(make));
    g.bench_function("verify-10-attributes-1-range", |b| {
        b.iter(|| {
            presentation::verify_presentation(&vp, Some("nonce"), now, &resolver).expect("verify")
        })
    });
    g.finish();
}

criterion_group!(benches, presentation_benches);
criterion_main!(benches);
