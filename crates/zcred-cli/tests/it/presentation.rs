//! Verifiable Presentations end to end against `zcred serve` on a loopback port (SQLite):
//! api.md §10.1 create, §10.2 submit, §10.3 verify (and the `/cred/v1/vp/challenge` extension),
//! over credentials issued through §8 by one onboarded, approved issuer. Covers selective
//! disclosure (all, some, none but `id`), range proofs over range-provable `NUMBER` attributes
//! (OP-11: the issuer's BBS+ signature also covers `bbsBlsScalars`, the VC names them in
//! `integerMessages`), challenge binding and replay (OP-15), revoked and expired credentials,
//! tampering, the wrong holder, and credentials without range-provable attributes staying
//! Zetrix-identical.
//!
//! Every scenario runs against the same server; a failing one is reported by name and the rest
//! still run.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};
use zcred_crypto::zetrix::{Signature, SigningKey};
use zcred_crypto::{bbs, multibase, OsRng};

use crate::commands::{api_key, scratch};
use crate::lifecycle::{
    accepted, application, approve, canonical_json, onboard, refused, signers, zcred_model_did,
    Issuer,
};
use crate::serve::Server;

const APPLY: &str = "/cred/v1/vc/apply";
const VC_CREATE: &str = "/cred/v1/vc/create";
const VC_SUBMIT: &str = "/cred/v1/vc/submit";
const CHALLENGE: &str = "/cred/v1/vp/challenge";
const VP_CREATE: &str = "/cred/v1/vp/create";
const VP_SUBMIT: &str = "/cred/v1/vp/submit";
const VP_VERIFY: &str = "/cred/v1/vp/verify";
/// base64url of `{"alg":"EdDSA"}` (api.md §2.9).
const HEADER: &str = "eyJhbGciOiJFZERTQSJ9";

/// The server, its issuer, the templates and one issued credential shared by the scenarios.
struct Fixture {
    server: Server,
    /// An API key bound to no issuer: the holder's and the verifier's.
    si: String,
    issuer: Issuer,
    /// "Person Profile": age (USER) and income (FIXED) are range-provable.
    profile: String,
    /// "Degree Certificate": gradYear (FIXED) is range-provable.
    degree: String,
    /// "Driving License": no range-provable attribute.
    plain: String,
    /// The holder of `vc`.
    holder: SigningKey,
    /// A credential over `profile` and `degree` (valid 2025-01-01 to 2099-01-01).
    vc: Value,
    data_dir: PathBuf,
    token_file: PathBuf,
}

