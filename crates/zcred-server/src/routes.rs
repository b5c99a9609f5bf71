//! Every endpoint, once: the table [`ROUTES`] says method, path, who may call it, what its body
//! holds and which statuses it answers; [`crate::app`] mounts exactly the table's routes, the
//! access middleware reads a route's [`Access`] from it, and `GET /openapi.json` (OpenAPI 3.1)
//! and `GET /docs` (HTML) are rendered from it. A route cannot be served without being
//! documented, nor documented without being served (a unit test binds every row).
//!
//! `/openapi.json` and `/docs` are public, like DID resolution: they hold no data, only the
//! contract, and tools (schemathesis, client generators) fetch them before they have a key.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use serde_json::{json, Map, Value};

use crate::{AppState, Store};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no key.
    Public,
    /// An API key (`Authorization: Bearer zk_…`), checked before anything else (api.md §1.2).
    Key,
    /// The operator's admin token.
    Admin,
}

/// The JSON type of a body member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// An object.
    Obj,
    /// An array of objects.
    Objects,
    /// An array of strings.
    Strings,
    /// An object, or a JSON string holding one, or an array of `{key, value}` (aliases).
    Values,
}

/// One member of a request body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Required (members that have an alias are not: the alias may stand for them).
    pub required: bool,
    /// What it is.
    pub about: &'static str,
}

const fn req(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        about,
    }
}

const fn opt(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        about,
    }
}

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter (axum's and OpenAPI's syntax alike).
    pub path: &'static str,
    /// The group it belongs to.
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Its JSON body's members (a `POST`).
    pub body: &'static [Field],
    /// The statuses it may answer, besides those every route may (401, 413, 429, 500, 503).
    pub statuses: &'static [u16],
    /// For an `/enc/` twin (api.md §6): the plain route whose handler serves it behind the
    /// zcred-enc-v1 layer ([`crate::enc`]). Its body is the envelope, not JSON.
    pub twin: Option<&'static str>,
}

const SIGNED: &[Field] = &[
    req("blobId", Kind::Str, "The blob handle from the matching create"),
    opt(
        "signerList",
        Kind::Objects,
        "1–8 `{signBlob, publicKey}`: Ed25519 signatures (hex) over the hex-decoded blob, and the Zetrix public keys that made them",
    ),
    opt("signBlob", Kind::Str, "Alias: one signature, with `publicKey`"),
    opt("publicKey", Kind::Str, "Alias: the key of `signBlob`"),
];

const TEMPLATE_NAME: Field = req("templateName", Kind::Str, "1–128 characters; a VC type");
const ISSUER_ZID: Field = opt("issuerZid", Kind::Str, "The issuer DID (alias `issuerZID`)");
const FORMAT: Field = req(
    "credentialFormat",
    Kind::Objects,
    "1–100 attributes `{attribute, format, key, mandatory, type}` (api.md §3)",
);
const VERSION: Field = req("version", Kind::Str, "1–32 characters");
const REMARK: Field = opt("remark", Kind::Str, "0–1024 characters");

const TEMPLATE: &[Field] = &[TEMPLATE_NAME, ISSUER_ZID, FORMAT, VERSION, REMARK];

const TEMPLATE_SIGNED_HERE: &[Field] = &[
    TEMPLATE_NAME,
    ISSUER_ZID,
    FORMAT,
    VERSION,
    REMARK,
    req(
        "issuerPrivateKey",
        Kind::Str,
        "The issuer's Zetrix private key (only when the operator enabled server-side signing)",
    ),
];

const DID: Field = req("did", Kind::Str, "The issuer DID (`did:zid:<hex>`)");

/// An `/enc/` twin of the plain route `plain`.
const fn enc_twin(
    path: &'static str,
    plain: &'static str,
    tag: &'static str,
    summary: &'static str,
    statuses: &'static [u16],
) -> Route {
    Route {
        method: "POST",
        path,
        tag,
        summary,
        access: Access::Key,
        body: &[],
        statuses,
        twin: Some(plain),
    }
}

