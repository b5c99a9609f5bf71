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

/// What a body member's value must be beyond its [`Kind`] (JSON Schema keywords in the
/// document). A string member is never empty unless its rule says so: the readers take an
/// empty string for a missing member (400 `MISSING_FIELD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Nothing more.
    Any,
    /// A string matching this regular expression.
    Pattern(&'static str),
    /// A string of `min..=max` characters, or an array of `min..=max` entries.
    Len(u32, u32),
    /// An integer in `min..=max`.
    Range(i64, i64),
    /// An integer in `min..=max`, or `null`.
    RangeOrNull(i64, i64),
}

/// One member of a request body.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Required (a member with aliases: it or all of its aliases).
    pub required: bool,
    /// What it is.
    pub about: &'static str,
    /// What its value must further be.
    pub rule: Rule,
    /// The member this one is an alias of (sending both is 400).
    pub alias_of: Option<&'static str>,
    /// The members of each entry of an array of objects.
    pub items: &'static [Field],
}

impl Field {
    /// The member, with `rule`.
    const fn with(self, rule: Rule) -> Field {
        Field { rule, ..self }
    }

    /// The member, an array of objects with the members `items`.
    const fn of(self, items: &'static [Field]) -> Field {
        Field { items, ..self }
    }

    /// The member, as an alias of `canonical`.
    const fn alias_of(self, canonical: &'static str) -> Field {
        Field {
            alias_of: Some(canonical),
            ..self
        }
    }
}

const fn req(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        about,
        rule: Rule::Any,
        alias_of: None,
        items: &[],
    }
}

const fn opt(name: &'static str, kind: Kind, about: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        about,
        rule: Rule::Any,
        alias_of: None,
        items: &[],
    }
}

/// A DID (api.md §2.1; uppercase hex is accepted); templateId and vcId have the same form.
const DID_PATTERN: &str = "^did:zid:[0-9a-fA-F]{64}$";
const DID_FORM: Rule = Rule::Pattern(DID_PATTERN);
/// A Zetrix Ed25519 public key (api.md §2.2): `b001`, the key, a checksum; any case.
const ZETRIX_KEY: Rule = Rule::Pattern("^[bB]001[0-9a-fA-F]{72}$");
/// An Ed25519 signature, 128 hex characters in either case (api.md §2.4).
const SIGNATURE: Rule = Rule::Pattern("^[0-9a-fA-F]{128}$");
/// A BBS+ public or secret key, multibase base58btc (api.md §2.5).
const BBS_KEY: Rule = Rule::Pattern("^z[1-9A-HJ-NP-Za-km-z]+$");
/// A BBS+ signature, multibase base64url (api.md §2.5).
const BBS_SIGNATURE: Rule = Rule::Pattern("^u[A-Za-z0-9_-]+$");
/// A blobId: any string of 1–64 characters on input (api.md §1.5).
const BLOB_ID: Rule = Rule::Len(1, 64);

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

/// 8.3 Submit VC, and each item of a batch.
const SUBMIT: &[Field] = &[
    req("vcId", Kind::Str, "A CREATED record").with(DID_FORM),
    req("ed25519PubKey", Kind::Str, "The issuer's key in force").with(ZETRIX_KEY),
    req(
        "ed25519SignData",
        Kind::Str,
        "Ed25519 (hex) over the hex-decoded `ed25519Blob`",
    )
    .with(SIGNATURE),
    req(
        "bbsBlsPubKey",
        Kind::Str,
        "The issuer's BBS+ key (alias `bbsB1sPubKey`)",
    )
    .with(BBS_KEY),
    req(
        "bbsBlsSignData",
        Kind::Str,
        "BBS+ signature (alias `bbsB1SignData`)",
    )
    .with(BBS_SIGNATURE),
    opt("keyExpiry", Kind::Int, "Download window, 60–31 536 000 s")
        .with(Rule::Range(60, 31_536_000)),
];

/// An entry of `signerList`.
const SIGNER: &[Field] = &[
    req(
        "signBlob",
        Kind::Str,
        "Ed25519 (hex) over the hex-decoded blob",
    )
    .with(SIGNATURE),
    req("publicKey", Kind::Str, "The Zetrix public key that made it").with(ZETRIX_KEY),
];