fn profile_format() -> Value {
    json!([
        {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
        {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": true, "type": "USER", "rangeProvable": true},
        {"attribute": "Gender", "format": "STRING", "key": "gender", "mandatory": false, "type": "USER"},
        {"attribute": "Nationality", "format": "STRING", "key": "nationality", "mandatory": false, "type": "USER"},
        {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"},
        {"attribute": "Income", "format": "NUMBER", "key": "income", "mandatory": true, "type": "FIXED", "rangeProvable": true},
        {"attribute": "Id no.", "format": "STRING", "key": "idNo", "mandatory": true, "type": "FIXED"},
        {"attribute": "Height", "format": "NUMBER", "key": "height", "mandatory": false, "type": "APPLICATION", "rangeProvable": false}
    ])
}

fn degree_format() -> Value {
    json!([
        {"attribute": "University", "format": "STRING", "key": "university", "mandatory": true, "type": "USER"},
        {"attribute": "CGPA", "format": "NUMBER", "key": "cgpa", "mandatory": false, "type": "USER"},
        {"attribute": "Graduation year", "format": "NUMBER", "key": "gradYear", "mandatory": true, "type": "FIXED", "rangeProvable": true}
    ])
}

fn plain_format() -> Value {
    json!([
        {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
        {"attribute": "Points", "format": "NUMBER", "key": "points", "mandatory": true, "type": "USER"},
        {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"}
    ])
}

fn template_body(issuer: &Issuer, name: &str, format: Value) -> Value {
    json!({
        "templateName": name,
        "issuerZid": issuer.did,
        "credentialFormat": format,
        "version": "1.0.0",
        "remark": "presentation test",
    })
}

pub(crate) fn register_template(
    server: &Server,
    issuer: &Issuer,
    name: &str,
    format: Value,
) -> String {
    let blob = accepted(
        server,
        &issuer.api_key,
        "/cred/tds/template/blob/create",
        &template_body(issuer, name, format),
    );
    let done = accepted(
        server,
        &issuer.api_key,
        "/cred/tds/template/submit",
        &signers(&blob, &issuer.key),
    );
    done["templateId"].as_str().unwrap().to_owned()
}

/// The holder's values of the shared credential (profile, then degree).
fn holder_values(fx: &Fixture) -> Value {
    json!([
        { "templateId": fx.profile, "metadata": { "name": "Ali bin Abu", "age": "30", "gender": "Male", "nationality": "Malaysian" } },
        { "templateId": fx.degree, "metadata": { "university": "Universiti Malaya", "cgpa": "3.9" } }
    ])
}

/// The issuer's values of the shared credential; `income` as a JSON number (stored as its text).
fn issuer_values(fx: &Fixture) -> Value {
    json!([
        { "templateId": fx.profile, "metadata": { "class": "B2", "income": 5000, "idNo": "900101-14-5678", "height": "170" } },
        { "templateId": fx.degree, "metadata": { "gradYear": "2015" } }
    ])
}

/// The `credentialSubject` of a credential issued with the values above.
fn full_subject(holder: &SigningKey) -> Value {
    json!({
        "id": zcred_model_did(holder),
        "personProfile": {
            "name": "Ali bin Abu", "age": "30", "gender": "Male", "nationality": "Malaysian",
            "class": "B2", "income": "5000", "idNo": "900101-14-5678", "height": "170"
        },
        "degreeCertificate": { "university": "Universiti Malaya", "cgpa": "3.9", "gradYear": "2015" }
    })
}

/// The decoded `bbsBlsBase64` messages and the `bbsBlsScalars` (if any) of a create response.
fn create_messages(created: &Value) -> (Vec<Vec<u8>>, Vec<bbs::Message>) {
    let messages = created["bbsBlsBase64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| multibase::from_base64(m.as_str().unwrap()).unwrap())
        .collect();
    let scalars = created
        .get("bbsBlsScalars")
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    let bytes = hex::decode(h.as_str().unwrap()).unwrap();
                    bbs::Message::from_scalar_bytes(&<[u8; 32]>::try_from(bytes).unwrap()).unwrap()
                })
                .collect()
        })
        .unwrap_or_default();
    (messages, scalars)
}

/// The 8.3 submit body for a create response: the JWS signature, and the BBS+ signature over
/// the hashed `bbsBlsBase64` messages followed by the `bbsBlsScalars` as scalar messages.
fn submit_body(issuer: &Issuer, vc_id: &str, created: &Value) -> Value {
    let input = hex::decode(created["ed25519Blob"].as_str().unwrap()).unwrap();
    let (messages, scalars) = create_messages(created);
    let mut all = bbs::Message::hash_all(&messages);
    all.extend(scalars);
    json!({
        "vcId": vc_id,
        "ed25519PubKey": issuer.key.verifying_key().to_zetrix(),
        "ed25519SignData": issuer.key.sign(&input).to_hex(),
        "bbsBlsPubKey": issuer.bbs.public().to_multibase(),
        "bbsBlsSignData": issuer.bbs.sign_messages(&all, &mut OsRng).unwrap().to_multibase(),
    })
}

/// Apply (holder) → create (issuer); returns the vcId and the create response.
fn apply_and_create(
    server: &Server,
    si: &str,
    issuer: &Issuer,
    holder: &SigningKey,
    holder_data: Value,
    create: Value,
) -> (String, Value) {
    let applied = accepted(server, si, APPLY, &application(holder, holder_data));
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let mut create = create;
    create["vcId"] = json!(vc_id);
    let created = accepted(server, &issuer.api_key, VC_CREATE, &create);
    (vc_id, created)
}

/// Apply → create → sign → submit; returns the create response and the issued VC.
fn issue_with(
    server: &Server,
    si: &str,
    issuer: &Issuer,
    holder: &SigningKey,
    holder_data: Value,
    create: Value,
) -> (Value, Value) {
    let (vc_id, created) = apply_and_create(server, si, issuer, holder, holder_data, create);
    let issued = accepted(
        server,
        &issuer.api_key,
        VC_SUBMIT,
        &submit_body(issuer, &vc_id, &created),
    );
    (created, issued["vc"].clone())
}

/// The shared credential's values for `holder`, valid over `dates`.
fn issue_profile(fx: &Fixture, holder: &SigningKey, from: &str, until: &str) -> Value {
    issue_with(
        &fx.server,
        &fx.si,
        &fx.issuer,
        holder,
        holder_values(fx),
        json!({ "issuanceDate": from, "expirationDate": until, "data": issuer_values(fx) }),
    )
    .1
}

impl Fixture {
    fn start(encrypted: bool) -> Fixture {
        let data_dir = scratch("presentation");
        let token_file = scratch("presentation-token");
        let data = data_dir.display().to_string();
        let si = api_key(&["--data-dir", &data]);
        let admin = "the operator's token for the presentation test";
        std::fs::write(&token_file, admin).unwrap();
        let token = token_file.display().to_string();
        let args = ["--data-dir", &data, "--admin-token-file", &token];
        let server = if encrypted {
            Server::start_encrypted(&args)
        } else {
            Server::start(&args)
        };
        let issuer = onboard(&server, &si, admin);
        approve(&server, admin, &issuer.did);
        let profile = register_template(&server, &issuer, "Person Profile", profile_format());
        let degree = register_template(&server, &issuer, "Degree Certificate", degree_format());
        let plain = register_template(&server, &issuer, "Driving License", plain_format());
        let mut fx = Fixture {
            server,
            si,
            issuer,
            profile,
            degree,
            plain,
            holder: SigningKey::generate(&mut OsRng),
            vc: Value::Null,
            data_dir,
            token_file,
        };
        fx.vc = issue_profile(&fx, &fx.holder, "2025-01-01", "2099-01-01");
        assert_eq!(fx.vc["credentialSubject"], full_subject(&fx.holder));
        fx
    }

    fn stop(self) {
        assert!(self.server.stop().success());
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let _ = std::fs::remove_file(&self.token_file);
    }

    /// 10.1: `{blobId, blob}`.
    fn vp_create(&self, request: &Value) -> Value {
        accepted(&self.server, &self.si, VP_CREATE, request)
    }

    /// 10.2 with `key`'s signature over the blob; returns `vpObject`.
    fn vp_submit(&self, created: &Value, key: &SigningKey) -> Value {
        let submitted = accepted(
            &self.server,
            &self.si,
            VP_SUBMIT,
            &vp_signed(created, key, key),
        );
        submitted["vpObject"].clone()
    }

    /// 10.1 then 10.2 by `holder`.
    fn present(&self, holder: &SigningKey, request: &Value) -> Value {
        let created = self.vp_create(request);
        self.vp_submit(&created, holder)
    }

    /// 10.3; returns the outcome object (HTTP 200 asserted).
    fn verify(&self, vp: &Value, challenge: Option<&str>) -> Value {
        let mut body = json!({ "vpObject": vp });
        if let Some(c) = challenge {
            body["challenge"] = json!(c);
        }
        accepted(&self.server, &self.si, VP_VERIFY, &body)
    }
}

/// A 10.2 body: `signer` signs the blob; `named` is the key sent as `ed25519PubKey`.
pub(crate) fn vp_signed(created: &Value, signer: &SigningKey, named: &SigningKey) -> Value {
    let blob = hex::decode(created["blob"].as_str().unwrap()).unwrap();
    json!({
        "blobId": created["blobId"],
        "ed25519SignData": signer.sign(&blob).to_hex(),
        "ed25519PubKey": named.verifying_key().to_zetrix(),
    })
}

/// `vp` without its proof, signed again by `key` as holder (api.md §2.9 construction with the
/// seed's uppercase-hex signature segment): what a dishonest holder can produce.
fn resign(vp: &Value, key: &SigningKey) -> Value {
    let mut p = vp.clone();
    let mut proof = p.as_object_mut().unwrap().remove("proof").unwrap();
    let input = format!(
        "{HEADER}.{}",
        multibase::base64url(canonical_json(&p).as_bytes())
    );
    let sig = key.sign(input.as_bytes()).to_hex().to_uppercase();
    proof["jws"] = json!(format!("{input}.{}", multibase::base64url(sig.as_bytes())));
    proof["verificationMethod"] = json!(format!("{}#controllerKey", p["holder"].as_str().unwrap()));
    p["proof"] = proof;
    p
}

/// Checks the holder proof of `vp` independently of the server (api.md §2.9, §10.2).
#[track_caller]
fn check_holder_proof(vp: &Value, holder: &SigningKey, challenge: Option<&str>) {
    let did = zcred_model_did(holder);
    let proof = &vp["proof"];
    assert_eq!(proof["type"], "Ed25519Signature2020", "{vp}");
    assert_eq!(proof["proofPurpose"], "authentication");
    assert_eq!(proof["verificationMethod"], format!("{did}#controllerKey"));
    assert_eq!(proof["challenge"].as_str(), challenge);
    assert_eq!(vp["challenge"].as_str(), challenge);
    let jws = proof["jws"].as_str().unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "{jws}");
    assert_eq!(parts[0], HEADER);
    let mut p = vp.clone();
    p.as_object_mut().unwrap().remove("proof");
    assert_eq!(
        parts[1],
        multibase::base64url(canonical_json(&p).as_bytes()),
        "the JWS payload is the canonical VP without proof"
    );
    let sig = String::from_utf8(multibase::from_base64url(parts[2]).unwrap()).unwrap();
    assert_eq!(
        sig.len(),
        128,
        "the signature segment is 128 hex characters"
    );
    assert_eq!(sig, sig.to_uppercase(), "and upper case");
    holder
        .verifying_key()
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &Signature::from_hex(&sig).unwrap(),
        )
        .unwrap();
}

