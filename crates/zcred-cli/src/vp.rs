//! `zcred vp create` / `zcred vp verify`: presentations made and checked without a server,
//! with `zcred_model::presentation` (the same code the server runs).
//!
//! Issuer keys come from the command line (`--issuer-key`, `--issuer-bbs-key`, `--issuer-did`)
//! or from a ledger export (`--ledger`): the keys the issuer's KEL has held and its BBS+ keys
//! valid at the time of the check. Credential status needs the ledger and a full credential
//! (its SAID is computed from it); a derived credential's status cannot be looked up offline,
//! which the outcome says in `notes` (the server always checks it).

use serde_json::{json, Value};
use time::OffsetDateTime;
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_crypto::{bbs, OsRng};
use zcred_ledger::{Ledger, Said};
use zcred_model::presentation::{self, IssuerKeySet, RangeRequest, Resolve, Status};
use zcred_model::{canonical, Credential, Did};

use crate::{bad, read_input, Failure, IssuerKeyArgs, Output, VpCommand};

/// Issuer keys and status from the command line or a verified ledger export.
enum Offline {
    Keys {
        did: Did,
        keys: IssuerKeySet,
    },
    Ledger {
        ledger: Box<Ledger>,
        at: OffsetDateTime,
    },
}

impl Offline {
    fn new(args: &IssuerKeyArgs, at: OffsetDateTime) -> Result<Self, Failure> {
        if let Some(path) = &args.ledger {
            let bytes = read_input(path)?;
            let ledger =
                zcred_ledger::verify::verify_stream(&bytes, zcred_ledger::Options::default())
                    .map_err(|f| {
                        bad(format!(
                            "--ledger does not verify at {}: {}",
                            f.at, f.reason
                        ))
                    })?;
            return Ok(Self::Ledger {
                ledger: Box::new(ledger),
                at,
            });
        }
        let (Some(key), Some(bbs_key)) = (&args.issuer_key, &args.issuer_bbs_key) else {
            return Err(bad(
                "give the issuer's keys (--issuer-key and --issuer-bbs-key) or --ledger",
            ));
        };
        let ed25519 =
            VerifyingKey::from_zetrix(key).map_err(|e| bad(format!("--issuer-key: {e}")))?;
        let bbs_key = bbs::PublicKey::from_multibase(bbs_key)
            .map_err(|e| bad(format!("--issuer-bbs-key: {e}")))?;
        let did = match &args.issuer_did {
            Some(d) => Did::parse(d).map_err(|e| bad(format!("--issuer-did: {e}")))?,
            None => Did::of_key(&ed25519),
        };
        Ok(Self::Keys {
            did,
            keys: IssuerKeySet {
                ed25519: vec![ed25519],
                // Given by hand, the key stands for whichever fragment the credential names.
                bbs: vec![(String::new(), bbs_key)],
            },
        })
    }

    /// The keys for `credential`, the given BBS+ key bound to the method it names.
    fn keys_for(&self, did: &Did, method: Option<&str>) -> Option<IssuerKeySet> {
        match self {
            Self::Keys { did: d, keys } if d == did => {
                let mut keys = keys.clone();
                if let (Some(m), Some(first)) = (method, keys.bbs.first_mut()) {
                    first.0 = m.to_owned();
                }
                Some(keys)
            }
            Self::Keys { .. } => None,
            Self::Ledger { ledger, at } => {
                let prefix = zcred_ledger::Key::new(&did.key().ok()?, true).to_string();
                let events: Vec<_> = ledger.kel_events(&prefix).into_iter().cloned().collect();
                zcred_server::vp::issuer_keys(&events, did, *at)
            }
        }
    }
}

/// Resolves with the BBS+ method names found in the presentation.
struct Resolver<'a> {
    offline: &'a Offline,
    methods: Vec<(Did, String)>,
}

impl Resolve for Resolver<'_> {
    fn issuer(&self, did: &Did) -> Result<Option<IssuerKeySet>, String> {
        let method = self
            .methods
            .iter()
            .find(|(d, _)| d == did)
            .map(|(_, m)| m.as_str());
        Ok(self.offline.keys_for(did, method))
    }

    fn status(&self, _vc_id: &str, credential: &Credential) -> Result<Status, String> {
        let Offline::Ledger { ledger, .. } = self.offline else {
            return Ok(Status::Unchecked("no ledger export given".into()));
        };
        if credential.proof_of_type(&["BbsBlsSignature2020"]).is_none() {
            return Ok(Status::Unchecked(
                "a derived credential does not carry the SAID its TEL is keyed by".into(),
            ));
        }
        let said = Said::digest(canonical::to_string(&credential.unsigned()).as_bytes());
        let said = said.to_string();
        Ok(
            match ledger.credentials().find(|c| c.said.to_string() == said) {
                None => Status::NotRecorded,
                Some(c) => match &c.revoked {
                    Some(r) => Status::Revoked(r.dt.chars().take(10).collect()),
                    None => Status::Active,
                },
            },
        )
    }
}