/// An attribute of `credentialFormat` (api.md §3).
const ATTRIBUTE: &[Field] = &[
    req("attribute", Kind::Str, "Display label, 1–128 characters").with(Rule::Len(1, 128)),
    req("key", Kind::Str, "Member name in the credential; not `id`")
        .with(Rule::Pattern("^[A-Za-z][A-Za-z0-9_]{0,63}$")),
    req(
        "format",
        Kind::Str,
        "STRING, NUMBER, DATE or IMAGE (any case; MIME `image/…` for IMAGE)",
    ),
    req(
        "mandatory",
        Kind::Bool,
        "Must have a value by the end of 8.2",
    ),
    req(
        "type",
        Kind::Str,
        "USER (the holder, 8.1), FIXED or APPLICATION (the issuer, 8.2); any case",
    ),
    opt(
        "rangeProvable",
        Kind::Bool,
        "A NUMBER of 64-bit integers that presentations may prove ranges of (OP-11)",
    ),
];

/// An entry of `data`: one template's values.
const VALUES: &[Field] = &[
    req("templateId", Kind::Str, "The template").with(DID_FORM),
    req(
        "metadata",
        Kind::Values,
        "`{key: value}` (or `[{key, value}]`, or a JSON string of the object)",
    ),
];

/// An entry of `rangeProof` (OP-11).
const RANGE: &[Field] = &[
    req(
        "attribute",
        Kind::Str,
        "`<subjectKey>.<key>` of a hidden rangeProvable attribute",
    ),
    req("min", Kind::Int, "Lower bound, inclusive"),
    req("max", Kind::Int, "Upper bound, inclusive"),
];

const SIGNED: &[Field] = &[
    req("blobId", Kind::Str, "The blob handle from the matching create").with(BLOB_ID),
    req(
        "signerList",
        Kind::Objects,
        "1–8 `{signBlob, publicKey}`: Ed25519 signatures (hex) over the hex-decoded blob, and the Zetrix public keys that made them",
    )
    .with(Rule::Len(1, 8))
    .of(SIGNER),
    opt("signBlob", Kind::Str, "Alias: one signature, with `publicKey`")
        .with(SIGNATURE)
        .alias_of("signerList"),
    opt("publicKey", Kind::Str, "Alias: the key of `signBlob`")
        .with(ZETRIX_KEY)
        .alias_of("signerList"),
];

const TEMPLATE_NAME: Field =
    req("templateName", Kind::Str, "1–128 characters; a VC type").with(Rule::Len(1, 128));
const ISSUER_ZID: Field =
    req("issuerZid", Kind::Str, "The issuer DID (alias `issuerZID`)").with(DID_FORM);
const FORMAT: Field = req(
    "credentialFormat",
    Kind::Objects,
    "1–100 attributes `{attribute, format, key, mandatory, type}` (api.md §3)",
)
.with(Rule::Len(1, 100))
.of(ATTRIBUTE);
const VERSION: Field = req("version", Kind::Str, "1–32 characters").with(Rule::Len(1, 32));
const REMARK: Field = opt("remark", Kind::Str, "0–1024 characters").with(Rule::Len(0, 1024));

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