/// The presentation members around the credential (api.md §10.1 step 2).
#[track_caller]
fn check_envelope(vp: &Value, holder: &SigningKey) {
    assert_eq!(
        vp["@context"],
        json!([
            "https://www.w3.org/2018/credentials/v1",
            "https://w3id.org/security/bbs/v1"
        ])
    );
    assert_eq!(vp["holder"], zcred_model_did(holder));
    assert_eq!(vp["type"], json!(["VerifiablePresentation"]));
    assert_eq!(vp["verifiableCredential"].as_array().unwrap().len(), 1);
}

/// Checks a derived credential against the issued one: same members but proof and subject,
/// the disclosure proof first, then `ranges` (path, min, max, messageIndex) in order.
#[track_caller]
fn check_derived(derived: &Value, vc: &Value, subject: &Value, ranges: &[(&str, i64, i64, u64)]) {
    for member in [
        "@context",
        "id",
        "type",
        "issuer",
        "issuanceDate",
        "expirationDate",
    ] {
        assert_eq!(derived[member], vc[member], "{member}");
    }
    assert_eq!(&derived["credentialSubject"], subject);
    let proofs = derived["proof"].as_array().unwrap();
    assert_eq!(proofs.len(), 1 + ranges.len(), "{derived}");
    let disclosure = &proofs[0];
    let method = &vc["proof"][0]["verificationMethod"];
    assert_eq!(disclosure["type"], "BbsBlsSignatureProof2020");
    assert_eq!(disclosure["proofPurpose"], "assertionMethod");
    assert_eq!(&disclosure["verificationMethod"], method);
    assert!(disclosure["created"].as_str().unwrap().ends_with('Z'));
    let nonce = multibase::decode_base64url(disclosure["nonce"].as_str().unwrap(), None).unwrap();
    assert_eq!(nonce.len(), 32);
    assert!(disclosure["proofValue"].as_str().unwrap().starts_with('u'));
    for (entry, (path, min, max, index)) in proofs[1..].iter().zip(ranges) {
        assert_eq!(entry["type"], "BulletproofRangeProof2021", "{entry}");
        assert_eq!(entry["attribute"], *path);
        assert_eq!(entry["min"], *min);
        assert_eq!(entry["max"], *max);
        assert_eq!(entry["messageIndex"], *index);
        assert_eq!(&entry["verificationMethod"], method);
        assert!(entry["proofValue"].as_str().unwrap().starts_with('u'));
    }
}

/// A passing outcome whose only credential discloses `subject`.
#[track_caller]
fn assert_valid(outcome: &Value, vc: &Value, subject: &Value) {
    assert_eq!(outcome["verified"], true, "{outcome}");
    assert_eq!(outcome["status"], "valid");
    assert_eq!(outcome["errMsg"], Value::Null);
    assert_eq!(outcome["errors"], json!([]));
    let details = outcome["vcDetail"].as_array().unwrap();
    assert_eq!(details.len(), 1);
    let d = &details[0];
    assert_eq!(d["id"], vc["id"]);
    assert_eq!(d["issuer"], vc["issuer"]);
    assert_eq!(d["validFrom"], vc["issuanceDate"]);
    assert_eq!(d["validUntil"], vc["expirationDate"]);
    assert_eq!(&d["credentialSubject"], subject, "{outcome}");
}

