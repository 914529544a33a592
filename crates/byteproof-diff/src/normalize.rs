//! Formatting-only changes, decided on a stream: a [`TextProfile`] holds, for one file, whether
//! it is text and the SHA-256 of it under each combination of the normalisations (CRLF → LF,
//! trailing whitespace removed, final newlines removed), so two files can be classified
//! without both being in memory at once.
//!
//! The normalisations apply in the fixed order CRLF, trailing whitespace, final newline, and
//! match the in-memory definitions byte for byte (see the tests). A file whose pending
//! whitespace or newline run exceeds [`MAX_PENDING`] is profiled as "not comparable", which
//! classifies it as modified: the safe side.

use sha2::{Digest as _, Sha256};

use crate::terms::Reason;

/// Longest run of pending bytes (whitespace before a line end, newlines at the end) held.
const MAX_PENDING: usize = 1 << 20;

/// One normalisation step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Norm {
    Crlf,
    TrailingWs,
    EofNewline,
}

impl Norm {
    pub(crate) const ALL: [Norm; 3] = [Norm::Crlf, Norm::TrailingWs, Norm::EofNewline];

    pub(crate) fn reason(self) -> Reason {
        match self {
            Norm::Crlf => Reason::Crlf,
            Norm::TrailingWs => Reason::TrailingWhitespace,
            Norm::EofNewline => Reason::EofNewline,
        }
    }

    fn bit(self) -> u8 {
        match self {
            Norm::Crlf => 1,
            Norm::TrailingWs => 2,
            Norm::EofNewline => 4,
        }
    }
}

/// The step sets whose normalised digests are kept: all three, and each "all but one".
const SETS: [u8; 4] = [7, 6, 5, 3];

/// What classification needs to know about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TextProfile {
    /// Valid UTF-8 without NUL bytes, and every pending run within bounds.
    pub(crate) text: bool,
    /// SHA-256 of the file under each step set of [`SETS`].
    digests: [[u8; 32]; 4],
    /// Whether each single step (in [`Norm::ALL`] order) changes the file.
    changes: [bool; 3],
}

impl TextProfile {
    /// The profile of bytes held in memory.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let mut p = Profiler::new();
        p.update(bytes);
        p.finish()
    }

    fn digest(&self, set: u8) -> Option<&[u8; 32]> {
        SETS.iter()
            .position(|&s| s == set)
            .map(|i| &self.digests[i])
    }
}

/// The formatting reasons that fully explain the difference between two different texts, or
/// `None` when normalising does not make them equal (or either is not text).
pub(crate) fn formatting_reasons(a: &TextProfile, b: &TextProfile) -> Option<Vec<Reason>> {
    if !a.text || !b.text {
        return None;
    }
    let equal = |set: u8| a.digest(set) == b.digest(set);
    if !equal(7) {
        return None;
    }
    let mut needed: Vec<Reason> = Norm::ALL
        .iter()
        .filter(|step| !equal(7 & !step.bit()))
        .map(|s| s.reason())
        .collect();
    if needed.is_empty() {
        // Several steps each explain the difference alone; name those that change a side.
        needed = Norm::ALL
            .iter()
            .enumerate()
            .filter(|&(i, _)| a.changes[i] || b.changes[i])
            .map(|(_, s)| s.reason())
            .collect();
    }
    Some(needed)
}

/// A streaming stage: one normalisation step.
#[derive(Clone, Debug, Default)]
struct Stage {
    step: Option<Norm>,
    pending: Vec<u8>,
    overflow: bool,
    changed: bool,
}

impl Stage {
    fn new(step: Norm) -> Self {
        Self {
            step: Some(step),
            ..Self::default()
        }
    }

    /// Holds `bytes` back (they may be dropped at a line or file end), up to [`MAX_PENDING`].
    fn hold(&mut self, bytes: &[u8]) {
        if self.pending.len() + bytes.len() > MAX_PENDING {
            self.overflow = true;
        } else {
            self.pending.extend_from_slice(bytes);
        }
    }

