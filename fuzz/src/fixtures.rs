//! Fixed keys, sample documents and the verifier's key source, shared by the targets and the
//! seed generator. The keys are test keys derived from constant seeds: seeds signed by them in
//! `corpus/` verify in every run.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zcred_crypto::bbs::{self, KeyPair, SecretKey};
use zcred_crypto::enc::{ServerKey, Wrapped};
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_crypto::{jws, multibase, CryptoRng, RngCore};
use zcred_model::presentation::{self, IssuerKeySet, RangeRequest, Resolve, Status};
use zcred_model::{canonical, Credential, Did};

/// The issuer's Ed25519 key (its DID is that of this key).
pub fn issuer_key() -> SigningKey {
    SigningKey::from_seed(&[0x11; 32])
}

/// The issuer's pre-committed next key.
pub fn issuer_next_key() -> SigningKey {
    SigningKey::from_seed(&[0x12; 32])
}

/// The holder's Ed25519 key.
pub fn holder_key() -> SigningKey {
    SigningKey::from_seed(&[0x21; 32])
}

/// The issuer's BBS+ key pair.
pub fn issuer_bbs() -> &'static KeyPair {
    static PAIR: OnceLock<KeyPair> = OnceLock::new();
    PAIR.get_or_init(|| {
        KeyPair::new(
            SecretKey::from_seed(b"zcred fuzz fixture: the issuer's BBS+ key seed")
                .expect("a fixed seed gives a key"),
        )
    })
}

/// The DID of `key`.
pub fn did_of(key: &SigningKey) -> Did {
    Did::of_key(&key.verifying_key())
}

/// The verification method of the issuer's BBS+ key, as the service names it.
pub fn bbs_method() -> String {
    format!("{}#delegateKey-1", did_of(&issuer_key()))
}

/// The time at which the presentation target verifies (2030-01-01T00:00:00Z): inside the
/// validity of the sample credential.
pub fn verify_at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_893_456_000).expect("a valid timestamp")
}

/// The challenge the sample presentations are bound to.
pub const CHALLENGE: &str = "zcred-fuzz-challenge";

/// BBS+ keys of issuers in `crates/zcred-crypto/tests/vectors/zetrix/keys.json`, with the
/// verification methods their credentials name.
const VECTOR_ISSUERS: &[(&str, &str)] = &[
    (
        "did:zid:0d48916e8b0f10297b023b680fb7ab2367d5eb03a1a6bb876d63d1a9f5677dcb#delegate-1",
        "zmGHfsGYtRbh6MfDQegV976maR1FwAJxFnboew8wydSVd2YwprnhXQvBDUYnQ13PCeifouGzeecE3dko8F6KTEGkZtuDFLBYfAJHSCzpk9ukfXWqX9ykpz326RSWPxjeagQp",
    ),
    (
        "did:zid:a0ef91714f1b84317d395118706796e38f012c48893f5063ebd7db2d9406c9ff#delegateKey-1",
        "z23ENzoxDd3PJFWMLQYCoPwJBC7epEKoG3wdEFYLU6JTtznnL4zukArZMEFX4n1DSwi5GmssJnx7gsjsQRi7fcf7seZ3rqQBv48Mef2hHTdtkeDrqV7SHdv4YkAx5o9MxhjLw",
    ),
    (
        "did:zid:9bee765674de000de736cd73e2353890df1fdb6ac0df9ecc3a5a78a4afee03a9#delegateKey-1",
        "zuKRSsZjMAYe1TgsnV5yUb9T3bbCqDEqQnCoaUkEXNomACZtZfxv1N4GVcRJmeiLpCwHaifjRjqqHewDcZcn9gW9nWvEiLb1cdgkYUxQfEoremhgeg8dfgkRvDifP6ypMp6U",
    ),
];