/// A failing outcome with `status`; returns its errors.
#[track_caller]
fn assert_failed(outcome: &Value, status: &str) -> Vec<String> {
    assert_eq!(outcome["verified"], false, "{outcome}");
    assert_eq!(outcome["status"], status, "{outcome}");
    assert_eq!(outcome["vcDetail"], json!([]), "{outcome}");
    let errors: Vec<String> = outcome["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    assert!(!errors.is_empty(), "{outcome}");
    assert_eq!(outcome["errMsg"], errors[0].as_str(), "{outcome}");
    errors
}

#[track_caller]
fn any_contains(errors: &[String], needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

/// A 400 refusal of 10.1 with `code`, whose message names `mention`.
#[track_caller]
fn refused_create(fx: &Fixture, request: &Value, code: &str, mention: &str) -> Value {
    let answer = refused(&fx.server, &fx.si, VP_CREATE, request, 400, code);
    let message = answer["messages"][0]["message"].as_str().unwrap();
    assert!(
        message.contains(mention),
        "the message names {mention:?}: {answer}"
    );
    answer
}

// ---- Scenarios -------------------------------------------------------------------------------

/// Templates may mark NUMBER attributes range-provable; their values must be integers; the
/// create response carries `bbsBlsScalars`, the issuer's BBS+ signature must cover them, and the
/// VC names them in `integerMessages`.
fn range_provable_issuance(fx: &Fixture) {
    let ik = fx.issuer.api_key.as_str();
    let blob_create = "/cred/tds/template/blob/create";
    let mut on_string = profile_format();
    on_string[0]["rangeProvable"] = json!(true);
    let answer = refused(
        &fx.server,
        ik,
        blob_create,
        &template_body(&fx.issuer, "Bad Profile", on_string),
        400,
        "INVALID_REQUEST",
    );
    assert_eq!(
        answer["messages"][0]["field"],
        "/credentialFormat/0/rangeProvable"
    );
    let mut not_bool = profile_format();
    not_bool[1]["rangeProvable"] = json!("yes");
    let answer = refused(
        &fx.server,
        ik,
        blob_create,
        &template_body(&fx.issuer, "Bad Profile", not_bool),
        400,
        "INVALID_FORMAT",
    );
    assert_eq!(
        answer["messages"][0]["field"],
        "/credentialFormat/1/rangeProvable"
    );

    // A decimal is a NUMBER but not an integer: refused for a range-provable attribute only.
    let holder = SigningKey::generate(&mut OsRng);
    let mut decimal = holder_values(fx);
    decimal[0]["metadata"]["age"] = json!("30.5");
    let answer = refused(
        &fx.server,
        &fx.si,
        APPLY,
        &application(&holder, decimal),
        400,
        "INVALID_FORMAT",
    );
    assert_eq!(answer["messages"][0]["field"], "/data/0/metadata/age");
    let applied = accepted(
        &fx.server,
        &fx.si,
        APPLY,
        &application(&holder, holder_values(fx)),
    );
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let mut decimal = issuer_values(fx);
    decimal[0]["metadata"]["income"] = json!("5000.25");
    let answer = refused(
        &fx.server,
        ik,
        VC_CREATE,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "data": decimal }),
        400,
        "INVALID_FORMAT",
    );
    assert_eq!(answer["messages"][0]["field"], "/data/0/metadata/income");
    let mut beyond = issuer_values(fx);
    beyond[1]["metadata"]["gradYear"] = json!("99999999999999999999");
    refused(
        &fx.server,
        ik,
        VC_CREATE,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "data": beyond }),
        400,
        "INVALID_FORMAT",
    );
    // The non-range-provable NUMBER height may stay a decimal.
    let mut values = issuer_values(fx);
    values[0]["metadata"]["height"] = json!("170.5");
    let created = accepted(
        &fx.server,
        ik,
        VC_CREATE,
        &json!({ "vcId": vc_id, "issuanceDate": "2025-01-01", "expirationDate": "2099-01-01", "data": values }),
    );
    let expected: Vec<String> = [
        ("personProfile.age", 30),
        ("personProfile.income", 5000),
        ("degreeCertificate.gradYear", 2015),
    ]
    .iter()
    .map(|(path, value)| hex::encode(bbs::integer_message(path, *value).to_scalar_bytes()))
    .collect();
    assert_eq!(created["bbsBlsScalars"], json!(expected), "{created}");
    let (messages, scalars) = create_messages(&created);
    let texts: Vec<String> = messages
        .iter()
        .map(|m| String::from_utf8(m.clone()).unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            format!("id: {}", zcred_model_did(&holder)),
            "personProfile.name: Ali bin Abu".into(),
            "personProfile.age: 30".into(),
            "personProfile.gender: Male".into(),
            "personProfile.nationality: Malaysian".into(),
            "personProfile.class: B2".into(),
            "personProfile.income: 5000".into(),
            "personProfile.idNo: 900101-14-5678".into(),
            "personProfile.height: 170.5".into(),
            "degreeCertificate.university: Universiti Malaya".into(),
            "degreeCertificate.cgpa: 3.9".into(),
            "degreeCertificate.gradYear: 2015".into(),
        ],
        "the §2.6 list is unchanged by range-provable attributes"
    );
    assert_eq!(scalars.len(), 3);
    // A signature over the hashed messages alone does not cover the integers.
    let mut hashed_only = submit_body(&fx.issuer, &vc_id, &created);
    hashed_only["bbsBlsSignData"] = json!(fx
        .issuer
        .bbs
        .sign(&messages, &mut OsRng)
        .unwrap()
        .to_multibase());
    let answer = refused(
        &fx.server,
        ik,
        VC_SUBMIT,
        &hashed_only,
        401,
        "SIGNATURE_MISMATCH",
    );
    assert!(answer.to_string().contains("bbsBlsScalars"), "{answer}");
    let issued = accepted(
        &fx.server,
        ik,
        VC_SUBMIT,
        &submit_body(&fx.issuer, &vc_id, &created),
    );
    let vc = &issued["vc"];
    let bbs_proof = &vc["proof"][0];
    assert_eq!(bbs_proof["type"], "BbsBlsSignature2020");
    assert_eq!(
        bbs_proof["integerMessages"],
        json!([
            "personProfile.age",
            "personProfile.income",
            "degreeCertificate.gradYear"
        ])
    );
    // The VC's signature verifies over the §2.6 list followed by the integer messages.
    let sig = bbs::Signature::from_multibase(bbs_proof["proofValue"].as_str().unwrap()).unwrap();
    let mut all = bbs::Message::hash_all(&messages);
    all.extend(scalars);
    fx.issuer.bbs.public().verify_messages(&all, &sig).unwrap();
    assert!(fx.issuer.bbs.public().verify(&messages, &sig).is_err());
    // It presents: the decimal height is revealed, the integer age proved in range.
    let request = json!({ "vc": vc, "revealedAttributes": ["personProfile.height"],
                          "rangeProof": [{ "attribute": "personProfile.age", "min": 0, "max": 200 }] });
    let vp = fx.present(&holder, &request);
    let outcome = fx.verify(&vp, None);
    assert_valid(
        &outcome,
        vc,
        &json!({ "id": zcred_model_did(&holder),
                 "personProfile": { "height": "170.5", "age": "Verified in range 0-200" } }),
    );
}

/// No `revealedAttributes`, no `rangeProof`: the VC is embedded unchanged.
fn reveal_all(fx: &Fixture) {
    let created = fx.vp_create(&json!({ "vc": fx.vc }));
    let blob = created["blob"].as_str().unwrap();
    assert_eq!(blob, blob.to_lowercase(), "the VP blob is lowercase hex");
    let input = String::from_utf8(hex::decode(blob).unwrap()).unwrap();
    assert!(input.starts_with(&format!("{HEADER}.")), "{input}");
    let vp = fx.vp_submit(&created, &fx.holder);
    check_envelope(&vp, &fx.holder);
    check_holder_proof(&vp, &fx.holder, None);
    let jws = vp["proof"]["jws"].as_str().unwrap();
    assert!(
        jws.starts_with(&format!("{input}.")),
        "the JWS signs the blob"
    );
    assert_eq!(vp["verifiableCredential"][0], fx.vc, "embedded unchanged");
    assert!(vp.get("challenge").is_none());
    let outcome = fx.verify(&vp, None);
    assert_valid(&outcome, &fx.vc, &full_subject(&fx.holder));
    // The alias `vp` of vpObject, and `vcObject` of vc.
    let aliased = accepted(&fx.server, &fx.si, VP_VERIFY, &json!({ "vp": vp }));
    assert_eq!(aliased["verified"], true, "{aliased}");
    let vp = fx.present(&fx.holder, &json!({ "vcObject": fx.vc }));
    assert_eq!(vp["verifiableCredential"][0], fx.vc);
    assert_eq!(fx.verify(&vp, None)["verified"], true);
}

/// Some attributes revealed, across both templates.
fn reveal_some(fx: &Fixture) {
    let revealed = [
        "personProfile.name",
        "personProfile.class",
        "degreeCertificate.university",
    ];
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": revealed }),
    );
    check_envelope(&vp, &fx.holder);
    check_holder_proof(&vp, &fx.holder, None);
    let subject = json!({
        "id": zcred_model_did(&fx.holder),
        "personProfile": { "name": "Ali bin Abu", "class": "B2" },
        "degreeCertificate": { "university": "Universiti Malaya" }
    });
    let derived = &vp["verifiableCredential"][0];
    check_derived(derived, &fx.vc, &subject, &[]);
    let text = vp.to_string();
    // As JSON strings: a bare "3.9" may well occur inside a timestamp such as 06:32:43.968Z.
    for hidden in ["900101-14-5678", "Malaysian", "5000", "3.9"] {
        let quoted = format!("\"{hidden}\"");
        assert!(!text.contains(&quoted), "{hidden} is not disclosed: {text}");
    }
    let outcome = fx.verify(&vp, None);
    assert_valid(&outcome, &fx.vc, &subject);
    // One template's attributes only: the other template object is left out.
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": ["degreeCertificate.cgpa"] }),
    );
    let subject = json!({
        "id": zcred_model_did(&fx.holder),
        "degreeCertificate": { "cgpa": "3.9" }
    });
    assert_valid(&fx.verify(&vp, None), &fx.vc, &subject);
}

