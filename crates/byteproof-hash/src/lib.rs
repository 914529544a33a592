//! One pass over a tarball's bytes, three digests: SHA-1 (npm's `dist.shasum`), SHA-256 (what
//! byteproof groups registries by) and SHA-512 (npm's `dist.integrity`, as an SRI string).
//!
//! This crate does no I/O of its own: [`MultiHasher`] takes bytes as they arrive (an HTTP body,
//! a file), and [`hash_reader`] drives any [`std::io::Read`]. Large inputs are hashed on one
//! thread per digest when the machine has three cores or more (SHA-512 alone is then the
//! floor), and on two threads otherwise. It also checks a registry's claims
//! ([`check_shasum`], [`check_integrity`]) against the digests of the bytes that were served.

mod sri;

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

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
/// Small inputs are hashed on the caller's thread. Past one chunk (1 MiB) the digests move to
/// threads, so a large input costs about as much as its slowest digest: with three or more
/// cores one thread per digest (SHA-512 alone is then the floor), with two cores SHA-512 on a
/// second thread and SHA-1 + SHA-256 on the caller's (the two halves take about as long).
/// Memory stays bounded: at most [`BUFFERS`] chunks are in flight.
///
/// Implements [`io::Write`], so it can sit at the end of [`io::copy`] or a tee.
pub struct MultiHasher {
    size: u64,
    filling: Vec<u8>,
    engine: Engine,
    cores: usize,
}

enum Engine {
    Inline(Box<Digesters>),
    Threads(Box<Pipeline>),
}

#[derive(Default)]
struct Digesters {
    sha1: sha1::Sha1,
    sha256: sha2::Sha256,
    sha512: sha2::Sha512,
}

impl Digesters {
    fn update(&mut self, bytes: &[u8]) {
        self.sha1.update(bytes);
        self.sha256.update(bytes);
        self.sha512.update(bytes);
    }
}

/// Which digest a worker thread computes.
#[derive(Clone, Copy)]
enum Kind {
    Sha1,
    Sha256,
    Sha512,
}