    /// Emits what was held, then `bytes`, then holds `tail`.
    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8], tail: &[u8]) {
        out.append(&mut self.pending);
        out.extend_from_slice(bytes);
        self.hold(tail);
    }

    /// Takes a segment that contains no line end (for the whitespace step) or no byte other
    /// than `\r`/`\n` after its last kept byte (for the final-newline step): everything up to
    /// its droppable tail is emitted, the tail is held.
    fn segment(&mut self, seg: &[u8], out: &mut Vec<u8>, droppable: fn(u8) -> bool) {
        let keep = seg
            .iter()
            .rposition(|&b| !droppable(b))
            .map_or(0, |i| i + 1);
        if keep == 0 {
            self.hold(seg);
        } else {
            self.emit(out, &seg[..keep], &seg[keep..]);
        }
    }

    fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        match self.step {
            Some(Norm::Crlf) => {
                if !self.pending.is_empty() && !input.is_empty() {
                    // A held `\r`: dropped before `\n`, kept otherwise.
                    self.pending.clear();
                    if input[0] == b'\n' {
                        self.changed = true;
                    } else {
                        out.push(b'\r');
                    }
                }
                while let Some(p) = input.iter().position(|&b| b == b'\r') {
                    out.extend_from_slice(&input[..p]);
                    match input.get(p + 1) {
                        Some(b'\n') => self.changed = true,
                        Some(_) => out.push(b'\r'),
                        None => self.pending.push(b'\r'),
                    }
                    input = &input[p + 1..];
                }
                out.extend_from_slice(input);
            }
            Some(Norm::TrailingWs) => {
                let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\r');
                while let Some(p) = input.iter().position(|&b| b == b'\n') {
                    self.segment(&input[..p], out, ws);
                    self.line_end(out);
                    out.push(b'\n');
                    input = &input[p + 1..];
                }
                self.segment(input, out, ws);
            }
            Some(Norm::EofNewline) => self.segment(input, out, |b| matches!(b, b'\r' | b'\n')),
            None => out.extend_from_slice(input),
        }
    }

    /// At a line end: the held run is `[ \t\r]*`; the whitespace at the end of the line's body
    /// (the line without one final `\r`) is dropped, the final `\r` kept.
    fn line_end(&mut self, out: &mut Vec<u8>) {
        let cr = self.pending.last() == Some(&b'\r');
        let body = &self.pending[..self.pending.len() - usize::from(cr)];
        let keep = body
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(0, |i| i + 1);
        if keep < body.len() {
            self.changed = true;
        }
        out.extend_from_slice(&body[..keep]);
        if cr {
            out.push(b'\r');
        }
        self.pending.clear();
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        match self.step {
            Some(Norm::Crlf) => out.append(&mut self.pending),
            Some(Norm::TrailingWs) => self.line_end(out),
            Some(Norm::EofNewline) => {
                // The held run is `[\r\n]*`: drop `\n` (and a `\r` before it) while the end
                // is a `\n`.
                let mut end = self.pending.len();
                while end > 0 && self.pending[end - 1] == b'\n' {
                    end -= 1;
                    if end > 0 && self.pending[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
                self.changed |= end < self.pending.len();
                out.extend_from_slice(&self.pending[..end]);
                self.pending.clear();
            }
            None => {}
        }
    }
}

/// A chain of stages for one step set, ending in a SHA-256.
#[derive(Clone, Debug)]
struct Chain {
    stages: Vec<Stage>,
    hasher: Sha256,
    bufs: [Vec<u8>; 2],
}

impl Chain {
    fn new(set: u8) -> Self {
        Self {
            stages: Norm::ALL
                .iter()
                .filter(|s| set & s.bit() != 0)
                .map(|&s| Stage::new(s))
                .collect(),
            hasher: Sha256::new(),
            bufs: [Vec::new(), Vec::new()],
        }
    }

    fn run(&mut self, input: &[u8], finish: bool) {
        let [x, y] = &mut self.bufs;
        x.clear();
        x.extend_from_slice(input);
        for stage in &mut self.stages {
            y.clear();
            stage.push(x, y);
            if finish {
                stage.finish(y);
            }
            std::mem::swap(x, y);
        }
        self.hasher.update(&*x);
    }

    fn overflow(&self) -> bool {
        self.stages.iter().any(|s| s.overflow)
    }
}

/// Builds a [`TextProfile`] from chunks.
#[derive(Clone, Debug)]
pub(crate) struct Profiler {
    chains: Vec<Chain>,
    singles: Vec<Stage>,
    utf8_tail: Vec<u8>,
    text: bool,
}

impl Profiler {
    pub(crate) fn new() -> Self {
        Self {
            chains: SETS.iter().map(|&s| Chain::new(s)).collect(),
            singles: Norm::ALL.iter().map(|&s| Stage::new(s)).collect(),
            utf8_tail: Vec::new(),
            text: true,
        }
    }

    pub(crate) fn update(&mut self, chunk: &[u8]) {
        if self.text {
            self.text = !chunk.contains(&0) && self.utf8(chunk);
        }
        if !self.text {
            return;
        }
        for chain in &mut self.chains {
            chain.run(chunk, false);
        }
        let mut sink = Vec::new();
        for single in &mut self.singles {
            sink.clear();
            single.push(chunk, &mut sink);
        }
    }

    /// Streaming UTF-8 validation: a character cut at a chunk boundary is completed by the
    /// next chunk.
    fn utf8(&mut self, mut chunk: &[u8]) -> bool {
        while !self.utf8_tail.is_empty() {
            let Some((&b, rest)) = chunk.split_first() else {
                return true;
            };
            self.utf8_tail.push(b);
            chunk = rest;
            match std::str::from_utf8(&self.utf8_tail) {
                Ok(_) => self.utf8_tail.clear(),
                Err(e) if e.error_len().is_some() => return false,
                Err(_) => {}
            }
        }
        match std::str::from_utf8(chunk) {
            Ok(_) => true,
            Err(e) if e.error_len().is_some() => false,
            Err(e) => {
                self.utf8_tail.extend_from_slice(&chunk[e.valid_up_to()..]);
                true
            }
        }
    }

    pub(crate) fn finish(mut self) -> TextProfile {
        let mut digests = [[0u8; 32]; 4];
        let mut text = self.text && self.utf8_tail.is_empty();
        if text {
            for (slot, chain) in digests.iter_mut().zip(&mut self.chains) {
                chain.run(&[], true);
                text &= !chain.overflow();
                *slot = std::mem::replace(&mut chain.hasher, Sha256::new())
                    .finalize()
                    .into();
            }
        }
        let mut sink = Vec::new();
        let mut changes = [false; 3];
        for (slot, single) in changes.iter_mut().zip(&mut self.singles) {
            single.finish(&mut sink);
            *slot = single.changed;
        }
        TextProfile {
            text,
            digests,
            changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-memory definitions the streaming stages must match.
    fn reference(bytes: &[u8], steps: &[Norm]) -> Vec<u8> {
        let mut out: Vec<u8> = if steps.contains(&Norm::Crlf) {
            let mut v = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                    v.push(bytes[i]);
                }
                i += 1;
            }
            v
        } else {
            bytes.to_vec()
        };
        if steps.contains(&Norm::TrailingWs) {
            let mut v = Vec::new();
            for (n, line) in out.split(|&b| b == b'\n').enumerate() {
                if n > 0 {
                    v.push(b'\n');
                }
                let (body, cr) = match line.strip_suffix(b"\r") {
                    Some(body) => (body, true),
                    None => (line, false),
                };
                let end = body
                    .iter()
                    .rposition(|&b| b != b' ' && b != b'\t')
                    .map_or(0, |p| p + 1);
                v.extend_from_slice(&body[..end]);
                if cr {
                    v.push(b'\r');
                }
            }
            out = v;
        }
        if steps.contains(&Norm::EofNewline) {
            while out.last() == Some(&b'\n') {
                out.pop();
                if out.last() == Some(&b'\r') {
                    out.pop();
                }
            }
        }
        out
    }

    fn streamed(bytes: &[u8], set: u8, piece: usize) -> Vec<u8> {
        let mut chain = Chain::new(set);
        let mut out = Vec::new();
        for part in bytes.chunks(piece.max(1)) {
            chain.run(part, false);
            out.extend_from_slice(&chain.bufs[0]);
        }
        chain.run(&[], true);
        out.extend_from_slice(&chain.bufs[0]);
        out
    }

    #[test]
    fn streaming_stages_match_the_definitions_on_every_split() {
        let samples: &[&[u8]] = &[
            b"a \r\r",
            b"a \t\r\n b\n\n",
            b"x\r\r\n",
            b"\r\n\n",
            b"line\r\nnext \t \r\nlast\r\n\r\n",
            b"no newline  ",
            b"\n\r",
            b"\r",
            b"",
            b"a\r b\r\n\t\n",
        ];
        for &sample in samples {
            for set in 1..=7u8 {
                let steps: Vec<Norm> = Norm::ALL
                    .iter()
                    .copied()
                    .filter(|s| set & s.bit() != 0)
                    .collect();
                for piece in [1, 2, 3, 64] {
                    assert_eq!(
                        streamed(sample, set, piece),
                        reference(sample, &steps),
                        "{sample:?} set {set} piece {piece}"
                    );
                }
            }
        }
    }

    #[test]
    fn profiles_classify_like_the_definitions() {
        let a = TextProfile::of(b"one\r\ntwo\r\n");
        let b = TextProfile::of(b"one\ntwo\n");
        assert_eq!(formatting_reasons(&a, &b), Some(vec![Reason::Crlf]));
        let c = TextProfile::of(b"one\ntwo");
        assert_eq!(formatting_reasons(&b, &c), Some(vec![Reason::EofNewline]));
        let d = TextProfile::of(b"one\nthree\n");
        assert_eq!(formatting_reasons(&b, &d), None);
        assert!(!TextProfile::of(b"bin\0ary").text);
        let mut split = Profiler::new();
        split.update(&"é".as_bytes()[..1]);
        split.update(&"é".as_bytes()[1..]);
        assert!(split.finish().text);
    }
}