/// `revealedAttributes: []`: only the subject's id.
fn hide_all_but_id(fx: &Fixture) {
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": [] }),
    );
    let subject = json!({ "id": zcred_model_did(&fx.holder) });
    check_derived(&vp["verifiableCredential"][0], &fx.vc, &subject, &[]);
    check_holder_proof(&vp, &fx.holder, None);
    assert_valid(&fx.verify(&vp, None), &fx.vc, &subject);
}

/// A path not in the credential, and malformed `revealedAttributes`.
fn bad_revealed_attributes(fx: &Fixture) {
    for path in [
        "personProfile.weight",
        "drivingLicense.name",
        "personProfile",
        "name",
    ] {
        let answer = refused_create(
            fx,
            &json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name", path] }),
            "INVALID_REQUEST",
            path,
        );
        assert_eq!(
            answer["messages"][0]["field"], "/revealedAttributes",
            "{answer}"
        );
    }
    for bad in [json!("personProfile.name"), json!([1]), json!({})] {
        refused(
            &fx.server,
            &fx.si,
            VP_CREATE,
            &json!({ "vc": fx.vc, "revealedAttributes": bad }),
            400,
            "INVALID_FORMAT",
        );
    }
}

/// One range proof over a hidden attribute, with another revealed.
fn one_range_proof(fx: &Fixture) {
    let request = json!({
        "vc": fx.vc,
        "revealedAttributes": ["personProfile.name"],
        "rangeProof": [{ "attribute": "personProfile.age", "min": 18, "max": 65 }],
    });
    let vp = fx.present(&fx.holder, &request);
    check_holder_proof(&vp, &fx.holder, None);
    let derived = &vp["verifiableCredential"][0];
    let shown =
        json!({ "id": zcred_model_did(&fx.holder), "personProfile": { "name": "Ali bin Abu" } });
    // 12 hashed messages (id + 11 attributes), then the integer messages age, income, gradYear.
    check_derived(
        derived,
        &fx.vc,
        &shown,
        &[("personProfile.age", 18, 65, 12)],
    );
    assert!(
        !derived["credentialSubject"]["personProfile"]
            .as_object()
            .unwrap()
            .contains_key("age"),
        "the ranged value stays hidden"
    );
    let outcome = fx.verify(&vp, None);
    assert_valid(
        &outcome,
        &fx.vc,
        &json!({ "id": zcred_model_did(&fx.holder),
                 "personProfile": { "name": "Ali bin Abu", "age": "Verified in range 18-65" } }),
    );
    // The bounds are inclusive, given as numbers or numeric strings.
    let request = json!({
        "vc": fx.vc,
        "revealedAttributes": [],
        "rangeProof": [{ "attribute": "degreeCertificate.gradYear", "min": "2015", "max": 2015 }],
    });
    let vp = fx.present(&fx.holder, &request);
    check_derived(
        &vp["verifiableCredential"][0],
        &fx.vc,
        &json!({ "id": zcred_model_did(&fx.holder) }),
        &[("degreeCertificate.gradYear", 2015, 2015, 14)],
    );
    assert_valid(
        &fx.verify(&vp, None),
        &fx.vc,
        &json!({ "id": zcred_model_did(&fx.holder),
                 "degreeCertificate": { "gradYear": "Verified in range 2015-2015" } }),
    );
}

/// Two range proofs without `revealedAttributes`: everything else is revealed.
fn two_range_proofs(fx: &Fixture) {
    let request = json!({
        "vc": fx.vc,
        "rangeProof": [
            { "attribute": "personProfile.age", "min": 18, "max": 65 },
            { "attribute": "personProfile.income", "min": -1000, "max": 10000 }
        ],
    });
    let vp = fx.present(&fx.holder, &request);
    check_holder_proof(&vp, &fx.holder, None);
    let mut shown = full_subject(&fx.holder);
    let profile = shown["personProfile"].as_object_mut().unwrap();
    profile.shift_remove("age");
    profile.shift_remove("income");
    check_derived(
        &vp["verifiableCredential"][0],
        &fx.vc,
        &shown,
        &[
            ("personProfile.age", 18, 65, 12),
            ("personProfile.income", -1000, 10000, 13),
        ],
    );
    let outcome = fx.verify(&vp, None);
    let details = &outcome["vcDetail"][0]["credentialSubject"];
    assert_eq!(
        details["personProfile"]["age"], "Verified in range 18-65",
        "{outcome}"
    );
    assert_eq!(
        details["personProfile"]["income"],
        "Verified in range -1000-10000"
    );
    let mut expected = full_subject(&fx.holder);
    expected["personProfile"]["age"] = json!("Verified in range 18-65");
    expected["personProfile"]["income"] = json!("Verified in range -1000-10000");
    // Compare as sets of members: a proved range is reported at its path.
    assert_eq!(outcome["verified"], true, "{outcome}");
    assert_eq!(outcome["status"], "valid");
    assert_eq!(outcome["errors"], json!([]));
    assert_eq!(
        sorted(&outcome["vcDetail"][0]["credentialSubject"]),
        sorted(&expected)
    );
}

/// `value` with object members sorted (member order is not what these tests check).
fn sorted(value: &Value) -> String {
    canonical_json(value)
}

