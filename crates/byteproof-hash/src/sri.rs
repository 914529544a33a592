//! Subresource Integrity strings (`sha512-<base64>`, possibly several, space-separated) and the
//! check of a registry's claims against the digests of the bytes it served.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::Digests;

/// A hash algorithm that can appear in an SRI string, strongest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `sha1-…`, written by old npm versions and accepted by Gitea.
    Sha1,
    /// `sha256-…`.
    Sha256,
    /// `sha384-…`; valid SRI, but byteproof does not compute it.
    Sha384,
    /// `sha512-…`, what npm writes today.
    Sha512,
}

impl Algorithm {
    /// The SRI prefix, e.g. `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            "sha384" => Algorithm::Sha384,
            "sha512" => Algorithm::Sha512,
            _ => return None,
        })
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha384 => 48,
            Algorithm::Sha512 => 64,
        }
    }
}

/// Why an SRI string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrityError {
    /// No `algo-digest` entry at all.
    #[error("integrity string is empty")]
    Empty,
    /// An entry without the `-` between algorithm and digest.
    #[error("integrity entry {entry:?} is not of the form <algorithm>-<base64>")]
    Malformed {
        /// The offending entry.
        entry: String,
    },
    /// The digest is not standard base64, or has the wrong length for its algorithm.
    #[error("integrity entry {entry:?} has a digest that is not {expected} bytes of base64")]
    BadDigest {
        /// The offending entry.
        entry: String,
        /// The digest length the algorithm has.
        expected: usize,
    },
    /// Only algorithms this crate does not know.
    #[error("integrity string names no supported algorithm (sha1, sha256, sha384, sha512)")]
    NoKnownAlgorithm,
}

/// A parsed SRI string: one or more (algorithm, digest) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    entries: Vec<(Algorithm, Vec<u8>)>,
}

impl Integrity {
    /// Parses `sha512-… sha1-…`. Unknown algorithms are ignored, as the SRI spec asks;
    /// `?options` after a digest are dropped.
    pub fn parse(text: &str) -> Result<Self, IntegrityError> {
        let mut entries = Vec::new();
        let mut saw_any = false;
        for entry in text.split_ascii_whitespace() {
            saw_any = true;
            let Some((algo, rest)) = entry.split_once('-') else {
                return Err(IntegrityError::Malformed {
                    entry: entry.to_owned(),
                });
            };
            let Some(algorithm) = Algorithm::from_name(&algo.to_ascii_lowercase()) else {
                continue;
            };
            let b64 = rest
                .split_once('?')
                .map_or(rest, |(digest, _options)| digest);
            let digest = BASE64
                .decode(b64)
                .ok()
                .filter(|d| d.len() == algorithm.digest_len())
                .ok_or_else(|| IntegrityError::BadDigest {
                    entry: entry.to_owned(),
                    expected: algorithm.digest_len(),
                })?;
            entries.push((algorithm, digest));
        }
        if !saw_any {
            return Err(IntegrityError::Empty);
        }
        if entries.is_empty() {
            return Err(IntegrityError::NoKnownAlgorithm);
        }
        Ok(Self { entries })
    }

    /// The strongest algorithm present; SRI says a verifier uses only that one.
    pub fn strongest(&self) -> Algorithm {
        self.entries
            .iter()
            .map(|(a, _)| *a)
            .max()
            .unwrap_or(Algorithm::Sha512)
    }

    /// The entries, in the order they were written.
    pub fn entries(&self) -> impl Iterator<Item = (Algorithm, &[u8])> {
        self.entries.iter().map(|(a, d)| (*a, d.as_slice()))
    }
}

/// The outcome of checking one claim against served bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimCheck {
    /// The registry made no such claim.
    Absent,
    /// The claim matches the bytes.
    Match,
    /// The claim does not match the bytes.
    Mismatch {
        /// What the registry claimed (as written).
        claimed: String,
        /// What the bytes hash to, in the claim's own form.
        actual: String,
    },
    /// The claim cannot be checked: malformed, or only in an algorithm byteproof does not compute.
    Unverifiable {
        /// Why.
        reason: String,
    },
}

impl ClaimCheck {
    /// True when the claim is present and wrong, or cannot be checked.
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            ClaimCheck::Mismatch { .. } | ClaimCheck::Unverifiable { .. }
        )
    }
}

