//! CESR text streams: messages (an event or ACDC body, framed by its version-string size)
//! each followed by its attachment groups (keri.md §4).

use std::fmt;

use serde_json::Value;

use crate::acdc::Acdc;
use crate::cesr::{Attachments, CesrError};
use crate::event::{Event, EventError};
use crate::said::parse_version;

/// What a message carries.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Payload {
    /// A KEL or TEL event.
    Event(Event),
    /// An ACDC credential.
    Acdc(Acdc),
}

/// One message of a stream.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    /// The body.
    pub payload: Payload,
    /// Its attachments.
    pub attachments: Attachments,
}

impl Message {
    /// An event with attachments.
    pub fn event(event: Event, attachments: Attachments) -> Message {
        Message {
            payload: Payload::Event(event),
            attachments,
        }
    }

    /// The event it carries, if it is not an ACDC.
    pub fn as_event(&self) -> Option<&Event> {
        match &self.payload {
            Payload::Event(e) => Some(e),
            Payload::Acdc(_) => None,
        }
    }

    /// The body's bytes.
    pub fn raw(&self) -> &[u8] {
        match &self.payload {
            Payload::Event(e) => e.raw(),
            Payload::Acdc(a) => a.raw(),
        }
    }

    /// The body followed by the attachments, as stream text.
    pub fn to_text(&self) -> String {
        let mut out = String::from_utf8_lossy(self.raw()).into_owned();
        out.push_str(&self.attachments.to_text());
        out
    }

    /// How the message is named in reports.
    pub fn reference(&self, index: usize) -> EventRef {
        match &self.payload {
            Payload::Event(e) => EventRef {
                index,
                ilk: e.ilk().as_str().to_owned(),
                prefix: e.prefix().to_owned(),
                sn: Some(e.sn()),
                said: e.said().to_string(),
            },
            Payload::Acdc(a) => EventRef {
                index,
                ilk: "acdc".into(),
                prefix: a.issuer().to_owned(),
                sn: None,
                said: a.said().to_owned(),
            },
        }
    }
}

/// Names one message of a stream: its position and, as far as it could be read, what it is.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct EventRef {
    /// Position in the stream, from 0.
    pub index: usize,
    /// Event type (`icp`, `iss`, …, `acdc`), or empty when unreadable.
    #[serde(rename = "t")]
    pub ilk: String,
    /// The log's identifier (`i`).
    #[serde(rename = "i")]
    pub prefix: String,
    /// The sequence number (`s`).
    #[serde(rename = "s")]
    pub sn: Option<u64>,
    /// The SAID (`d`) it carries.
    #[serde(rename = "d")]
    pub said: String,
}

impl fmt::Display for EventRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message {}", self.index)?;
        if !self.ilk.is_empty() {
            write!(f, " ({}", self.ilk)?;
            if !self.prefix.is_empty() {
                write!(f, " of {}", self.prefix)?;
            }
            if let Some(sn) = self.sn {
                write!(f, " at sn {sn}")?;
            }
            if !self.said.is_empty() {
                write!(f, ", d {}", self.said)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Why a stream could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A message body could not be framed (no version string where one must start).
    #[error("{at}: {reason}")]
    Framing {
        /// The message.
        at: Box<EventRef>,
        /// What is wrong.
        reason: String,
    },
    /// The body was framed but refused.
    #[error("{at}: {source}")]
    Event {
        /// The message.
        at: Box<EventRef>,
        /// Why.
        source: EventError,
    },
    /// The attachments could not be read.
    #[error("{at}: attachments: {source}")]
    Attachment {
        /// The message.
        at: Box<EventRef>,
        /// Why.
        source: CesrError,
    },
}

impl StreamError {
    /// What is wrong, without naming the message.
    pub fn reason(&self) -> String {
        match self {
            StreamError::Framing { reason, .. } => reason.clone(),
            StreamError::Event { source, .. } => source.to_string(),
            StreamError::Attachment { source, .. } => format!("attachments: {source}"),
        }
    }

    /// The message it names.
    pub fn at(&self) -> &EventRef {
        match self {
            StreamError::Framing { at, .. }
            | StreamError::Event { at, .. }
            | StreamError::Attachment { at, .. } => at,
        }
    }
}

/// What can be read of a body that failed to parse, to name it.
fn loose_reference(index: usize, body: &[u8]) -> EventRef {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let get = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    EventRef {
        index,
        ilk: get("t"),
        prefix: get("i"),
        sn: value
            .get("s")
            .and_then(Value::as_str)
            .and_then(|s| u64::from_str_radix(s, 16).ok()),
        said: get("d"),
    }
}

/// Reads the messages of a CESR text stream one by one.
#[derive(Debug)]
pub struct StreamReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    index: usize,
    failed: bool,
}

impl<'a> StreamReader<'a> {
    /// A reader over `bytes`. ASCII white space between messages is skipped.
    pub fn new(bytes: &'a [u8]) -> StreamReader<'a> {
        StreamReader {
            bytes,
            pos: 0,
            index: 0,
            failed: false,
        }
    }

    fn next_message(&mut self) -> Result<Message, StreamError> {
        let index = self.index;
        let rest = &self.bytes[self.pos..];
        let framing = |reason: &str| StreamError::Framing {
            at: Box::new(loose_reference(
                index,
                rest.get(..rest.len().min(4096)).unwrap_or(rest),
            )),
            reason: reason.to_owned(),
        };
        if !rest.starts_with(b"{\"v\":\"") || rest.len() < 23 {
            return Err(framing(
                "a message must start with {\"v\":\"<version string>\"",
            ));
        }
        let version =
            std::str::from_utf8(&rest[6..23]).map_err(|_| framing("version string is not text"))?;
        let (_, size) = parse_version(version).map_err(|e| framing(&e.to_string()))?;
        if size > rest.len() {
            return Err(framing(&format!(
                "version string declares {size} bytes but only {} remain",
                rest.len()
            )));
        }
        let body = &rest[..size];
        let payload = if version.starts_with("ACDC") {
            Acdc::parse(body).map(Payload::Acdc)
        } else {
            Event::parse(body).map(Payload::Event)
        }
        .map_err(|source| StreamError::Event {
            at: Box::new(loose_reference(index, body)),
            source,
        })?;
        // Attachments are ASCII and never contain `{`; they end at the first character that
        // does not continue a group, and whatever follows is framed as the next message (so a
        // damaged message start is reported as that message, not as this one's attachments).
        let after = &rest[size..];
        let end = after
            .iter()
            .position(|&b| b == b'{' || !b.is_ascii())
            .unwrap_or(after.len());
        let text = std::str::from_utf8(&after[..end]).unwrap_or_default();
        let mut message = Message {
            payload,
            attachments: Attachments::default(),
        };
        let (attachments, used) =
            Attachments::read(text).map_err(|source| StreamError::Attachment {
                at: Box::new(message.reference(index)),
                source,
            })?;
        message.attachments = attachments;
        self.pos += size + used;
        self.index += 1;
        Ok(message)
    }
}

impl Iterator for StreamReader<'_> {
    type Item = Result<Message, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let result = self.next_message();
        self.failed = result.is_err();
        Some(result)
    }
}

/// Reads a whole stream, stopping at the first bad message.
pub fn parse_stream(bytes: &[u8]) -> Result<Vec<Message>, StreamError> {
    StreamReader::new(bytes).collect()
}