/// Range requests the holder cannot prove, or may not ask for.
fn refused_range_proofs(fx: &Fixture) {
    let range = |attribute: &str, min: i64, max: i64| {
        json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name"],
                "rangeProof": [{ "attribute": attribute, "min": min, "max": max }] })
    };
    // The value (30) is outside the range.
    for (min, max) in [(40, 65), (0, 29), (31, 31)] {
        refused_create(
            fx,
            &range("personProfile.age", min, max),
            "INVALID_REQUEST",
            "personProfile.age",
        );
    }
    // min > max.
    refused_create(
        fx,
        &range("personProfile.age", 65, 18),
        "INVALID_REQUEST",
        "personProfile.age",
    );
    // Over a revealed attribute.
    refused_create(
        fx,
        &json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name", "personProfile.age"],
                 "rangeProof": [{ "attribute": "personProfile.age", "min": 18, "max": 65 }] }),
        "INVALID_REQUEST",
        "personProfile.age",
    );
    // Over attributes that are not range-provable: a NUMBER not marked, and a STRING.
    refused_create(
        fx,
        &range("personProfile.height", 100, 200),
        "INVALID_REQUEST",
        "personProfile.height",
    );
    refused_create(
        fx,
        &range("degreeCertificate.cgpa", 0, 4),
        "INVALID_REQUEST",
        "degreeCertificate.cgpa",
    );
    refused_create(
        fx,
        &range("personProfile.gender", 0, 4),
        "INVALID_REQUEST",
        "personProfile.gender",
    );
    // Over an attribute the credential does not have.
    refused_create(
        fx,
        &range("personProfile.weight", 0, 400),
        "INVALID_REQUEST",
        "personProfile.weight",
    );
    // Malformed entries.
    for bad in [
        json!("personProfile.age"),
        json!([{ "attribute": "personProfile.age", "min": "young", "max": 65 }]),
        json!([{ "attribute": "personProfile.age", "min": 1.5, "max": 65 }]),
    ] {
        refused(
            &fx.server,
            &fx.si,
            VP_CREATE,
            &json!({ "vc": fx.vc, "rangeProof": bad }),
            400,
            "INVALID_FORMAT",
        );
    }
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "vc": fx.vc, "rangeProof": [{ "attribute": "personProfile.age", "min": 18 }] }),
        400,
        "MISSING_FIELD",
    );
}

/// The challenge is bound into the signed VP (OP-15); a different expected one fails.
fn wrong_challenge(fx: &Fixture) {
    let nonce = "3f1c7a2e-0b5d-4c8e-9a61-5d2f4e7b8c90";
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name"], "challenge": nonce }),
    );
    check_holder_proof(&vp, &fx.holder, Some(nonce));
    let subject =
        json!({ "id": zcred_model_did(&fx.holder), "personProfile": { "name": "Ali bin Abu" } });
    assert_valid(&fx.verify(&vp, Some(nonce)), &fx.vc, &subject);
    // A challenge the service did not issue is compared, not tracked: it verifies again.
    assert_valid(&fx.verify(&vp, Some(nonce)), &fx.vc, &subject);
    let errors = assert_failed(&fx.verify(&vp, Some("another-nonce")), "invalid");
    assert!(any_contains(&errors, "Challenge mismatch"), "{errors:?}");
    // A VP without a challenge does not satisfy a verifier that expects one.
    let unbound = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name"] }),
    );
    let errors = assert_failed(&fx.verify(&unbound, Some(nonce)), "invalid");
    assert!(any_contains(&errors, "Challenge mismatch"), "{errors:?}");
    // Rewriting the challenge breaks the holder's signature.
    let mut moved = vp.clone();
    moved["challenge"] = json!("another-nonce");
    moved["proof"]["challenge"] = json!("another-nonce");
    let errors = assert_failed(&fx.verify(&moved, Some("another-nonce")), "invalid");
    assert!(
        any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    // proof.challenge must equal the signed challenge.
    let mut copied = vp.clone();
    copied["proof"]["challenge"] = json!("another-nonce");
    let errors = assert_failed(&fx.verify(&copied, Some(nonce)), "invalid");
    assert!(
        any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    // A challenge of 257 characters is refused.
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "vc": fx.vc, "challenge": "x".repeat(257) }),
        400,
        "INVALID_FORMAT",
    );
}

/// A challenge from /cred/v1/vp/challenge is single use.
fn replayed_challenge(fx: &Fixture) {
    let issued = accepted(&fx.server, &fx.si, CHALLENGE, &json!({}));
    let challenge = issued["challenge"].as_str().unwrap().to_owned();
    let groups: Vec<usize> = challenge.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "a UUID: {challenge}");
    assert!(challenge.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_eq!(&challenge[14..15], "4", "version 4: {challenge}");
    let expires = issued["expiresAt"].as_str().unwrap();
    assert!(
        expires.len() == 20 && expires.ends_with('Z'),
        "RFC 3339 UTC: {expires}"
    );
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": [], "challenge": challenge }),
    );
    // A failed verify does not use the challenge up.
    let mut broken = vp.clone();
    broken["holder"] = json!(format!("did:zid:{}", "ab".repeat(32)));
    assert_failed(&fx.verify(&broken, Some(&challenge)), "invalid");
    let subject = json!({ "id": zcred_model_did(&fx.holder) });
    assert_valid(&fx.verify(&vp, Some(&challenge)), &fx.vc, &subject);
    let errors = assert_failed(&fx.verify(&vp, Some(&challenge)), "invalid");
    assert!(
        errors.iter().any(|e| e == "Challenge already used"),
        "{errors:?}"
    );
    // Without naming the challenge, the verifier only checks the VP itself.
    assert_valid(&fx.verify(&vp, None), &fx.vc, &subject);
    // ttlSeconds bounds.
    for bad in [json!(0), json!(3601), json!("soon")] {
        refused(
            &fx.server,
            &fx.si,
            CHALLENGE,
            &json!({ "ttlSeconds": bad }),
            400,
            "INVALID_FORMAT",
        );
    }
    let short = accepted(&fx.server, &fx.si, CHALLENGE, &json!({ "ttlSeconds": 60 }));
    assert_ne!(short["challenge"], issued["challenge"]);
}

/// Presentations made before a revocation verify as revoked afterwards.
fn revoked_credential(fx: &Fixture) {
    let holder = SigningKey::generate(&mut OsRng);
    let vc = issue_profile(fx, &holder, "2025-01-01", "2099-01-01");
    let full = fx.present(&holder, &json!({ "vc": vc }));
    let derived = fx.present(
        &holder,
        &json!({ "vc": vc, "revealedAttributes": ["personProfile.name"],
                 "rangeProof": [{ "attribute": "personProfile.age", "min": 18, "max": 65 }] }),
    );
    assert_eq!(fx.verify(&full, None)["verified"], true);
    assert_eq!(fx.verify(&derived, None)["verified"], true);
    let ik = fx.issuer.api_key.as_str();
    let address = fx.issuer.key.verifying_key().address().to_string();
    let blob = accepted(
        &fx.server,
        ik,
        "/cred/v1/vc/revoke/create",
        &json!({ "vcId": vc["id"], "remark": "presentation test", "issuerAddress": address }),
    );
    let revoked = accepted(
        &fx.server,
        ik,
        "/cred/v1/vc/revoke/submit",
        &signers(&blob, &fx.issuer.key),
    );
    assert_eq!(revoked["status"], "REVOKED");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    for vp in [&full, &derived] {
        let outcome = fx.verify(vp, None);
        let errors = assert_failed(&outcome, "revoked");
        assert_eq!(
            errors[0],
            format!("Credential status is revoked as of {today}"),
            "{outcome}"
        );
    }
    // A presentation can still be built from it (10.1 checks proofs), and verifies as revoked.
    let after = fx.present(&holder, &json!({ "vc": vc, "revealedAttributes": [] }));
    assert_failed(&fx.verify(&after, None), "revoked");
}

