//! One pass over a tarball's bytes, three digests: SHA-1 (npm's `dist.shasum`), SHA-256 (what
//! byteproof groups registries by) and SHA-512 (npm's `dist.integrity`, as an SRI string).
//!
//! This crate does no I/O of its own: [`MultiHasher`] takes bytes as they arrive (an HTTP body,
//! a file), and [`hash_reader`] drives any [`std::io::Read`]. It also checks a registry's claims
//! ([`check_shasum`], [`check_integrity`]) against the digests of the bytes that were served.

mod sri;

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::mpsc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::Digest as _;

pub use sri::{Algorithm, ClaimCheck, Integrity, IntegrityError, check_integrity, check_shasum};

/// The digests of one byte stream.
#[derive(Clone, PartialEq, Eq)]
pub struct Digests {
    /// Number of bytes hashed.
    pub size: u64,
    /// Raw SHA-1.
    pub sha1: [u8; 20],
    /// Raw SHA-256.
    pub sha256: [u8; 32],
    /// Raw SHA-512.
    pub sha512: [u8; 64],
}

impl Digests {
    /// Lowercase hex SHA-1, the form of npm's `dist.shasum`.
    pub fn sha1_hex(&self) -> String {
        hex(&self.sha1)
    }

    /// Lowercase hex SHA-256.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// Lowercase hex SHA-512.
    pub fn sha512_hex(&self) -> String {
        hex(&self.sha512)
    }

    /// The SRI string npm writes into `dist.integrity`: `sha512-<standard padded base64>`.
    pub fn integrity(&self) -> String {
        format!("sha512-{}", BASE64.encode(self.sha512))
    }

    /// The raw digest for one algorithm, when this crate computes it.
    pub fn get(&self, algorithm: Algorithm) -> Option<&[u8]> {
        match algorithm {
            Algorithm::Sha1 => Some(&self.sha1),
            Algorithm::Sha256 => Some(&self.sha256),
            Algorithm::Sha512 => Some(&self.sha512),
            Algorithm::Sha384 => None,
        }
    }
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("size", &self.size)
            .field("sha1", &self.sha1_hex())
            .field("sha256", &self.sha256_hex())
            .field("integrity", &self.integrity())
            .finish()
    }
}

/// Feeds every byte once through SHA-1, SHA-256 and SHA-512.
///
/// Implements [`io::Write`], so it can sit at the end of [`io::copy`] or a tee.
#[derive(Clone, Default)]
pub struct MultiHasher {
    size: u64,
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    sha512: sha2::Sha512,
}

impl MultiHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hashes the next chunk.
    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha1.update(bytes);
        self.sha256.update(bytes);
        self.sha512.update(bytes);
    }

    /// Number of bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digests of everything seen.
    pub fn finish(self) -> Digests {
        Digests {
            size: self.size,
            sha1: self.sha1.finalize().into(),
            sha256: self.sha256.finalize().into(),
            sha512: self.sha512.finalize().into(),
        }
    }
}

impl io::Write for MultiHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Digests of one slice, for tests and small in-memory tarballs.
pub fn hash_bytes(bytes: &[u8]) -> Digests {
    let mut hasher = MultiHasher::new();
    hasher.update(bytes);
    hasher.finish()
}

/// Size of the chunks [`hash_reader`] reads.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the reading thread and the SHA-512 thread; bounds memory to
/// `CHUNK * BUFFERS` whatever the input size.
const BUFFERS: usize = 4;

/// Reads `reader` to its end once and returns its digests.
///
/// SHA-512 runs on a second thread while this one reads and computes SHA-1 and SHA-256, so a
/// large file costs about as much as its slowest digest rather than the sum of all three.
/// Memory stays bounded: at most a few one-MiB buffers are in flight.
pub fn hash_reader<R: Read>(mut reader: R) -> io::Result<Digests> {
    let first = read_chunk(&mut reader, vec![0; CHUNK])?;
    if first.len() < CHUNK {
        // Everything fit in one chunk: a thread would cost more than it saves.
        return Ok(hash_bytes(&first));
    }

    let (to_worker, worker_rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(BUFFERS);
    let (returned_tx, returned) = mpsc::channel::<Arc<Vec<u8>>>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut sha512 = sha2::Sha512::new();
            for chunk in worker_rx {
                sha512.update(chunk.as_slice());
                // The reader may be gone after an error; then the buffer is simply dropped.
                let _ = returned_tx.send(chunk);
            }
            <[u8; 64]>::from(sha512.finalize())
        });

        let mut size = 0u64;
        let mut sha1 = sha1::Sha1::new();
        let mut sha256 = sha2::Sha256::new();
        let mut allocated = 1;
        let mut chunk = Arc::new(first);
        let outcome = loop {
            size += chunk.len() as u64;
            sha1.update(chunk.as_slice());
            sha256.update(chunk.as_slice());
            let done = chunk.len() < CHUNK;
            if to_worker.send(Arc::clone(&chunk)).is_err() {
                break Err(io::Error::other("the SHA-512 thread stopped early"));
            }
            drop(chunk);
            if done {
                break Ok(());
            }
            let buffer = if let Ok(recycled) = returned.try_recv() {
                recycled
            } else if allocated < BUFFERS {
                allocated += 1;
                Arc::new(vec![0; CHUNK])
            } else {
                match returned.recv() {
                    Ok(recycled) => recycled,
                    Err(_) => break Err(io::Error::other("the SHA-512 thread stopped early")),
                }
            };
            let buffer = Arc::try_unwrap(buffer).unwrap_or_else(|_| vec![0; CHUNK]);
            match read_chunk(&mut reader, buffer) {
                Ok(next) => chunk = Arc::new(next),
                Err(err) => break Err(err),
            }
        };
        drop(to_worker);
        let sha512 = worker
            .join()
            .map_err(|_| io::Error::other("the SHA-512 thread panicked"))?;
        outcome.map(|()| Digests {
            size,
            sha1: sha1.finalize().into(),
            sha256: sha256.finalize().into(),
            sha512,
        })
    })
}

/// Fills `buffer` from `reader` as far as it can; a shorter result means end of input.
fn read_chunk<R: Read>(reader: &mut R, mut buffer: Vec<u8>) -> io::Result<Vec<u8>> {
    buffer.resize(CHUNK, 0);
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// Lowercase hex of raw bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_has_the_well_known_digests() {
        let d = hash_bytes(b"");
        assert_eq!(d.size, 0);
        assert_eq!(d.sha1_hex(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            d.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            d.integrity(),
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
        );
    }

    #[test]
    fn abc_matches_fips_vectors() {
        let d = hash_bytes(b"abc");
        assert_eq!(d.sha1_hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(d.sha512_hex().starts_with("ddaf35a193617aba"));
    }

    #[test]
    fn reader_path_equals_slice_path_across_chunk_boundaries() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17, 9 * CHUNK] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            // A reader that hands out odd-sized pieces, as sockets do.
            let reader = Trickle {
                data: &data,
                step: 7_777,
            };
            let streamed = hash_reader(reader).unwrap();
            assert_eq!(streamed, hash_bytes(&data), "length {len}");
            assert_eq!(streamed.size, len as u64);
        }
    }

    #[test]
    fn read_errors_are_returned_not_hashed() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
        }
        for before in [10, 2 * CHUNK + 5] {
            let err = hash_reader(Broken(before)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        }
    }

    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
}