/// The table.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/health",
        tag: "service",
        summary: "The service and its store answer",
        access: Access::Key,
        body: &[],
        statuses: &[200],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/metrics",
        tag: "service",
        summary: "Prometheus metrics: requests and latencies by route, issuances, revocations",
        access: Access::Admin,
        body: &[],
        statuses: &[200, 404],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        tag: "service",
        summary: "This document",
        access: Access::Public,
        body: &[],
        statuses: &[200],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/docs",
        tag: "service",
        summary: "The endpoints as an HTML page",
        access: Access::Public,
        body: &[],
        statuses: &[200],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/bbs/create",
        tag: "bbs",
        summary: "Derive a BBS+ key pair from a seed (api.md §10.0a, OP-2); nothing is stored or logged",
        access: Access::Key,
        body: &[req(
            "seed",
            Kind::Str,
            "A BIP-39 mnemonic (English, single spaces), or hex or base64 of at least 32 bytes; 1–1024 characters",
        )],
        statuses: &[200, 400],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/bbs/vc/sign",
        tag: "bbs",
        summary: "BBS+-sign a message list with a supplied key (api.md §10.0b); nothing is stored",
        access: Access::Key,
        body: &[
            req(
                "publicKeyMultibase",
                Kind::Str,
                "The BBS+ public key (`z…`)",
            ),
            opt(
                "privateKeyMultibase",
                Kind::Str,
                "The BBS+ secret key (or `seed`)",
            ),
            opt(
                "seed",
                Kind::Str,
                "A seed to derive the key from (or `privateKeyMultibase`)",
            ),
            req("data", Kind::Strings, "1–256 base64 messages"),
        ],
        statuses: &[200, 400],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/inception/create",
        tag: "issuer",
        summary: "Onboarding 1: the issuer's KEL inception, to be signed by the issuer",
        access: Access::Key,
        body: &[
            req(
                "publicKey",
                Kind::Str,
                "The issuer's Zetrix public key (`b001…`)",
            ),
            opt(
                "nextPublicKey",
                Kind::Str,
                "The pre-rotated next key (omitted: the KEL commits to `publicKey` itself)",
            ),
        ],
        statuses: &[200, 400, 403, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/inception/submit",
        tag: "issuer",
        summary: "Onboarding 1: submit the signed inception",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/delegation/create",
        tag: "issuer",
        summary:
            "Onboarding 2: delegate the service's anchoring agent (the issuer signs the approval)",
        access: Access::Key,
        body: &[DID],
        statuses: &[200, 400, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/delegation/submit",
        tag: "issuer",
        summary: "Onboarding 2: submit the signed approval; records the agent and its registry",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/attributes/create",
        tag: "issuer",
        summary: "Onboarding 3: BBS+ and X25519 keys as DID attributes with validity",
        access: Access::Key,
        body: &[
            DID,
            opt("bbsPublicKey", Kind::Str, "A BBS+ public key (`z…`)"),
            opt(
                "x25519PublicKey",
                Kind::Str,
                "An X25519 public key (base64url)",
            ),
            opt("validFrom", Kind::Str, "RFC 3339 (default now)"),
            opt("validUntil", Kind::Str, "RFC 3339 (default open)"),
        ],
        statuses: &[200, 400, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/attributes/submit",
        tag: "issuer",
        summary: "Onboarding 3: submit the signed attributes",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/rotation/create",
        tag: "issuer",
        summary: "Rotate the issuer's key to its pre-committed next key (signed with the new key)",
        access: Access::Key,
        body: &[
            DID,
            req(
                "publicKey",
                Kind::Str,
                "The new key: the one the last establishment event committed to",
            ),
            opt("nextPublicKey", Kind::Str, "The new pre-rotated next key"),
        ],
        statuses: &[200, 400, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/rotation/submit",
        tag: "issuer",
        summary: "Submit the issuer's signed rotation",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/agent/rotation/create",
        tag: "issuer",
        summary: "Rotate the service's anchoring agent; the issuer signs the approval",
        access: Access::Key,
        body: &[DID],
        statuses: &[200, 400, 403, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/issuer/agent/rotation/submit",
        tag: "issuer",
        summary: "Submit the signed approval of the agent's rotation",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/tds/template/blob/create",
        tag: "template",
        summary: "7.1 Create Template Blob",
        access: Access::Key,
        body: TEMPLATE,
        statuses: &[200, 400, 403, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/tds/template/create",
        tag: "template",
        summary:
            "7.2 Create Template with server-side signing (off unless the operator enables it)",
        access: Access::Key,
        body: TEMPLATE_SIGNED_HERE,
        statuses: &[200, 400, 403, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/tds/template/submit",
        tag: "template",
        summary: "7.3 Submit Template",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/getAccountMetaData",
        tag: "template",
        summary: "A template's JSON-LD context (query `address`, `key`), for verifiers",
        access: Access::Public,
        body: &[],
        statuses: &[200, 400, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/apply",
        tag: "vc",
        summary: "8.1 Apply VC (holder)",
        access: Access::Key,
        body: &[
            opt(
                "data",
                Kind::Objects,
                "1–10 `{templateId, metadata}` (alias: top-level `templateId` + `metadata`)",
            ),
            opt("templateId", Kind::Str, "Alias: one template"),
            opt("metadata", Kind::Values, "Alias: its values"),
            req(
                "signData",
                Kind::Str,
                "Ed25519 (hex) over canonical JSON of `data` (OP-4)",
            ),
            opt(
                "publicKey",
                Kind::Str,
                "The holder key (alias `holderPublicKey`)",
            ),
            opt("holderPublicKey", Kind::Str, "Alias of `publicKey`"),
        ],
        statuses: &[200, 400, 401, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/create",
        tag: "vc",
        summary: "8.2 Create VC (issuer): the JWS input and the BBS+ messages",
        access: Access::Key,
        body: &[
            req("vcId", Kind::Str, "From 8.1"),
            opt("issuanceDate", Kind::Str, "Date (alias `issuanceData`)"),
            opt("expirationDate", Kind::Str, "Date (alias `expiredDate`)"),
            opt(
                "data",
                Kind::Objects,
                "The issuer's values `{templateId, metadata}`",
            ),
            opt("templateId", Kind::Str, "Alias: one template"),
            opt("metadata", Kind::Values, "Alias: its values"),
        ],
        statuses: &[200, 400, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/submit",
        tag: "vc",
        summary: "8.3 Submit VC (issuer): both signatures; records the issuance",
        access: Access::Key,
        body: &[
            req("vcId", Kind::Str, "A CREATED record"),
            req("ed25519PubKey", Kind::Str, "The issuer's key in force"),
            req(
                "ed25519SignData",
                Kind::Str,
                "Ed25519 (hex) over the hex-decoded `ed25519Blob`",
            ),
            opt(
                "bbsBlsPubKey",
                Kind::Str,
                "The issuer's BBS+ key (alias `bbsB1sPubKey`)",
            ),
            opt(
                "bbsBlsSignData",
                Kind::Str,
                "BBS+ signature (alias `bbsB1SignData`)",
            ),
            opt("keyExpiry", Kind::Int, "Download window, 60–31 536 000 s"),
        ],
        statuses: &[200, 400, 401, 403, 404, 409, 429],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/vc/submit/batch",
        tag: "vc",
        summary: "Many 8.3 submits of one issuer at once (zcred extension): all or nothing; BBS+ signatures checked together, issuances recorded in one transaction",
        access: Access::Key,
        body: &[req(
            "items",
            Kind::Objects,
            "1–100 bodies of 8.3 Submit VC, each for a CREATED record of the same issuer; the answer's `vcs` holds `{vc, downloadExpiryDate}` for each, in order",
        )],
        statuses: &[200, 400, 401, 403, 404, 409, 429],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/download",
        tag: "vc",
        summary: "8.4 Download VC within its window",
        access: Access::Key,
        body: &[
            req("vcId", Kind::Str, "The credential"),
            req("signVcId", Kind::Str, "Ed25519 (hex) over the vcId (OP-4)"),
            opt(
                "isIssuer",
                Kind::Bool,
                "Which key signed (default false: the holder)",
            ),
        ],
        statuses: &[200, 400, 401, 403, 404, 409, 410],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/revoke/create",
        tag: "vc",
        summary: "9.1 Create Revoke VC Blob",
        access: Access::Key,
        body: &[
            req("vcId", Kind::Str, "The credential to revoke"),
            opt("remark", Kind::Str, "The reason (signed)"),
            req("issuerAddress", Kind::Str, "The issuer's Zetrix address"),
        ],
        statuses: &[200, 400, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vc/revoke/submit",
        tag: "vc",
        summary: "9.2 Submit Revoke VC",
        access: Access::Key,
        body: SIGNED,
        statuses: &[200, 400, 401, 403, 404, 409],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vp/challenge",
        tag: "vp",
        summary: "A single-use verifier nonce for a presentation (zcred extension to api.md §10.3)",
        access: Access::Key,
        body: &[opt(
            "ttlSeconds",
            Kind::Int,
            "Lifetime in seconds, 1–3600 (default 300)",
        )],
        statuses: &[200, 400],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vp/create",
        tag: "vp",
        summary: "10.1 Create VP Blob: check a credential and build the unsigned presentation",
        access: Access::Key,
        body: &[
            opt(
                "vc",
                Kind::Obj,
                "The credential as downloaded (alias `vcObject`)",
            ),
            opt("vcObject", Kind::Obj, "Alias of `vc`"),
            opt(
                "revealedAttributes",
                Kind::Strings,
                "Paths `<subjectKey>.<key>` to disclose; omitted: all",
            ),
            opt(
                "rangeProof",
                Kind::Objects,
                "`[{attribute, min, max}]`: prove a hidden rangeProvable value lies in [min, max]",
            ),
            opt(
                "challenge",
                Kind::Str,
                "The verifier's nonce (1–256 characters)",
            ),
        ],
        statuses: &[200, 400],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vp/submit",
        tag: "vp",
        summary: "10.2 Submit VP Signed Data: the holder's signature makes the presentation",
        access: Access::Key,
        body: &[
            req("blobId", Kind::Str, "From 10.1"),
            req(
                "ed25519SignData",
                Kind::Str,
                "The holder's Ed25519 signature over the blob (128 hex)",
            ),
            req("ed25519PubKey", Kind::Str, "The holder's key (`b001…`)"),
        ],
        statuses: &[200, 400, 401, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/cred/v1/vp/verify",
        tag: "vp",
        summary: "10.3 Verify VP: every check; `verified:false` with the reasons when one fails",
        access: Access::Key,
        body: &[
            opt("vpObject", Kind::Obj, "The presentation (alias `vp`)"),
            opt("vp", Kind::Obj, "Alias of `vpObject`"),
            opt(
                "challenge",
                Kind::Str,
                "The expected nonce; one from /cred/v1/vp/challenge is used up",
            ),
        ],
        statuses: &[200, 400],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/cred/v1/enc/keys",
        tag: "enc",
        summary: "The server's zcred-enc-v1 public keys (RSA SPKI, X25519) and their keyId (encryption.md)",
        access: Access::Key,
        body: &[],
        statuses: &[200],
        twin: None,
    },
    enc_twin(
        "/cred/v1/vc/enc/apply",
        "/cred/v1/vc/apply",
        "vc",
        "Apply VC (8.1), end-to-end encrypted (api.md §6)",
        &[200, 400, 401, 404, 409],
    ),
    enc_twin(
        "/cred/v1/vc/enc/create",
        "/cred/v1/vc/create",
        "vc",
        "Create VC (8.2), end-to-end encrypted (api.md §6)",
        &[200, 400, 403, 404, 409],
    ),
    enc_twin(
        "/cred/v1/vc/enc/submit",
        "/cred/v1/vc/submit",
        "vc",
        "Submit VC (8.3), end-to-end encrypted (api.md §6)",
        &[200, 400, 401, 403, 404, 409, 429],
    ),
    enc_twin(
        "/cred/v1/vc/enc/download",
        "/cred/v1/vc/download",
        "vc",
        "Download VC (8.4), end-to-end encrypted (api.md §6)",
        &[200, 400, 401, 403, 404, 409, 410],
    ),
    enc_twin(
        "/cred/v1/vp/enc/create",
        "/cred/v1/vp/create",
        "vp",
        "Create VP blob (10.1), end-to-end encrypted (api.md §6)",
        &[200, 400, 409],
    ),
    enc_twin(
        "/cred/v1/vp/enc/submit",
        "/cred/v1/vp/submit",
        "vp",
        "Submit VP signed data (10.2), end-to-end encrypted (api.md §6)",
        &[200, 400, 401, 404, 409],
    ),
    enc_twin(
        "/cred/v1/vp/enc/verify",
        "/cred/v1/vp/verify",
        "vp",
        "Verify VP (10.3), end-to-end encrypted (api.md §6)",
        &[200, 400, 409],
    ),
    Route {
        method: "POST",
        path: "/zcred/v1/admin/enc/rotate",
        tag: "admin",
        summary: "Make a new zcred-enc-v1 key current; the old one stays accepted for graceSeconds",
        access: Access::Admin,
        body: &[opt(
            "graceSeconds",
            Kind::Int,
            "How long the old key stays accepted, 0–604800 seconds (default 3600)",
        )],
        statuses: &[200, 400, 404, 409],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/1.0/identifiers/{did}",
        tag: "did",
        summary: "An issuer's DID document (Universal Resolver envelope)",
        access: Access::Public,
        body: &[],
        statuses: &[200, 400, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/admin/issuers/approve",
        tag: "admin",
        summary: "Approve an onboarded issuer (due diligence done)",
        access: Access::Admin,
        body: &[DID],
        statuses: &[200, 400, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/admin/sweep",
        tag: "admin",
        summary: "Sweep now: expired blobs, abandoned applications, bodies past their window",
        access: Access::Admin,
        body: &[],
        statuses: &[200, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/admin/plans/set",
        tag: "admin",
        summary: "Define or redefine an operator plan (quotas for the keys made for it)",
        access: Access::Admin,
        body: &[
            req(
                "name",
                Kind::Str,
                "1–32 of a-z, 0-9, '-', '_'; not a built-in plan",
            ),
            req(
                "issuancesPerDay",
                Kind::Int,
                "Issuances per key and UTC day (null: no limit)",
            ),
            req(
                "requestsPerSecond",
                Kind::Int,
                "Requests per key and second (null: no limit)",
            ),
        ],
        statuses: &[200, 400, 404],
        twin: None,
    },
    Route {
        method: "POST",
        path: "/zcred/v1/admin/keys/create",
        tag: "admin",
        summary: "A new API key, shown once",
        access: Access::Admin,
        body: &[
            req(
                "plan",
                Kind::Str,
                "free, standard, unlimited, or an operator plan",
            ),
            opt("issuer", Kind::Str, "The issuer DID to bind the key to"),
        ],
        statuses: &[200, 400, 404],
        twin: None,
    },
];

/// The handler of a table row (`None` for a row nobody wrote a handler for: a unit test
/// fails).
pub fn handler<S: Store>(route: &Route) -> Option<MethodRouter<AppState<S>>> {
    use crate::{admin, attributes, bbs_api, did, issuer, rotation, templates, vc};
    Some(match (route.method, route.twin.unwrap_or(route.path)) {
        ("POST", "/cred/bbs/create") => post(bbs_api::create),
        ("POST", "/cred/bbs/vc/sign") => post(bbs_api::sign),
        ("POST", "/zcred/v1/issuer/inception/create") => post(issuer::create::<S>),
        ("POST", "/zcred/v1/issuer/inception/submit") => post(issuer::submit::<S>),
        ("POST", "/zcred/v1/issuer/delegation/create") => post(issuer::delegation_create::<S>),
        ("POST", "/zcred/v1/issuer/delegation/submit") => post(issuer::delegation_submit::<S>),
        ("POST", "/zcred/v1/issuer/attributes/create") => post(attributes::create::<S>),
        ("POST", "/zcred/v1/issuer/attributes/submit") => post(attributes::submit::<S>),
        ("POST", "/zcred/v1/issuer/rotation/create") => post(rotation::issuer_create::<S>),
        ("POST", "/zcred/v1/issuer/rotation/submit") => post(rotation::issuer_submit::<S>),
        ("POST", "/zcred/v1/issuer/agent/rotation/create") => post(rotation::agent_create::<S>),
        ("POST", "/zcred/v1/issuer/agent/rotation/submit") => post(rotation::agent_submit::<S>),
        ("POST", "/cred/tds/template/blob/create") => post(templates::blob_create::<S>),
        ("POST", "/cred/tds/template/create") => post(templates::create::<S>),
        ("POST", "/cred/tds/template/submit") => post(templates::submit::<S>),
        ("POST", "/cred/v1/vc/apply") => post(vc::apply::<S>),
        ("POST", "/cred/v1/vc/create") => post(vc::create::<S>),
        ("POST", "/cred/v1/vc/submit") => post(vc::submit::<S>),
        ("POST", "/zcred/v1/vc/submit/batch") => post(vc::submit_batch::<S>),
        ("POST", "/cred/v1/vc/download") => post(vc::download::<S>),
        ("POST", "/cred/v1/vc/revoke/create") => post(vc::revoke_create::<S>),
        ("POST", "/cred/v1/vc/revoke/submit") => post(vc::revoke_submit::<S>),
        ("POST", "/cred/v1/vp/challenge") => post(crate::vp::challenge::<S>),
        ("POST", "/cred/v1/vp/create") => post(crate::vp::create::<S>),
        ("POST", "/cred/v1/vp/submit") => post(crate::vp::submit::<S>),
        ("POST", "/cred/v1/vp/verify") => post(crate::vp::verify::<S>),
        ("GET", "/cred/v1/enc/keys") => get(crate::enc::keys::<S>),
        ("POST", "/zcred/v1/admin/enc/rotate") => post(crate::enc::rotate::<S>),
        ("POST", "/zcred/v1/admin/issuers/approve") => post(admin::approve_endpoint::<S>),
        ("POST", "/zcred/v1/admin/keys/create") => post(admin::create_key_endpoint::<S>),
        ("POST", "/zcred/v1/admin/plans/set") => post(admin::set_plan_endpoint::<S>),
        ("POST", "/zcred/v1/admin/sweep") => post(crate::sweep::endpoint::<S>),
        ("GET", "/health") => get(crate::health::<S>),
        ("GET", "/metrics") => get(crate::metrics_endpoint::<S>),
        ("GET", "/openapi.json") => get(openapi_endpoint),
        ("GET", "/docs") => get(docs_endpoint),
        ("GET", "/getAccountMetaData") => get(templates::context::<S>),
        ("GET", "/1.0/identifiers/{did}") => get(did::resolve::<S>),
        _ => return None,
    })
}

/// The `/enc/` twin of the plain route `path`, when it has one (api.md §6).
pub fn twin_of(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.twin == Some(path))
}

/// The access rule of the route a request matched (`None`: no route matched; the key is
/// checked first all the same, api.md §1.4).
pub fn access(matched: Option<&str>) -> Access {
    matched
        .and_then(|path| ROUTES.iter().find(|r| r.path == path))
        .map_or(Access::Key, |r| r.access)
}

fn schema_of(kind: Kind) -> Value {
    match kind {
        Kind::Str => json!({ "type": "string" }),
        Kind::Int => json!({ "type": "integer" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Obj => json!({ "type": "object" }),
        Kind::Objects => json!({ "type": "array", "items": { "type": "object" } }),
        Kind::Strings => json!({ "type": "array", "items": { "type": "string" } }),
        Kind::Values => json!({ "type": ["object", "string", "array"] }),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK: `object` holds the result",
        400 => "Bad request: the message names the member at fault (`field`)",
        401 => "Missing or unknown API key, or a signature that does not verify",
        403 => "The caller may not act for this issuer, or the feature is disabled",
        404 => "Unknown record, blob or endpoint",
        405 => "Wrong method",
        409 => "Illegal state transition, duplicate, or a record that changed meanwhile",
        410 => "The download window has passed",
        413 => "Body larger than 1 MiB",
        429 => "Rate limit or quota exhausted (`Retry-After`)",
        500 => "A bug",
        503 => "The store is unavailable",
        _ => "",
    }
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut op = Map::new();
        op.insert("tags".into(), json!([route.tag]));
        op.insert("summary".into(), json!(route.summary));
        op.insert(
            "operationId".into(),
            json!(format!(
                "{}{}",
                route.method.to_ascii_lowercase(),
                route
                    .path
                    .replace(['/', '.', '{', '}'], "_")
                    .trim_end_matches('_')
            )),
        );
        op.insert(
            "security".into(),
            match route.access {
                Access::Public => json!([]),
                Access::Key => json!([{ "apiKey": [] }]),
                Access::Admin => json!([{ "adminToken": [] }]),
            },
        );
        if route.path.contains("{did}") {
            op.insert(
                "parameters".into(),
                json!([{ "name": "did", "in": "path", "required": true, "schema": { "type": "string" } }]),
            );
        }
        if route.path == "/getAccountMetaData" {
            op.insert(
                "parameters".into(),
                json!([
                    { "name": "address", "in": "query", "required": true, "schema": { "type": "string" } },
                    { "name": "key", "in": "query", "required": true, "schema": { "type": "string" } }
                ]),
            );
        }
        if route.twin.is_some() {
            op.insert(
                "parameters".into(),
                json!([
                    { "name": "keyId", "in": "header", "required": true, "schema": { "type": "string" },
                      "description": "The server key used (`GET /cred/v1/enc/keys`)" },
                    { "name": "secretKey", "in": "header", "required": true, "schema": { "type": "string" },
                      "description": "base64url of RSA-OAEP-SHA256(E ‖ ts) (encryption.md)" }
                ]),
            );
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "description": "base64url(nonce ‖ ciphertext ‖ tag ‖ mac) of the plain twin's JSON body (zcred-enc-v1)",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                }),
            );
        } else if route.method == "POST" {
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in route.body {
                let mut schema = schema_of(field.kind);
                schema["description"] = json!(field.about);
                properties.insert(field.name.into(), schema);
                if field.required {
                    required.push(field.name);
                }
            }
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": required,
                    } } }
                }),
            );
        }
        let mut responses = Map::new();
        let mut statuses: Vec<u16> = route.statuses.to_vec();
        if route.access != Access::Public {
            statuses.push(401);
        }
        statuses.extend([413, 500, 503]);
        if route.access == Access::Key {
            statuses.push(429);
        }
        statuses.sort_unstable();
        statuses.dedup();
        for status in statuses {
            let content = if (route.path == "/metrics" || route.twin.is_some()) && status == 200 {
                json!({ "text/plain": { "schema": { "type": "string" } } })
            } else if route.path == "/docs" && status == 200 {
                json!({ "text/html": { "schema": { "type": "string" } } })
            } else if route.path == "/openapi.json" && status == 200 {
                json!({ "application/json": { "schema": { "type": "object" } } })
            } else if route.path.starts_with("/1.0/identifiers/") {
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Resolution" } } })
            } else {
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Envelope" } } })
            };
            responses.insert(
                status.to_string(),
                json!({ "description": reason(status), "content": content }),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = Value::Object(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zcred",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Zetrix VC API (templates, issuance, download, revocation) with KERI-anchored lifecycle events, and zcred's onboarding, rotation and admin endpoints. Every answer is the envelope {object, messages}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": { "type": "http", "scheme": "bearer", "description": "An API key `zk_…` from `zcred admin key create`" },
                "adminToken": { "type": "http", "scheme": "bearer", "description": "The operator's token (`--admin-token-file`)" },
            },
            "schemas": {
                "Envelope": {
                    "type": "object",
                    "required": ["object", "messages"],
                    "properties": {
                        "object": {},
                        "messages": { "type": "array", "items": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": { "type": "string" },
                                "message": { "type": "string" },
                                "field": { "type": "string" },
                            },
                        } },
                    },
                },
                "Resolution": {
                    "type": "object",
                    "required": ["didDocument", "didResolutionMetadata", "didDocumentMetadata"],
                    "properties": {
                        "didDocument": { "type": ["object", "null"] },
                        "didResolutionMetadata": { "type": "object" },
                        "didDocumentMetadata": { "type": "object" },
                    },
                },
            },
        },
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "")
}

/// The HTML page of [`ROUTES`].
pub fn docs_html() -> String {
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>zcred API</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body><h1>zcred API</h1><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1). Every answer is <code>{object, messages}</code>; send <code>Authorization: Bearer zk_…</code> unless a route is public.</p>",
    );
    for route in ROUTES {
        let access = match route.access {
            Access::Public => "public",
            Access::Key => "API key",
            Access::Admin => "admin token",
        };
        page.push_str(&format!(
            "<h3><code>{} {}</code></h3><p>{} <em>({access})</em></p>",
            route.method,
            escape(route.path),
            escape(route.summary)
        ));
        if !route.body.is_empty() {
            page.push_str("<table><tr><th>member</th><th>type</th><th>required</th><th></th></tr>");
            for f in route.body {
                page.push_str(&format!(
                    "<tr><td><code>{}</code></td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
                    f.name,
                    f.kind,
                    if f.required { "yes" } else { "no" },
                    escape(f.about)
                ));
            }
            page.push_str("</table>");
        }
        let statuses: Vec<String> = route.statuses.iter().map(u16::to_string).collect();
        page.push_str(&format!("<p>Statuses: {}</p>", statuses.join(", ")));
    }
    page.push_str("</body></html>");
    page
}

static OPENAPI: OnceLock<String> = OnceLock::new();
static DOCS: OnceLock<String> = OnceLock::new();

async fn openapi_endpoint() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI.get_or_init(|| openapi().to_string()).as_str(),
    )
        .into_response()
}