/// Checks npm's `dist.shasum` (hex SHA-1, any letter case) against the digests.
pub fn check_shasum(claim: Option<&str>, digests: &Digests) -> ClaimCheck {
    let Some(claim) = claim.map(str::trim).filter(|c| !c.is_empty()) else {
        return ClaimCheck::Absent;
    };
    let actual = digests.sha1_hex();
    if claim.eq_ignore_ascii_case(&actual) {
        ClaimCheck::Match
    } else if claim.len() != 40 || !claim.bytes().all(|b| b.is_ascii_hexdigit()) {
        ClaimCheck::Unverifiable {
            reason: format!("dist.shasum {claim:?} is not 40 hex digits"),
        }
    } else {
        ClaimCheck::Mismatch {
            claimed: claim.to_owned(),
            actual,
        }
    }
}

/// Checks an SRI `dist.integrity` claim: the strongest algorithm in it must match.
pub fn check_integrity(claim: Option<&str>, digests: &Digests) -> ClaimCheck {
    let Some(claim) = claim.map(str::trim).filter(|c| !c.is_empty()) else {
        return ClaimCheck::Absent;
    };
    let integrity = match Integrity::parse(claim) {
        Ok(integrity) => integrity,
        Err(err) => {
            return ClaimCheck::Unverifiable {
                reason: format!("dist.integrity: {err}"),
            };
        }
    };
    let strongest = integrity.strongest();
    let Some(actual) = digests.get(strongest) else {
        return ClaimCheck::Unverifiable {
            reason: format!(
                "dist.integrity uses {}, which byteproof does not compute",
                strongest.name()
            ),
        };
    };
    let matched = integrity
        .entries()
        .filter(|(algorithm, _)| *algorithm == strongest)
        .any(|(_, digest)| digest == actual);
    if matched {
        ClaimCheck::Match
    } else {
        ClaimCheck::Mismatch {
            claimed: claim.to_owned(),
            actual: format!("{}-{}", strongest.name(), BASE64.encode(actual)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_bytes;

    #[test]
    fn npm_integrity_of_the_bytes_matches() {
        let d = hash_bytes(b"tarball");
        assert_eq!(check_integrity(Some(&d.integrity()), &d), ClaimCheck::Match);
        assert_eq!(
            check_shasum(Some(&d.sha1_hex().to_uppercase()), &d),
            ClaimCheck::Match
        );
    }

    #[test]
    fn strongest_algorithm_decides() {
        let d = hash_bytes(b"tarball");
        let other = hash_bytes(b"other");
        // sha1 right, sha512 wrong: SRI uses only the strongest, so this is a mismatch.
        let sha1 = format!("sha1-{}", BASE64.encode(d.sha1));
        let claim = format!("{sha1} {}", other.integrity());
        assert!(matches!(
            check_integrity(Some(&claim), &d),
            ClaimCheck::Mismatch { .. }
        ));
        // A sha1-only claim (old npm, Gitea accepts it) is checked with sha1.
        assert_eq!(check_integrity(Some(&sha1), &d), ClaimCheck::Match);
    }

    #[test]
    fn lies_and_garbage_are_told_apart() {
        let d = hash_bytes(b"tarball");
        let lie = hash_bytes(b"lie");
        assert!(matches!(
            check_shasum(Some(&lie.sha1_hex()), &d),
            ClaimCheck::Mismatch { .. }
        ));
        assert!(matches!(
            check_shasum(Some("nope"), &d),
            ClaimCheck::Unverifiable { .. }
        ));
        assert!(matches!(
            check_integrity(Some("sha512-notbase64!!"), &d),
            ClaimCheck::Unverifiable { .. }
        ));
        assert!(matches!(
            check_integrity(Some("md5-AAAA"), &d),
            ClaimCheck::Unverifiable { .. }
        ));
        assert_eq!(check_integrity(None, &d), ClaimCheck::Absent);
        assert_eq!(check_shasum(Some("  "), &d), ClaimCheck::Absent);
    }

    #[test]
    fn sri_options_are_ignored() {
        let d = hash_bytes(b"x");
        let claim = format!("{}?foo=bar", d.integrity());
        assert_eq!(check_integrity(Some(&claim), &d), ClaimCheck::Match);
    }

    #[test]
    fn sha384_only_is_unverifiable_not_a_match() {
        let d = hash_bytes(b"x");
        let claim = format!("sha384-{}", BASE64.encode([0u8; 48]));
        assert!(matches!(
            check_integrity(Some(&claim), &d),
            ClaimCheck::Unverifiable { .. }
        ));
    }
}
