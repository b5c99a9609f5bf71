//! Shared parts of zcred's fuzz targets: a reader that splits one fuzz input into fields, the
//! fixed keys every target and the seed generator (`examples/gen_corpus.rs`) agree on, the
//! resolver the presentation targets verify against, and the in-process HTTP service of the
//! `http_api` target.
//!
//! Nothing here parses what a target fuzzes: each target hands its input to zcred's own public
//! entry points.

pub mod api;
pub mod fixtures;

/// Splits a fuzz input into fields. Reads past the end give zeros or empty slices, so that every
/// input is some valid split.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    /// One byte (0 when none is left).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A field framed by a one-byte length.
    pub fn short(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8());
        self.take(n)
    }

    /// A field framed by a two-byte length.
    pub fn long(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.take(n)
    }

    /// Whatever is left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// Writes fields the way [`Reader`] reads them (for the seed generator).
#[derive(Debug, Default, Clone)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// One byte.
    pub fn u8(mut self, b: u8) -> Writer {
        self.0.push(b);
        self
    }

    /// A field with a one-byte length; panics past 255 bytes (seeds are ours).
    pub fn short(mut self, bytes: &[u8]) -> Writer {
        let n = u8::try_from(bytes.len()).expect("a short field holds at most 255 bytes");
        self.0.push(n);
        self.0.extend_from_slice(bytes);
        self
    }

    /// A field with a two-byte length; panics past 65535 bytes (seeds are ours).
    pub fn long(mut self, bytes: &[u8]) -> Writer {
        let n = u16::try_from(bytes.len()).expect("a long field holds at most 65535 bytes");
        self.0.extend_from_slice(&n.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// Bytes without a length (the last field).
    pub fn rest(mut self, bytes: &[u8]) -> Writer {
        self.0.extend_from_slice(bytes);
        self
    }
}

/// `data` as text, when it is UTF-8.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