/// Every issuer the targets know: the fixture's issuer and those of the Zetrix vectors.
/// An issuer's Ed25519 key is the one its DID names.
pub fn known_issuers() -> &'static [(Did, IssuerKeySet)] {
    static ISSUERS: OnceLock<Vec<(Did, IssuerKeySet)>> = OnceLock::new();
    ISSUERS.get_or_init(|| {
        let mut out = vec![(
            did_of(&issuer_key()),
            IssuerKeySet {
                ed25519: vec![issuer_key().verifying_key()],
                bbs: vec![(bbs_method(), issuer_bbs().public().clone())],
            },
        )];
        for (method, key) in VECTOR_ISSUERS {
            let did_text = method.split('#').next().unwrap_or_default();
            let did = Did::parse(did_text).expect("a vector DID");
            let ed = VerifyingKey::from_did(did_text).expect("a vector DID names a key");
            let bbs_key = bbs::PublicKey::from_multibase(key).expect("a vector BBS+ key");
            out.push((
                did,
                IssuerKeySet {
                    ed25519: vec![ed],
                    bbs: vec![((*method).to_owned(), bbs_key)],
                },
            ));
        }
        out
    })
}

/// The keys of `did`, when known.
pub fn issuer_keys(did: &Did) -> Option<&'static IssuerKeySet> {
    known_issuers()
        .iter()
        .find(|(d, _)| d == did)
        .map(|(_, keys)| keys)
}

/// The verifier's source of keys: [`known_issuers`]; every credential is active.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedResolver;

impl Resolve for FixedResolver {
    fn issuer(&self, did: &Did) -> Result<Option<IssuerKeySet>, String> {
        Ok(issuer_keys(did).cloned())
    }

    fn status(&self, _vc_id: &str, _credential: &Credential) -> Result<Status, String> {
        Ok(Status::Active)
    }
}

/// A credential by the fixture's issuer to the fixture's holder, with a range-provable `age`
/// (valid 2025-01-01 to 2035-01-01), built as `benches/presentation.rs` of zcred-model does.
pub fn sample_credential<R: RngCore + CryptoRng>(rng: &mut R) -> Credential {
    let issuer = issuer_key();
    let issuer_did = did_of(&issuer);
    let holder_did = did_of(&holder_key());
    let subject = json!({
        "id": holder_did.as_str(),
        "personProfile": { "name": "Ali bin Abu", "age": "30", "gender": "Male", "class": "B2" },
    });
    let unsigned = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://w3id.org/security/bbs/v1"],
        "id": format!("did:zid:{}", "ab".repeat(32)),
        "type": ["VerifiableCredential", "PersonProfile"],
        "issuer": issuer_did.as_str(),
        "issuanceDate": "2025-01-01T00:00:00Z",
        "expirationDate": "2035-01-01T00:00:00Z",
        "credentialSubject": subject,
    });
    let integer_paths = vec!["personProfile.age".to_owned()];
    let entries = zcred_model::credential::subject_entries(
        unsigned["credentialSubject"]
            .as_object()
            .expect("an object"),
    )
    .expect("subject entries");
    let messages = zcred_model::credential::signed_messages_of(&entries, &integer_paths)
        .expect("message list");
    let signature = issuer_bbs()
        .sign_messages(&messages, rng)
        .expect("BBS+ signing");
    let mut vc = unsigned.clone();
    vc["proof"] = json!([
        { "type": "BbsBlsSignature2020", "created": "2025-01-01T00:00:00Z",
          "proofPurpose": "assertionMethod", "proofValue": signature.to_multibase(),
          "verificationMethod": bbs_method(), "integerMessages": integer_paths },
        { "type": "Ed25519Signature2020", "created": "2025-01-01T00:00:00Z",
          "proofPurpose": "assertionMethod",
          "verificationMethod": format!("{issuer_did}#controllerKey"),
          "jws": jws::sign(&issuer, canonical::to_string(&unsigned).as_bytes()) }
    ]);
    Credential::from_value(vc).expect("the sample credential checks")
}

