//! Where a tarball's bytes go while it is hashed: nowhere, memory up to a size, or an anonymous
//! temporary file, so a later step (a diff) can read it again without a second download.

use std::fs::File;
use std::io::{self, BufWriter, Seek as _, SeekFrom, Write as _};

/// What [`crate::NpmClient::tarball`] keeps of the bytes it hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Only the digests.
    Nothing,
    /// The bytes in memory when the tarball has at most `up_to` bytes (else nothing).
    Memory {
        /// Largest tarball kept, in bytes.
        up_to: u64,
    },
    /// The bytes in an anonymous temporary file (deleted when closed), whatever the size
    /// (the tarball cap still applies).
    Spool,
}

/// The bytes kept of a tarball, as [`Keep`] asked.
#[derive(Debug)]
pub enum Kept {
    /// Nothing: not asked for, or larger than [`Keep::Memory::up_to`].
    Nothing,
    /// The whole tarball in memory.
    Memory(Vec<u8>),
    /// The whole tarball in an anonymous temporary file, positioned at its start.
    Spooled(File),
}

impl Kept {
    /// The bytes, when they were kept in memory.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Kept::Memory(bytes) => Some(bytes),
            Kept::Nothing | Kept::Spooled(_) => None,
        }
    }

    /// The spool file, when the bytes were spooled.
    pub fn into_file(self) -> Option<File> {
        match self {
            Kept::Spooled(file) => Some(file),
            Kept::Nothing | Kept::Memory(_) => None,
        }
    }
}

/// One attempt's copy of the body.
pub(crate) enum Sink {
    Nothing,
    Memory {
        bytes: Vec<u8>,
        up_to: u64,
        over: bool,
    },
    Spool(BufWriter<File>),
}

impl Sink {
    /// A fresh sink (a new temporary file for [`Keep::Spool`]).
    pub(crate) fn new(keep: Keep) -> io::Result<Self> {
        Ok(match keep {
            Keep::Nothing => Sink::Nothing,
            Keep::Memory { up_to } => Sink::Memory {
                bytes: Vec::new(),
                up_to,
                over: false,
            },
            Keep::Spool => Sink::Spool(BufWriter::with_capacity(1 << 20, tempfile::tempfile()?)),
        })
    }

    pub(crate) fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        match self {
            Sink::Nothing => Ok(()),
            Sink::Memory { bytes, up_to, over } => {
                if !*over && (bytes.len() + chunk.len()) as u64 <= *up_to {
                    bytes.extend_from_slice(chunk);
                } else if !*over {
                    *over = true;
                    *bytes = Vec::new();
                }
                Ok(())
            }
            Sink::Spool(file) => file.write_all(chunk),
        }
    }

    /// The kept bytes; a spool file is flushed and rewound.
    pub(crate) fn finish(self) -> io::Result<Kept> {
        Ok(match self {
            Sink::Nothing | Sink::Memory { over: true, .. } => Kept::Nothing,
            Sink::Memory { bytes, .. } => Kept::Memory(bytes),
            Sink::Spool(writer) => {
                let mut file = writer
                    .into_inner()
                    .map_err(io::IntoInnerError::into_error)?;
                file.seek(SeekFrom::Start(0))?;
                Kept::Spooled(file)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn keep(keep: Keep, chunks: &[&[u8]]) -> Kept {
        let mut sink = Sink::new(keep).unwrap();
        for chunk in chunks {
            sink.write(chunk).unwrap();
        }
        sink.finish().unwrap()
    }

    #[test]
    fn memory_keeps_up_to_the_size_and_then_nothing() {
        let fits = keep(Keep::Memory { up_to: 6 }, &[b"abc", b"def"]);
        assert_eq!(fits.into_bytes().unwrap(), b"abcdef");
        let over = keep(Keep::Memory { up_to: 5 }, &[b"abc", b"def", b"g"]);
        assert!(matches!(over, Kept::Nothing));
        assert!(matches!(keep(Keep::Nothing, &[b"abc"]), Kept::Nothing));
    }

    #[test]
    fn a_spool_is_rewound_and_can_be_read_twice() {
        let mut file = keep(Keep::Spool, &[b"abc", b"def"]).into_file().unwrap();
        let mut first = String::new();
        file.read_to_string(&mut first).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut second = String::new();
        file.read_to_string(&mut second).unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("abcdef", "abcdef"));
    }
}
