//! Where a side's bytes come from: anything that can be read from its start more than once.
//!
//! A streaming diff reads each side once in full, then again only for the few entries whose
//! text must be shown. In-memory bytes are a [`Source`]; the caller supplies file-backed ones
//! (a local `.tgz`, or a download spooled to a temporary file while it was hashed). This crate
//! never opens paths or URLs itself.

use std::io::{self, Read};

/// Bytes that can be opened, from the first byte, as often as needed.
///
/// Every [`Source::open`] must yield the same bytes; a diff that sees them change between
/// reads fails with [`crate::DiffError::Changed`] rather than explain a mix of two inputs.
pub trait Source: Sync {
    /// A fresh reader positioned at the first byte.
    fn open(&self) -> io::Result<Box<dyn Read + Send + '_>>;
}

impl Source for [u8] {
    fn open(&self) -> io::Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self))
    }
}

impl Source for Vec<u8> {
    fn open(&self) -> io::Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(self.as_slice()))
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn open(&self) -> io::Result<Box<dyn Read + Send + '_>> {
        (**self).open()
    }
}