/// A credential past its expirationDate verifies as expired.
fn expired_credential(fx: &Fixture) {
    let holder = SigningKey::generate(&mut OsRng);
    let vc = issue_profile(fx, &holder, "2020-01-01", "2021-01-01");
    assert_eq!(vc["expirationDate"], "2021-01-01T00:00:00Z");
    for request in [
        json!({ "vc": vc }),
        json!({ "vc": vc, "revealedAttributes": ["personProfile.name"] }),
        json!({ "vc": vc, "revealedAttributes": [],
                "rangeProof": [{ "attribute": "personProfile.income", "min": 0, "max": 9999 }] }),
    ] {
        let vp = fx.present(&holder, &request);
        let outcome = fx.verify(&vp, None);
        let errors = assert_failed(&outcome, "expired");
        assert!(!any_contains(&errors, "Holder signature"), "{errors:?}");
    }
}

/// A disclosed value changed after submit: the holder's JWS breaks, and so does the BBS+
/// proof (also when the holder signs the changed presentation again).
fn tampered_presentation(fx: &Fixture) {
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name", "personProfile.class"] }),
    );
    let mut forged = vp.clone();
    forged["verifiableCredential"][0]["credentialSubject"]["personProfile"]["class"] = json!("A");
    let errors = assert_failed(&fx.verify(&forged, None), "invalid");
    assert!(
        any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    assert!(any_contains(&errors, "derived proof invalid"), "{errors:?}");
    let resigned = resign(&forged, &fx.holder);
    let errors = assert_failed(&fx.verify(&resigned, None), "invalid");
    assert!(
        !any_contains(&errors, "Holder signature invalid"),
        "the holder signed it: {errors:?}"
    );
    assert!(any_contains(&errors, "derived proof invalid"), "{errors:?}");
    // The untouched presentation re-signed the same way verifies (the re-signing is sound).
    assert_eq!(fx.verify(&resign(&vp, &fx.holder), None)["verified"], true);
    // A revealed value added that was not disclosed.
    let mut added = vp.clone();
    added["verifiableCredential"][0]["credentialSubject"]["personProfile"]["age"] = json!("30");
    let errors = assert_failed(&fx.verify(&resign(&added, &fx.holder), None), "invalid");
    assert!(any_contains(&errors, "derived proof invalid"), "{errors:?}");

    // A full VC changed inside the VP: the issuer JWS and the BBS+ signature break.
    let full = fx.present(&fx.holder, &json!({ "vc": fx.vc }));
    let mut forged = full.clone();
    forged["verifiableCredential"][0]["credentialSubject"]["personProfile"]["income"] =
        json!("9000");
    let errors = assert_failed(&fx.verify(&forged, None), "invalid");
    assert!(
        any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    let errors = assert_failed(&fx.verify(&resign(&forged, &fx.holder), None), "invalid");
    assert!(
        any_contains(&errors, "issuer signature invalid"),
        "{errors:?}"
    );

    // A range changed after the proof was made (a claim the proof does not support).
    let ranged = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": [],
                 "rangeProof": [{ "attribute": "personProfile.age", "min": 18, "max": 65 }] }),
    );
    let mut narrowed = ranged.clone();
    narrowed["verifiableCredential"][0]["proof"][1]["min"] = json!(25);
    narrowed["verifiableCredential"][0]["proof"][1]["max"] = json!(35);
    let errors = assert_failed(&fx.verify(&resign(&narrowed, &fx.holder), None), "invalid");
    assert!(
        any_contains(&errors, "derived proof with ranges invalid"),
        "{errors:?}"
    );
    // The range proof moved to another attribute.
    let mut moved = ranged.clone();
    moved["verifiableCredential"][0]["proof"][1]["attribute"] = json!("personProfile.income");
    moved["verifiableCredential"][0]["proof"][1]["messageIndex"] = json!(13);
    let errors = assert_failed(&fx.verify(&resign(&moved, &fx.holder), None), "invalid");
    assert!(
        any_contains(&errors, "derived proof with ranges invalid"),
        "{errors:?}"
    );
}

/// 10.1 checks the VC's proofs: a changed value, or a changed date, is INVALID_CREDENTIAL.
fn tampered_credential(fx: &Fixture) {
    let mut changed = fx.vc.clone();
    changed["credentialSubject"]["personProfile"]["age"] = json!("17");
    for request in [
        json!({ "vc": changed }),
        json!({ "vc": changed, "revealedAttributes": ["personProfile.name"] }),
        json!({ "vc": changed, "revealedAttributes": [],
                "rangeProof": [{ "attribute": "personProfile.age", "min": 0, "max": 17 }] }),
    ] {
        let answer = refused(
            &fx.server,
            &fx.si,
            VP_CREATE,
            &request,
            400,
            "INVALID_CREDENTIAL",
        );
        assert_eq!(answer["messages"][0]["field"], "/vc");
    }
    // Covered by the JWS alone (api.md §2.10).
    let mut later = fx.vc.clone();
    later["expirationDate"] = json!("2199-01-01T00:00:00Z");
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "vc": later, "revealedAttributes": [] }),
        400,
        "INVALID_CREDENTIAL",
    );
    // A BBS+ signature by another key.
    let mut resigned = fx.vc.clone();
    let other = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    resigned["proof"][0]["proofValue"] = json!(other
        .sign(&[b"id: x".as_slice()], &mut OsRng)
        .unwrap()
        .to_multibase());
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "vc": resigned, "revealedAttributes": [] }),
        400,
        "INVALID_CREDENTIAL",
    );
}