enum Partial {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// A digest thread: where its chunks go, and the handle that yields its digest.
type Worker = (mpsc::SyncSender<Arc<Vec<u8>>>, JoinHandle<Partial>);

struct Pipeline {
    workers: Vec<Worker>,
    /// On two cores: the caller's share, SHA-1 and SHA-256.
    local: Option<(sha1::Sha1, sha2::Sha256)>,
    in_flight: VecDeque<Arc<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Pipeline {
    fn start(state: Digesters, cores: usize) -> Self {
        let (done_tx, done) = mpsc::channel();
        let kinds: &[Kind] = if cores >= 3 {
            &[Kind::Sha1, Kind::Sha256, Kind::Sha512]
        } else {
            &[Kind::Sha512]
        };
        let Digesters {
            sha1,
            sha256,
            sha512,
        } = state;
        let workers = kinds
            .iter()
            .map(|&kind| {
                let (tx, rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(BUFFERS);
                let done = done_tx.clone();
                let handle = match kind {
                    Kind::Sha1 => spawn_worker(sha1.clone(), rx, done, |h| {
                        Partial::Sha1(h.finalize().into())
                    }),
                    Kind::Sha256 => spawn_worker(sha256.clone(), rx, done, |h| {
                        Partial::Sha256(h.finalize().into())
                    }),
                    Kind::Sha512 => spawn_worker(sha512.clone(), rx, done, |h| {
                        Partial::Sha512(h.finalize().into())
                    }),
                };
                (tx, handle)
            })
            .collect();
        Self {
            workers,
            local: (cores < 3).then_some((sha1, sha256)),
            in_flight: VecDeque::new(),
            done,
        }
    }

    /// A free buffer: a new one while fewer than [`BUFFERS`] exist, else the oldest once
    /// every worker is done with it.
    fn free_buffer(&mut self) -> Vec<u8> {
        if self.in_flight.len() < BUFFERS {
            return Vec::with_capacity(CHUNK);
        }
        loop {
            if let Some(front) = self.in_flight.front_mut() {
                if Arc::get_mut(front).is_some() {
                    let buffer = self.in_flight.pop_front().map(Arc::try_unwrap);
                    if let Some(Ok(mut buffer)) = buffer {
                        buffer.clear();
                        return buffer;
                    }
                }
            }
            if self.done.recv().is_err() {
                return Vec::with_capacity(CHUNK);
            }
        }
    }

    fn send(&mut self, chunk: Vec<u8>) {
        let chunk = Arc::new(chunk);
        for (tx, _) in &self.workers {
            // A worker that is gone has panicked; `finish` reports it.
            let _ = tx.send(Arc::clone(&chunk));
        }
        if let Some((sha1, sha256)) = self.local.as_mut() {
            sha1.update(chunk.as_slice());
            sha256.update(chunk.as_slice());
        }
        self.in_flight.push_back(chunk);
    }

    fn finish(self, size: u64) -> Digests {
        let mut digests = Digests {
            size,
            sha1: [0; 20],
            sha256: [0; 32],
            sha512: [0; 64],
        };
        if let Some((sha1, sha256)) = self.local {
            digests.sha1 = sha1.finalize().into();
            digests.sha256 = sha256.finalize().into();
        }
        for (tx, handle) in self.workers {
            drop(tx);
            match handle.join() {
                Ok(Partial::Sha1(d)) => digests.sha1 = d,
                Ok(Partial::Sha256(d)) => digests.sha256 = d,
                Ok(Partial::Sha512(d)) => digests.sha512 = d,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        digests
    }
}

fn spawn_worker<D: sha1::Digest + Send + 'static>(
    mut digest: D,
    rx: mpsc::Receiver<Arc<Vec<u8>>>,
    done: mpsc::Sender<()>,
    finish: fn(D) -> Partial,
) -> JoinHandle<Partial> {
    std::thread::spawn(move || {
        for chunk in rx {
            digest.update(chunk.as_slice());
            drop(chunk);
            // The caller may be gone after an error; then nobody waits for the signal.
            let _ = done.send(());
        }
        finish(digest)
    })
}

/// How many cores this process may use (its affinity mask, as `taskset` sets it).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Default for MultiHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl MultiHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::with_cores(cores())
    }

    /// A hasher that splits its work as for `cores` cores.
    fn with_cores(cores: usize) -> Self {
        Self {
            size: 0,
            filling: Vec::new(),
            engine: Engine::Inline(Box::default()),
            cores,
        }
    }

    /// Hashes the next chunk.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.size += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.filling.capacity() == 0 {
                self.filling = self.free_buffer();
            }
            let take = (CHUNK - self.filling.len()).min(bytes.len());
            self.filling.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.filling.len() == CHUNK {
                self.dispatch();
            }
        }
    }

    /// Reads `reader` to its end straight into the hasher's buffers (no extra copy).
    pub fn read_from<R: Read>(&mut self, mut reader: R) -> io::Result<()> {
        loop {
            if self.filling.capacity() == 0 {
                self.filling = self.free_buffer();
            }
            let start = self.filling.len();
            self.filling.resize(CHUNK, 0);
            let n = loop {
                match reader.read(&mut self.filling[start..]) {
                    Ok(n) => break n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        self.filling.truncate(start);
                        return Err(err);
                    }
                }
            };
            self.filling.truncate(start + n);
            self.size += n as u64;
            if n == 0 {
                return Ok(());
            }
            if self.filling.len() == CHUNK {
                self.dispatch();
            }
        }
    }

    fn free_buffer(&mut self) -> Vec<u8> {
        match &mut self.engine {
            Engine::Inline(_) => Vec::with_capacity(CHUNK),
            Engine::Threads(p) => p.free_buffer(),
        }
    }

    /// Hands the full buffer to the digests: inline for the first chunk when one core is all
    /// there is, else to the threads (started on the first full chunk).
    fn dispatch(&mut self) {
        let chunk = std::mem::take(&mut self.filling);
        if let Engine::Inline(state) = &mut self.engine {
            let cores = self.cores;
            if cores < 2 {
                state.update(&chunk);
                self.filling = chunk;
                self.filling.clear();
                return;
            }
            let state = std::mem::take(state);
            self.engine = Engine::Threads(Box::new(Pipeline::start(*state, cores)));
        }
        if let Engine::Threads(p) = &mut self.engine {
            p.send(chunk);
        }
    }

    /// Number of bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digests of everything seen.
    pub fn finish(mut self) -> Digests {
        let rest = std::mem::take(&mut self.filling);
        match self.engine {
            Engine::Inline(mut state) => {
                state.update(&rest);
                Digests {
                    size: self.size,
                    sha1: state.sha1.finalize().into(),
                    sha256: state.sha256.finalize().into(),
                    sha512: state.sha512.finalize().into(),
                }
            }
            Engine::Threads(mut p) => {
                if !rest.is_empty() {
                    p.send(rest);
                }
                p.finish(self.size)
            }
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

/// Size of the chunks handed to the digest threads.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the caller and the digest threads; bounds memory to
/// `CHUNK * BUFFERS` whatever the input size.
const BUFFERS: usize = 4;

/// Reads `reader` to its end once and returns its digests (threads as [`MultiHasher`]).
pub fn hash_reader<R: Read>(reader: R) -> io::Result<Digests> {
    let mut hasher = MultiHasher::new();
    hasher.read_from(reader)?;
    Ok(hasher.finish())
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
    fn every_core_split_gives_the_same_digests() {
        let data: Vec<u8> = (0..5 * CHUNK + 123).map(|i| (i * 7 % 253) as u8).collect();
        let expected = {
            let mut d = Digesters::default();
            d.update(&data);
            (d.sha1.finalize(), d.sha256.finalize(), d.sha512.finalize())
        };
        for cores in [1, 2, 3, 8] {
            let mut h = MultiHasher::with_cores(cores);
            for piece in data.chunks(300_007) {
                h.update(piece);
            }
            let d = h.finish();
            assert_eq!(d.sha1[..], expected.0[..], "{cores} cores");
            assert_eq!(d.sha256[..], expected.1[..], "{cores} cores");
            assert_eq!(d.sha512[..], expected.2[..], "{cores} cores");
            assert_eq!(d.size, data.len() as u64);
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
