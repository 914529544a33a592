//! The second and third passes: fetching what file diffs need for the files that changed.
//!
//! Each changed pair is either *captured* (both sides' bytes kept, within the per-file cap and
//! the total budget, for a unified or JSON diff) or *streamed* (each side's [`TextProfile`],
//! so a large file is still classified exactly, plus block hashes that locate the first
//! difference). A third pass reads only the first differing block of each streamed pair
//! within the budget, for the exact offset. Every fetched entry's SHA-256 is checked against
//! the first pass, so an input that changes between reads is an error, not a wrong answer.

use std::collections::HashMap;
use std::hash::Hasher as _;

use sha2::{Digest as _, Sha256};

use crate::Caps;
use crate::error::DiffError;
use crate::normalize::{Profiler, TextProfile};
use crate::scan;
use crate::source::Source;
use crate::tar::{HashKeys, TarEntry, Visitor};
use crate::terms::Side;

/// Block size for locating the first difference of a streamed pair.
pub(crate) const BLOCK: u64 = 64 * 1024;

/// How one changed pair is fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Keep both sides' bytes.
    Capture,
    /// Profile both sides; `locate` also finds the exact first difference.
    Stream { locate: bool },
}

/// A regular file present on both sides with different data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pair {
    pub(crate) a: usize,
    pub(crate) b: usize,
    pub(crate) plan: Plan,
}

/// What was fetched for one pair.
#[derive(Debug)]
pub(crate) enum Fetched {
    Captured {
        a: Vec<u8>,
        b: Vec<u8>,
    },
    Streamed {
        a: Box<TextProfile>,
        b: Box<TextProfile>,
        first_difference: Option<u64>,
    },
}

/// One side's view of one pair during the second pass.
enum Taking {
    Bytes(Vec<u8>),
    Profile {
        profiler: Box<Profiler>,
        blocks: Option<BlockHashes>,
    },
}

/// What one side kept of one pair once its data ended: small, whatever the file's size.
enum Took {
    Bytes(Vec<u8>),
    Profile {
        profile: Box<TextProfile>,
        blocks: Option<Vec<u64>>,
    },
}

impl Taking {
    fn finish(self) -> Took {
        match self {
            Taking::Bytes(bytes) => Took::Bytes(bytes),
            Taking::Profile { profiler, blocks } => Took::Profile {
                profile: Box::new(profiler.finish()),
                blocks: blocks.map(BlockHashes::finish),
            },
        }
    }
}

struct BlockHashes {
    keys: HashKeys,
    current: std::hash::DefaultHasher,
    filled: u64,
    done: Vec<u64>,
}

impl BlockHashes {
    fn update(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            let take = ((BLOCK - self.filled) as usize).min(chunk.len());
            self.current.write(&chunk[..take]);
            self.filled += take as u64;
            chunk = &chunk[take..];
            if self.filled == BLOCK {
                self.close();
            }
        }
    }

    fn close(&mut self) {
        self.current.write_u64(self.filled);
        let h = std::mem::replace(&mut self.current, self.keys.hasher());
        self.done.push(h.finish());
        self.filled = 0;
    }

    fn finish(mut self) -> Vec<u64> {
        if self.filled > 0 {
            self.close();
        }
        self.done
    }
}

struct Taken {
    taking: Taking,
    sha256: Sha256,
}

/// The second-pass visitor for one side.
struct Fetcher<'a> {
    entries: &'a [TarEntry],
    wants: HashMap<usize, (usize, Plan)>,
    keys: HashKeys,
    active: Option<(usize, Taken)>,
    results: HashMap<usize, (Took, [u8; 32])>,
    left: usize,
}

impl Visitor for Fetcher<'_> {
    fn entry(&mut self, index: usize, _entry: &TarEntry) -> bool {
        let Some(&(pair, plan)) = self.wants.get(&index) else {
            return false;
        };
        let size = self.entries.get(index).map_or(0, |e| e.size);
        let taking = match plan {
            Plan::Capture => Taking::Bytes(Vec::with_capacity(size as usize)),
            Plan::Stream { locate } => Taking::Profile {
                profiler: Box::new(Profiler::new()),
                blocks: locate.then(|| BlockHashes {
                    keys: self.keys.clone(),
                    current: self.keys.hasher(),
                    filled: 0,
                    done: Vec::new(),
                }),
            },
        };
        self.active = Some((
            pair,
            Taken {
                taking,
                sha256: Sha256::new(),
            },
        ));
        true
    }

    fn data(&mut self, _index: usize, chunk: &[u8]) {
        let Some((_, taken)) = self.active.as_mut() else {
            return;
        };
        taken.sha256.update(chunk);
        match &mut taken.taking {
            Taking::Bytes(bytes) => bytes.extend_from_slice(chunk),
            Taking::Profile { profiler, blocks } => {
                profiler.update(chunk);
                if let Some(blocks) = blocks {
                    blocks.update(chunk);
                }
            }
        }
    }

    fn entry_end(&mut self, _index: usize) {
        if let Some((pair, taken)) = self.active.take() {
            self.results.insert(
                pair,
                (taken.taking.finish(), taken.sha256.finalize().into()),
            );
            self.left = self.left.saturating_sub(1);
        }
    }

    fn done(&self) -> bool {
        self.left == 0
    }
}

/// The third-pass visitor: one block of each located pair.
struct BlockGrab {
    wants: HashMap<usize, (usize, u64)>,
    active: Option<(usize, u64, u64)>,
    results: HashMap<usize, Vec<u8>>,
    left: usize,
}