async fn docs_endpoint() -> Response {
    Html(DOCS.get_or_init(docs_html).as_str()).into_response()
}

/// The access rule of the route `req` matched; an unknown path under the admin prefix is the
/// operator's (so a mistyped admin path is a 404 for the operator, not a request for a key).
pub fn access_of(req: &Request) -> Access {
    match req.extensions().get::<MatchedPath>() {
        Some(matched) => access(Some(matched.as_str())),
        None if req.uri().path().starts_with(ADMIN_PREFIX) => Access::Admin,
        None => Access::Key,
    }
}

/// The operator's paths.
pub const ADMIN_PREFIX: &str = "/zcred/v1/admin/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_handler_and_one_place() {
        let mut seen = std::collections::BTreeSet::new();
        for route in ROUTES {
            assert!(
                handler::<zcred_store::MemoryStore>(route).is_some(),
                "{} {} has no handler",
                route.method,
                route.path
            );
            assert!(seen.insert(route.path), "{} twice", route.path);
        }
    }

    #[test]
    fn the_document_lists_every_route_with_its_security() {
        let doc = openapi();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            assert!(op.is_object(), "{} missing", route.path);
            let public = op["security"] == json!([]);
            assert_eq!(public, route.access == Access::Public, "{}", route.path);
        }
        assert_eq!(access(Some("/1.0/identifiers/{did}")), Access::Public);
        assert_eq!(access(Some("/cred/v1/vc/apply")), Access::Key);
        assert_eq!(access(Some("/metrics")), Access::Admin);
        assert_eq!(access(None), Access::Key);
    }
}