const DID: Field = req("did", Kind::Str, "The issuer DID (`did:zid:<hex>`)").with(DID_FORM);

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
        path: "/livez",
        tag: "service",
        summary: "The process is up (for load balancers; no key, no store read)",
        access: Access::Public,
        body: &[],
        statuses: &[200],
        twin: None,
    },
    Route {
        method: "GET",
        path: "/readyz",
        tag: "service",
        summary: "The node can serve: its store answers and the log's tail since the last verified point verified (503 otherwise, saying which); no key",
        access: Access::Public,
        body: &[],
        statuses: &[200, 503],
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
        )
        .with(Rule::Len(1, 1024))],
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
            )
            .with(BBS_KEY),
            req(
                "privateKeyMultibase",
                Kind::Str,
                "The BBS+ secret key (or `seed`)",
            )
            .with(BBS_KEY),
            opt(
                "seed",
                Kind::Str,
                "A seed to derive the key from (or `privateKeyMultibase`)",
            )
            .with(Rule::Len(1, 1024))
            .alias_of("privateKeyMultibase"),
            req("data", Kind::Strings, "1–256 base64 messages").with(Rule::Len(1, 256)),
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
            )
            .with(ZETRIX_KEY),
            opt(
                "nextPublicKey",
                Kind::Str,
                "The pre-rotated next key (omitted: the KEL commits to `publicKey` itself)",
            )
            .with(ZETRIX_KEY),
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
            opt("bbsPublicKey", Kind::Str, "A BBS+ public key (`z…`)").with(BBS_KEY),
            opt(
                "x25519PublicKey",
                Kind::Str,
                "An X25519 public key (base64url)",
            )
            .with(Rule::Pattern("^[A-Za-z0-9_-]{43}=?$")),
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
            )
            .with(ZETRIX_KEY),
            opt("nextPublicKey", Kind::Str, "The new pre-rotated next key").with(ZETRIX_KEY),
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
            req(
                "data",
                Kind::Objects,
                "1–10 `{templateId, metadata}` (alias: top-level `templateId` + `metadata`)",
            )
            .with(Rule::Len(1, 10))
            .of(VALUES),
            opt("templateId", Kind::Str, "Alias: one template")
                .with(DID_FORM)
                .alias_of("data"),
            opt("metadata", Kind::Values, "Alias: its values").alias_of("data"),
            req(
                "signData",
                Kind::Str,
                "Ed25519 (hex) over canonical JSON of `data` (OP-4)",
            )
            .with(SIGNATURE),
            req(
                "publicKey",
                Kind::Str,
                "The holder key (alias `holderPublicKey`)",
            )
            .with(ZETRIX_KEY),
            opt("holderPublicKey", Kind::Str, "Alias of `publicKey`")
                .with(ZETRIX_KEY)
                .alias_of("publicKey"),
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
            req("vcId", Kind::Str, "From 8.1").with(DID_FORM),
            req("issuanceDate", Kind::Str, "Date (alias `issuanceData`)"),
            opt("expirationDate", Kind::Str, "Date (alias `expiredDate`)"),
            opt(
                "data",
                Kind::Objects,
                "The issuer's values `{templateId, metadata}`",
            )
            .of(VALUES),
            opt("templateId", Kind::Str, "Alias: one template")
                .with(DID_FORM)
                .alias_of("data"),
            opt("metadata", Kind::Values, "Alias: its values").alias_of("data"),
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
        body: SUBMIT,
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
        )
        .with(Rule::Len(1, 100))
        .of(SUBMIT)],
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
            req("vcId", Kind::Str, "The credential").with(DID_FORM),
            req("signVcId", Kind::Str, "Ed25519 (hex) over the vcId (OP-4)").with(SIGNATURE),
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
            req("vcId", Kind::Str, "The credential to revoke").with(DID_FORM),
            opt("remark", Kind::Str, "The reason (signed), 0–256 characters")
                .with(Rule::Len(0, 256)),
            req("issuerAddress", Kind::Str, "The issuer's Zetrix address")
                .with(Rule::Pattern("^ZTX[1-9A-HJ-NP-Za-km-z]{34}$")),
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
        )
        .with(Rule::RangeOrNull(1, 3600))],
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
            req(
                "vc",
                Kind::Obj,
                "The credential as downloaded (alias `vcObject`)",
            ),
            opt("vcObject", Kind::Obj, "Alias of `vc`").alias_of("vc"),
            opt(
                "revealedAttributes",
                Kind::Strings,
                "Paths `<subjectKey>.<key>` to disclose; omitted: all",
            ),
            opt(
                "rangeProof",
                Kind::Objects,
                "`[{attribute, min, max}]`: prove a hidden rangeProvable value lies in [min, max]",
            )
            .with(Rule::Len(0, 8))
            .of(RANGE),
            opt(
                "challenge",
                Kind::Str,
                "The verifier's nonce (1–256 characters)",
            )
            .with(Rule::Len(1, 256)),
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
            req("blobId", Kind::Str, "From 10.1").with(BLOB_ID),
            req(
                "ed25519SignData",
                Kind::Str,
                "The holder's Ed25519 signature over the blob (128 hex)",
            )
            .with(SIGNATURE),
            req("ed25519PubKey", Kind::Str, "The holder's key (`b001…`)").with(ZETRIX_KEY),
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
            req("vpObject", Kind::Obj, "The presentation (alias `vp`)"),
            opt("vp", Kind::Obj, "Alias of `vpObject`").alias_of("vpObject"),
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
        )
        .with(Rule::RangeOrNull(0, 604_800))],
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
        statuses: &[200, 400, 404],
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
            )
            .with(Rule::Pattern("^[a-z0-9_-]{1,32}$")),
            req(
                "issuancesPerDay",
                Kind::Int,
                "Issuances per key and UTC day (null: no limit)",
            )
            .with(Rule::RangeOrNull(0, i64::MAX)),
            req(
                "requestsPerSecond",
                Kind::Int,
                "Requests per key and second (null: no limit)",
            )
            .with(Rule::RangeOrNull(1, u32::MAX as i64 - 1)),
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
            opt("issuer", Kind::Str, "The issuer DID to bind the key to").with(DID_FORM),
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
        ("GET", "/livez") => get(crate::livez),
        ("GET", "/readyz") => get(crate::readyz::<S>),
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

