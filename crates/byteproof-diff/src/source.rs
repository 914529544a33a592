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

/// A file is read with positional reads, so every reader opened on it is independent of the
/// others and of the file's own offset (a spooled download can be read twice, even at once).
#[cfg(unix)]
impl Source for std::fs::File {
    fn open(&self) -> io::Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(PositionalReader {
            file: self,
            offset: 0,
        }))
    }
}

/// Reads a file from an offset of its own with `pread`.
#[cfg(unix)]
struct PositionalReader<'a> {
    file: &'a std::fs::File,
    offset: u64,
}

#[cfg(unix)]
impl Read for PositionalReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let n = self.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::Source as _;

    #[test]
    fn a_file_opens_independent_readers_from_its_start() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"abcdef").unwrap();
        let (mut first, mut second) = (file.open().unwrap(), file.open().unwrap());
        let mut three = [0; 3];
        first.read_exact(&mut three).unwrap();
        assert_eq!(&three, b"abc");
        let mut all = String::new();
        second.read_to_string(&mut all).unwrap();
        assert_eq!(all, "abcdef");
        let mut rest = String::new();
        first.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "def");
    }
}