/// Presentations of `vc` by the fixture's holder, bound to [`CHALLENGE`]: the whole credential,
/// a selective disclosure, and a disclosure with a range proof over `age`.
pub fn sample_presentations<R: RngCore + CryptoRng>(
    vc: &Credential,
    rng: &mut R,
) -> Vec<(&'static str, Value)> {
    let holder = holder_key();
    let holder_did = did_of(&holder);
    let some = vec!["personProfile.name".to_owned()];
    let age = [RangeRequest {
        attribute: "personProfile.age".into(),
        min: 18,
        max: 65,
    }];
    type Case<'a> = (&'static str, Option<&'a [String]>, &'a [RangeRequest]);
    let cases: [Case<'_>; 3] = [
        ("whole", None, &[]),
        ("selective", Some(&some), &[]),
        ("range", Some(&some), &age),
    ];
    cases
        .into_iter()
        .map(|(name, revealed, ranges)| {
            let derived = presentation::derive_credential(
                vc,
                issuer_bbs().public(),
                revealed,
                ranges,
                "2025-06-01T00:00:00Z",
                rng,
            )
            .expect("derive");
            let p =
                presentation::unsigned_presentation(&holder_did, vec![derived], Some(CHALLENGE));
            let sig = holder.sign(presentation::signing_input(&p).as_bytes());
            (name, presentation::finish(p, &sig, "2025-06-01T00:00:00Z"))
        })
        .collect()
}

/// The worked example of the `/enc/` envelope, `crates/zcred-crypto/tests/vectors/enc/example.json`.
pub struct EncExample {
    /// The server key of the example.
    pub server: ServerKey,
    /// What its `secretKey` header carries.
    pub wrapped: Wrapped,
    /// The request's path.
    pub path: String,
    /// The request's `secretKey` header.
    pub secret_key: String,
    /// The request's body.
    pub body: String,
    /// The request's timestamp (ms).
    pub now_ms: u64,
    /// The server's public key in its published forms: key id, RSA SPKI (base64), X25519.
    pub public: (String, String, String),
}

impl std::fmt::Debug for EncExample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncExample")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The example, parsed once.
pub fn enc_example() -> &'static EncExample {
    static EXAMPLE: OnceLock<EncExample> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let v: Value = serde_json::from_str(include_str!(
            "../../crates/zcred-crypto/tests/vectors/enc/example.json"
        ))
        .expect("the example is JSON");
        let s = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("the example has no {p}"))
                .to_owned()
        };
        let mut secret = hex::decode(s("/server/x25519PrivateKey")).expect("hex");
        secret.extend(multibase::from_base64(&s("/server/rsaPrivateKeyPkcs8")).expect("base64"));
        let server = ServerKey::from_bytes(&s("/server/keyId"), &secret).expect("the example key");
        let ephemeral: [u8; 32] = hex::decode(s("/exchange/ephemeralPublicKey"))
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let now_ms = v
            .pointer("/exchange/ts")
            .and_then(Value::as_u64)
            .expect("a timestamp");
        EncExample {
            server,
            wrapped: Wrapped {
                ephemeral,
                timestamp_ms: now_ms,
            },
            path: s("/exchange/path"),
            secret_key: s("/exchange/secretKeyHeader"),
            body: s("/request/body"),
            now_ms,
            public: (
                s("/server/keyId"),
                s("/server/rsaPublicKey"),
                s("/server/x25519PublicKey"),
            ),
        }
    })
}

/// A JSON object from pairs (for seeds).
pub fn object(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<Map<String, Value>>(),
    )
}

/// The messages the BBS+ seeds are signed over (by [`issuer_bbs`]).
pub const BBS_MESSAGES: [&str; 4] = [
    "id: did:zid:ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
    "personProfile.name: Ali bin Abu",
    "personProfile.gender: Male",
    "personProfile.class: B2",
];

/// The nonce of the BBS+ proof seeds.
pub const BBS_NONCE: &[u8] = b"zcred-fuzz-nonce";