/// The schema of an object with the members `fields`: a member and its alias never both; a
/// required member with aliases: it, or all of them.
fn object_schema(fields: &[Field]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut rules = Vec::new();
    for field in fields {
        let mut schema = schema_of(field);
        schema["description"] = json!(field.about);
        properties.insert(field.name.into(), schema);
        let aliases: Vec<&str> = fields
            .iter()
            .filter(|a| a.alias_of == Some(field.name))
            .map(|a| a.name)
            .collect();
        for alias in &aliases {
            rules.push(json!({ "not": { "required": [field.name, alias] } }));
        }
        if field.required && aliases.is_empty() {
            required.push(field.name);
        } else if field.required {
            rules.push(json!({ "anyOf": [{ "required": [field.name] }, { "required": aliases }] }));
        }
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    if !rules.is_empty() {
        schema["allOf"] = Value::Array(rules);
    }
    schema
}

fn schema_of(field: &Field) -> Value {
    let mut schema = match field.kind {
        Kind::Str => json!({ "type": "string", "minLength": 1 }),
        Kind::Int => json!({ "type": "integer" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Obj => json!({ "type": "object" }),
        Kind::Objects if !field.items.is_empty() => {
            json!({ "type": "array", "items": object_schema(field.items) })
        }
        Kind::Objects => json!({ "type": "array", "items": { "type": "object" } }),
        Kind::Strings => {
            json!({ "type": "array", "items": { "type": "string", "minLength": 1 } })
        }
        Kind::Values => json!({ "type": ["object", "string", "array"] }),
    };
    let (min, max) = match field.kind {
        Kind::Str => ("minLength", "maxLength"),
        Kind::Int => ("minimum", "maximum"),
        _ => ("minItems", "maxItems"),
    };
    match field.rule {
        Rule::Any => {}
        Rule::Pattern(pattern) => schema["pattern"] = json!(pattern),
        Rule::Len(low, high) => {
            schema[min] = json!(low);
            schema[max] = json!(high);
        }
        Rule::Range(low, high) => {
            schema[min] = json!(low);
            schema[max] = json!(high);
        }
        Rule::RangeOrNull(low, high) => {
            schema["type"] = json!(["integer", "null"]);
            schema[min] = json!(low);
            schema[max] = json!(high);
        }
    }
    schema
}

/// The `code`s of an error answer with `status` (api.md §1.4; 405 is the router's).
fn codes(status: u16) -> &'static [&'static str] {
    match status {
        400 | 405 => &[
            "INVALID_REQUEST",
            "INVALID_FORMAT",
            "MISSING_FIELD",
            "INVALID_SIGNATURE_FORMAT",
            "INVALID_CREDENTIAL",
            "UNSUPPORTED",
        ],
        401 => &["UNAUTHENTICATED", "SIGNATURE_MISMATCH"],
        403 => &["FORBIDDEN", "FEATURE_DISABLED"],
        404 => &["NOT_FOUND"],
        409 => &["INVALID_STATE", "DUPLICATE"],
        410 => &["GONE"],
        413 => &["PAYLOAD_TOO_LARGE"],
        429 => &["QUOTA_EXCEEDED", "RATE_LIMITED"],
        _ => &["INTERNAL", "LEDGER_UNAVAILABLE", "RESOLVER_UNAVAILABLE"],
    }
}

/// The envelope of an error answer (api.md §1.3): `object` null, at least one message.
fn error_schema(status: u16) -> Value {
    json!({
        "type": "object",
        "required": ["object", "messages"],
        "properties": {
            "object": { "type": "null" },
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": { "enum": codes(status) },
                        "message": { "type": "string" },
                        "field": { "type": "string" },
                    },
                },
            },
        },
    })
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
    let mut errors = std::collections::BTreeSet::new();
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
                json!([{ "name": "did", "in": "path", "required": true,
                         "schema": { "type": "string", "pattern": DID_PATTERN } }]),
            );
        }
        if route.path == "/getAccountMetaData" {
            op.insert(
                "parameters".into(),
                json!([
                    { "name": "address", "in": "query", "required": true, "schema": { "type": "string" } },
                    { "name": "key", "in": "query", "required": true,
                      "schema": { "type": "string", "pattern": "^template__did:zid:[0-9a-fA-F]{64}$" },
                      "description": "`template__<templateId>`" }
                ]),
            );
        }
        if route.twin.is_some() {
            op.insert(
                "parameters".into(),
                json!([
                    { "name": "keyId", "in": "header", "required": true,
                      "schema": { "type": "string", "minLength": 1 },
                      "description": "The server key used (`GET /cred/v1/enc/keys`)" },
                    { "name": "secretKey", "in": "header", "required": true,
                      "schema": { "type": "string", "minLength": 1 },
                      "description": "base64url of RSA-OAEP-SHA256(E ‖ ts) (encryption.md)" }
                ]),
            );
            // The bare text, or the same text as a JSON string literal (api.md §6).
            let envelope = json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]+={0,2}$" });
            op.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "description": "base64url(nonce ‖ ciphertext ‖ tag ‖ mac) of the plain twin's JSON body (zcred-enc-v1)",
                    "content": {
                        "text/plain": { "schema": envelope },
                        "application/json": { "schema": envelope },
                    }
                }),
            );
        } else if route.method == "POST" {
            let schema = object_schema(route.body);
            // No body reads as `{}` ([`crate::body::Body`]): it may be left out when no member is
            // required.
            let needed = route.body.iter().any(|f| f.required);
            op.insert(
                "requestBody".into(),
                json!({
                    "required": needed,
                    "content": { "application/json": { "schema": schema } }
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
            } else if status == 200 {
                json!({ "application/json": { "schema": { "$ref": "#/components/schemas/Envelope" } } })
            } else {
                errors.insert(status);
                json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/Error{status}") } } })
            };
            let mut response = json!({ "description": reason(status), "content": content });
            if status == 429 {
                response["headers"] = json!({ "Retry-After": {
                    "required": true,
                    "description": "Seconds until a request may succeed",
                    "schema": { "type": "integer", "minimum": 0 },
                } });
            }
            responses.insert(status.to_string(), response);
        }
        op.insert("responses".into(), Value::Object(responses));
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = Value::Object(op);
    }
    let mut schemas = json!({
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
    });
    for status in errors {
        schemas[format!("Error{status}")] = error_schema(status);
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
            "schemas": schemas,
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

    fn operation(doc: &Value, route: &Route) -> Value {
        doc["paths"][route.path][route.method.to_ascii_lowercase()].clone()
    }

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
            None => schema,
        }
    }

    #[test]
    fn every_error_answer_is_the_envelope_with_the_codes_of_its_status() {
        // api.md §1.3 and §1.4: `object` null, at least one message, `code` from the table.
        let doc = openapi();
        for route in ROUTES {
            let responses = operation(&doc, route)["responses"].clone();
            for (status, response) in responses.as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                let schema = &response["content"]["application/json"]["schema"];
                if status == 200 || route.path.starts_with("/1.0/identifiers/") {
                    continue;
                }
                let schema = resolve(&doc, schema);
                assert_eq!(schema["properties"]["object"], json!({ "type": "null" }));
                let messages = &schema["properties"]["messages"];
                assert_eq!(messages["minItems"], 1, "{} {status}", route.path);
                let codes = &messages["items"]["properties"]["code"]["enum"];
                assert_eq!(codes, &json!(codes_of(status)), "{} {status}", route.path);
            }
            if route.access == Access::Key {
                let limited = &responses["429"];
                assert_eq!(limited["headers"]["Retry-After"]["required"], true);
            }
        }
        assert!(codes(400).contains(&"MISSING_FIELD"));
        assert!(codes(401).contains(&"SIGNATURE_MISMATCH"));
        assert!(codes(429).contains(&"QUOTA_EXCEEDED"));
        assert!(codes(500).contains(&"LEDGER_UNAVAILABLE"));
    }

    fn codes_of(status: u16) -> Vec<&'static str> {
        codes(status).to_vec()
    }

    #[test]
    fn members_have_their_forms_and_aliases_exclude_each_other() {
        let doc = openapi();
        for route in ROUTES
            .iter()
            .filter(|r| r.twin.is_none() && r.method == "POST")
        {
            for field in route
                .body
                .iter()
                .chain(route.body.iter().flat_map(|f| f.items))
            {
                let ok = match (field.rule, field.kind) {
                    (Rule::Any, _) => true,
                    (Rule::Pattern(p), Kind::Str) => p.starts_with('^') && p.ends_with('$'),
                    (Rule::Len(low, high), Kind::Str | Kind::Objects | Kind::Strings) => {
                        low <= high
                    }
                    (Rule::Range(low, high) | Rule::RangeOrNull(low, high), Kind::Int) => {
                        low <= high
                    }
                    _ => false,
                };
                assert!(ok, "{} {}: {:?}", route.path, field.name, field.rule);
                if let Some(canonical) = field.alias_of {
                    assert!(
                        route.body.iter().any(|f| f.name == canonical),
                        "{} {} is an alias of nothing",
                        route.path,
                        field.name
                    );
                }
            }
            let schema =
                &operation(&doc, route)["requestBody"]["content"]["application/json"]["schema"];
            for (name, member) in schema["properties"].as_object().unwrap() {
                // An empty string reads as a missing member, so only a rule may allow it.
                if member["type"] == "string" {
                    let empty_allowed = route
                        .body
                        .iter()
                        .any(|f| f.name == name && matches!(f.rule, Rule::Len(0, _)));
                    assert_eq!(
                        member["minLength"],
                        if empty_allowed { 0 } else { 1 },
                        "{} {name}",
                        route.path
                    );
                }
            }
        }
        let submit = ROUTES
            .iter()
            .find(|r| r.path == "/cred/tds/template/submit")
            .unwrap();
        let schema =
            &operation(&doc, submit)["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["required"], json!(["blobId"]));
        let rules = schema["allOf"].as_array().unwrap();
        assert!(rules.contains(&json!({ "not": { "required": ["signerList", "signBlob"] } })));
        assert!(rules.contains(&json!({ "not": { "required": ["signerList", "publicKey"] } })));
        assert!(rules.contains(&json!({ "anyOf": [
            { "required": ["signerList"] },
            { "required": ["signBlob", "publicKey"] }
        ] })));
        let plans = ROUTES
            .iter()
            .find(|r| r.path == "/zcred/v1/admin/plans/set")
            .unwrap();
        let schema =
            &operation(&doc, plans)["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(
            schema["properties"]["issuancesPerDay"]["type"],
            json!(["integer", "null"])
        );
    }

    #[test]
    fn enc_twins_take_the_envelope_as_text_or_a_json_string() {
        // api.md §6: `Content-Type: text/plain`; a JSON string literal is accepted too.
        let doc = openapi();
        for route in ROUTES.iter().filter(|r| r.twin.is_some()) {
            let op = operation(&doc, route);
            let content = &op["requestBody"]["content"];
            assert_eq!(content["text/plain"]["schema"]["type"], "string");
            assert_eq!(content["application/json"]["schema"]["type"], "string");
            let ok = &op["responses"]["200"]["content"];
            assert!(ok["text/plain"].is_object(), "{}", route.path);
        }
    }

    #[test]
    fn a_body_without_required_members_may_be_left_out() {
        let doc = openapi();
        for path in ["/zcred/v1/admin/sweep", "/cred/v1/vp/challenge"] {
            let route = ROUTES.iter().find(|r| r.path == path).unwrap();
            assert_eq!(operation(&doc, route)["requestBody"]["required"], false);
        }
        let apply = ROUTES
            .iter()
            .find(|r| r.path == "/cred/v1/vc/apply")
            .unwrap();
        assert_eq!(operation(&doc, apply)["requestBody"]["required"], true);
    }
}