/// Only the subject may present: submit with another key is 401; a VP re-labelled for another
/// holder does not verify.
fn wrong_holder(fx: &Fixture) {
    let other = SigningKey::generate(&mut OsRng);
    let created =
        fx.vp_create(&json!({ "vc": fx.vc, "revealedAttributes": ["personProfile.name"] }));
    let answer = refused(
        &fx.server,
        &fx.si,
        VP_SUBMIT,
        &vp_signed(&created, &other, &other),
        401,
        "SIGNATURE_MISMATCH",
    );
    assert_eq!(answer["messages"][0]["field"], "/ed25519PubKey");
    refused(
        &fx.server,
        &fx.si,
        VP_SUBMIT,
        &vp_signed(&created, &other, &fx.holder),
        401,
        "SIGNATURE_MISMATCH",
    );
    let mut short = vp_signed(&created, &fx.holder, &fx.holder);
    short["ed25519SignData"] = json!("ABCD");
    refused(
        &fx.server,
        &fx.si,
        VP_SUBMIT,
        &short,
        400,
        "INVALID_SIGNATURE_FORMAT",
    );
    let mut unknown = vp_signed(&created, &fx.holder, &fx.holder);
    unknown["blobId"] = json!("00000000000000000000000000000000");
    refused(&fx.server, &fx.si, VP_SUBMIT, &unknown, 404, "NOT_FOUND");
    // The refusals did not use the blob up; the holder's submit does.
    let vp = fx.vp_submit(&created, &fx.holder);
    refused(
        &fx.server,
        &fx.si,
        VP_SUBMIT,
        &vp_signed(&created, &fx.holder, &fx.holder),
        404,
        "NOT_FOUND",
    );
    assert_eq!(fx.verify(&vp, None)["verified"], true);

    // `holder` changed: the JWS no longer verifies under the named holder.
    let mut relabelled = vp.clone();
    relabelled["holder"] = json!(zcred_model_did(&other));
    let errors = assert_failed(&fx.verify(&relabelled, None), "invalid");
    assert!(
        any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    assert!(
        any_contains(&errors, "is not the presentation's holder"),
        "{errors:?}"
    );
    // Another holder presents the credential as its own, signing correctly: the subject is not
    // the holder.
    let errors = assert_failed(&fx.verify(&resign(&relabelled, &other), None), "invalid");
    assert!(
        !any_contains(&errors, "Holder signature invalid"),
        "{errors:?}"
    );
    assert!(
        any_contains(&errors, "is not the presentation's holder"),
        "{errors:?}"
    );
}

/// A credential without range-provable attributes: no `bbsBlsScalars`, no `integerMessages`,
/// a BBS+ signature over the §2.6 list alone (Zetrix-identical); no range proofs from it.
fn plain_credential(fx: &Fixture) {
    let holder = SigningKey::generate(&mut OsRng);
    let (created, vc) = issue_with(
        &fx.server,
        &fx.si,
        &fx.issuer,
        &holder,
        json!([{ "templateId": fx.plain, "metadata": { "name": "Siti", "points": "12" } }]),
        json!({ "issuanceDate": "2025-01-01", "expirationDate": "2099-01-01",
                "data": [{ "templateId": fx.plain, "metadata": { "class": "D" } }] }),
    );
    let members: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(members, ["ed25519Blob", "bbsBlsBase64"], "{created}");
    let bbs_proof = vc["proof"][0].as_object().unwrap();
    let members: Vec<&String> = bbs_proof.keys().collect();
    assert_eq!(
        members,
        [
            "type",
            "created",
            "proofPurpose",
            "proofValue",
            "verificationMethod"
        ]
    );
    let (messages, _) = create_messages(&created);
    let sig = bbs::Signature::from_multibase(bbs_proof["proofValue"].as_str().unwrap()).unwrap();
    fx.issuer.bbs.public().verify(&messages, &sig).unwrap();
    let subject = json!({ "id": zcred_model_did(&holder), "drivingLicense": { "class": "D" } });
    let vp = fx.present(
        &holder,
        &json!({ "vc": vc, "revealedAttributes": ["drivingLicense.class"] }),
    );
    check_derived(&vp["verifiableCredential"][0], &vc, &subject, &[]);
    assert_valid(&fx.verify(&vp, None), &vc, &subject);
    refused_create(
        fx,
        &json!({ "vc": vc, "revealedAttributes": [],
                 "rangeProof": [{ "attribute": "drivingLicense.points", "min": 0, "max": 20 }] }),
        "INVALID_REQUEST",
        "drivingLicense.points",
    );
}

/// Missing or malformed bodies are 400, not `verified: false`.
fn malformed_requests(fx: &Fixture) {
    let answer = refused(
        &fx.server,
        &fx.si,
        VP_VERIFY,
        &json!({ "challenge": "x" }),
        400,
        "MISSING_FIELD",
    );
    assert_eq!(answer["messages"][0]["field"], "/vpObject");
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "revealedAttributes": [] }),
        400,
        "MISSING_FIELD",
    );
    refused(
        &fx.server,
        &fx.si,
        VP_CREATE,
        &json!({ "vc": "not a credential" }),
        400,
        "INVALID_FORMAT",
    );
    let vp = fx.present(
        &fx.holder,
        &json!({ "vc": fx.vc, "revealedAttributes": [] }),
    );
    let shapes = [
        ("type", json!(["VerifiableCredential"])),
        ("holder", json!("not a DID")),
        ("verifiableCredential", json!([])),
        ("proof", json!([])),
    ];
    for (member, value) in shapes {
        let mut bad = vp.clone();
        bad[member] = value;
        let (status, answer) = fx
            .server
            .post(VP_VERIFY, Some(&fx.si), &json!({ "vpObject": bad }));
        assert_eq!(status, 400, "{member}: {answer}");
    }
    // Without an API key.
    let (status, _) = fx.server.post(VP_VERIFY, None, &json!({ "vpObject": vp }));
    assert_eq!(status, 401);
}

#[test]
fn presentations_on_sqlite() {
    presentations(false);
}

/// Every scenario again with each call that has an `/enc/` twin (apply, create, submit,
/// VP create, submit, verify) sealed with zcred-enc-v1 (api.md §6).
#[test]
fn presentations_encrypted_on_sqlite() {
    presentations(true);
}

fn presentations(encrypted: bool) {
    let fx = Fixture::start(encrypted);
    type Scenario = fn(&Fixture);
    let scenarios: [(&str, Scenario); 17] = [
        ("range_provable_issuance", range_provable_issuance),
        ("reveal_all", reveal_all),
        ("reveal_some", reveal_some),
        ("hide_all_but_id", hide_all_but_id),
        ("bad_revealed_attributes", bad_revealed_attributes),
        ("one_range_proof", one_range_proof),
        ("two_range_proofs", two_range_proofs),
        ("refused_range_proofs", refused_range_proofs),
        ("wrong_challenge", wrong_challenge),
        ("replayed_challenge", replayed_challenge),
        ("revoked_credential", revoked_credential),
        ("expired_credential", expired_credential),
        ("tampered_presentation", tampered_presentation),
        ("tampered_credential", tampered_credential),
        ("wrong_holder", wrong_holder),
        ("plain_credential", plain_credential),
        ("malformed_requests", malformed_requests),
    ];
    let only = std::env::var("ZCRED_PRESENTATION_SCENARIO").ok();
    let mut failed = Vec::new();
    for (name, run) in scenarios {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let started = Instant::now();
        match std::panic::catch_unwind(AssertUnwindSafe(|| run(&fx))) {
            Ok(()) => println!("scenario {name}: ok ({:.1?})", started.elapsed()),
            Err(_) => {
                println!("scenario {name}: FAILED ({:.1?})", started.elapsed());
                failed.push(name);
            }
        }
    }
    if encrypted && only.is_none() {
        fx.server
            .assert_only_encrypted("the operator's token for the presentation test");
    }
    fx.stop();
    assert!(failed.is_empty(), "failed scenarios: {failed:?}");
}