fn method_of(credential: &Value) -> Option<(Did, String)> {
    let issuer = credential.get("issuer")?.as_str()?;
    let proofs = credential.get("proof")?;
    let items: Vec<&Value> = match proofs {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let method = items.into_iter().find_map(|p| {
        let t = p.get("type")?.as_str()?;
        (t == "BbsBlsSignature2020" || t == presentation::DISCLOSURE_PROOF)
            .then(|| p.get("verificationMethod")?.as_str())
            .flatten()
    })?;
    Some((Did::parse(issuer).ok()?, method.to_owned()))
}

fn at_time(at: Option<&str>) -> Result<OffsetDateTime, Failure> {
    match at {
        Some(t) => zcred_model::time::parse(t).map_err(|e| bad(format!("--at: {e}"))),
        None => Ok(OffsetDateTime::now_utc()),
    }
}

fn range_arg(text: &str) -> Result<RangeRequest, Failure> {
    let bad_range = || {
        bad(format!(
            "--range {text}: expected attribute:min:max with integer bounds"
        ))
    };
    let mut parts = text.rsplitn(3, ':');
    let (Some(max), Some(min), Some(attribute)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_range());
    };
    Ok(RangeRequest {
        attribute: attribute.to_owned(),
        min: min.parse().map_err(|_| bad_range())?,
        max: max.parse().map_err(|_| bad_range())?,
    })
}

pub(crate) fn command(cmd: VpCommand) -> Result<Output, Failure> {
    match cmd {
        VpCommand::Create {
            vc,
            reveal,
            range,
            challenge,
            key,
            issuer,
        } => {
            let holder = SigningKey::from_zetrix(&key).map_err(|e| bad(format!("--key: {e}")))?;
            let value: Value = serde_json::from_slice(&read_input(&vc)?)
                .map_err(|e| bad(format!("{} is not JSON: {e}", vc.display())))?;
            let method = method_of(&value);
            let credential = Credential::from_value(value).map_err(bad)?;
            if Did::of_key(&holder.verifying_key()) != *credential.holder() {
                return Err(bad(format!(
                    "--key is not the key of the credential's subject {}",
                    credential.holder()
                )));
            }
            let now = OffsetDateTime::now_utc();
            let offline = Offline::new(&issuer, now)?;
            let keys = offline
                .keys_for(
                    credential.issuer(),
                    method.as_ref().map(|(_, m)| m.as_str()),
                )
                .ok_or_else(|| bad(format!("no keys for the issuer {}", credential.issuer())))?;
            let bbs_key = presentation::check_issued(&credential, &keys)
                .map_err(|e| bad(format!("the credential does not verify: {e}")))?;
            let ranges = range
                .iter()
                .map(|r| range_arg(r))
                .collect::<Result<Vec<_>, _>>()?;
            let revealed = (!reveal.is_empty()).then_some(reveal.as_slice());
            let created = zcred_model::time::format_micros(now);
            let derived = presentation::derive_credential(
                &credential,
                &bbs_key,
                revealed,
                &ranges,
                &created,
                &mut OsRng,
            )
            .map_err(bad)?;
            let p = presentation::unsigned_presentation(
                credential.holder(),
                vec![derived],
                challenge.as_deref(),
            );
            let signature = holder.sign(presentation::signing_input(&p).as_bytes());
            Ok(presentation::finish(p, &signature, &created).into())
        }
        VpCommand::Verify {
            vp,
            challenge,
            at,
            issuer,
        } => {
            let at = at_time(at.as_deref())?;
            let value: Value = serde_json::from_slice(&read_input(&vp)?)
                .map_err(|e| bad(format!("{} is not JSON: {e}", vp.display())))?;
            let offline = Offline::new(&issuer, at)?;
            let methods = value
                .get("verifiableCredential")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(method_of).collect())
                .unwrap_or_default();
            let resolver = Resolver {
                offline: &offline,
                methods,
            };
            let outcome =
                presentation::verify_presentation(&value, challenge.as_deref(), at, &resolver)
                    .map_err(bad)?;
            let mut json = outcome.to_json();
            json["notes"] = json!(outcome.notes);
            Ok(Output {
                json,
                ok: outcome.verified(),
            })
        }
    }
}