impl Visitor for BlockGrab {
    fn entry(&mut self, index: usize, _entry: &TarEntry) -> bool {
        let Some(&(pair, block)) = self.wants.get(&index) else {
            return false;
        };
        self.active = Some((pair, block * BLOCK, 0));
        self.results.insert(pair, Vec::new());
        true
    }

    fn data(&mut self, _index: usize, chunk: &[u8]) {
        let Some((pair, start, pos)) = self.active.as_mut() else {
            return;
        };
        let end = *start + BLOCK;
        let (from, to) = (*pos, *pos + chunk.len() as u64);
        *pos = to;
        let (lo, hi) = (from.max(*start), to.min(end));
        if lo < hi {
            if let Some(out) = self.results.get_mut(pair) {
                out.extend_from_slice(&chunk[(lo - from) as usize..(hi - from) as usize]);
            }
        }
    }

    fn entry_end(&mut self, _index: usize) {
        if self.active.take().is_some() {
            self.left = self.left.saturating_sub(1);
        }
    }

    fn done(&self) -> bool {
        self.left == 0
    }
}

/// The sides being compared, with their first-pass records.
pub(crate) struct Sides<'a> {
    pub(crate) sources: [&'a dyn Source; 2],
    pub(crate) entries: [&'a [TarEntry]; 2],
    pub(crate) caps: &'a Caps,
    pub(crate) keys: &'a HashKeys,
}

/// Fetches what each pair's plan needs, reading both sides at once; one result per pair.
pub(crate) fn fetch(sides: &Sides<'_>, pairs: &[Pair]) -> Result<Vec<Option<Fetched>>, DiffError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let pass = |side: Side| {
        let i = side as usize;
        let wants: HashMap<usize, (usize, Plan)> = pairs
            .iter()
            .enumerate()
            .map(|(n, p)| (if i == 0 { p.a } else { p.b }, (n, p.plan)))
            .collect();
        let mut fetcher = Fetcher {
            entries: sides.entries[i],
            left: wants.len(),
            wants,
            keys: sides.keys.clone(),
            active: None,
            results: HashMap::new(),
        };
        scan::revisit(side, sides.sources[i], sides.caps, sides.keys, &mut fetcher)?;
        for (n, p) in pairs.iter().enumerate() {
            let entry = &sides.entries[i][if i == 0 { p.a } else { p.b }];
            match fetcher.results.get(&n) {
                Some((_, sha)) if *sha == entry.sha256 => {}
                _ => {
                    return Err(DiffError::Changed {
                        side,
                        entry: entry.path.to_string(),
                    });
                }
            }
        }
        Ok(fetcher.results)
    };
    let (ra, rb) = scan::both(|| pass(Side::A), || pass(Side::B));
    let (mut ra, mut rb) = (ra?, rb?);
    let mut out = Vec::with_capacity(pairs.len());
    let mut locate: Vec<(usize, u64)> = Vec::new();
    for n in 0..pairs.len() {
        let (Some((ta, _)), Some((tb, _))) = (ra.remove(&n), rb.remove(&n)) else {
            out.push(None);
            continue;
        };
        out.push(match (ta, tb) {
            (Took::Bytes(a), Took::Bytes(b)) => Some(Fetched::Captured { a, b }),
            (
                Took::Profile {
                    profile: pa,
                    blocks: ba,
                },
                Took::Profile {
                    profile: pb,
                    blocks: bb,
                },
            ) => {
                if let (Some(ha), Some(hb)) = (ba, bb) {
                    let k = ha.iter().zip(&hb).take_while(|(x, y)| x == y).count();
                    locate.push((n, k as u64));
                }
                Some(Fetched::Streamed {
                    a: pa,
                    b: pb,
                    first_difference: None,
                })
            }
            _ => None,
        });
    }
    if !locate.is_empty() {
        locate_first_differences(sides, pairs, &locate, &mut out)?;
    }
    Ok(out)
}

/// The third pass: reads the first differing block of each located pair on both sides.
fn locate_first_differences(
    sides: &Sides<'_>,
    pairs: &[Pair],
    locate: &[(usize, u64)],
    out: &mut [Option<Fetched>],
) -> Result<(), DiffError> {
    let pass = |side: Side| {
        let i = side as usize;
        let wants: HashMap<usize, (usize, u64)> = locate
            .iter()
            .map(|&(n, k)| {
                let p = pairs[n];
                (if i == 0 { p.a } else { p.b }, (n, k))
            })
            .collect();
        let mut grab = BlockGrab {
            left: wants.len(),
            wants,
            active: None,
            results: HashMap::new(),
        };
        scan::revisit(side, sides.sources[i], sides.caps, sides.keys, &mut grab)?;
        Ok::<_, DiffError>(grab.results)
    };
    let (ra, rb) = scan::both(|| pass(Side::A), || pass(Side::B));
    let (ra, rb) = (ra?, rb?);
    for &(n, k) in locate {
        let (Some(a), Some(b)) = (ra.get(&n), rb.get(&n)) else {
            continue;
        };
        let common = a.iter().zip(b).take_while(|(x, y)| x == y).count() as u64;
        if let Some(Some(Fetched::Streamed {
            first_difference, ..
        })) = out.get_mut(n)
        {
            *first_difference = Some(k * BLOCK + common);
        }
    }
    Ok(())
}
