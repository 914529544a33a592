//! The byte-exactness property as one function, for the corpus tests and for fuzzing.

use crate::edit::{Edit, EditError, apply_edits, rewrite};
use crate::locate::locate;
use crate::pinned_text;

/// A digest-shaped text for rewriting references in property checks (never resolved).
const PROBE_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// How the round-trip property failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundTripError {
    /// Rewriting every reference to itself changed the text.
    #[error("rewriting every reference to itself changed byte {offset}")]
    IdentityChanged {
        /// The first differing byte.
        offset: usize,
    },
    /// Pinning every rewritable reference failed.
    #[error("pinning every reference failed: {0}")]
    Pin(#[from] EditError),
    /// Pinning changed a byte outside the references.
    #[error("pinning changed byte {offset} of the original, outside every reference")]
    OutsideChanged {
        /// Offset in the original text.
        offset: usize,
    },
}

/// Checks on `text` that (1) rewriting every found reference to itself gives the identical
/// text, and (2) rewriting every rewritable, non-expression reference to a pinned form changes
/// only those bytes and reads back as exactly those references. Returns how many references
/// were pinned; a text that is not YAML has none.
pub fn check_round_trip(text: &str) -> Result<usize, RoundTripError> {
    let Ok(found) = locate(text) else {
        return Ok(0);
    };
    let identity: Vec<Edit> = found
        .iter()
        .filter_map(|f| f.span())
        .map(|span| Edit {
            replacement: text[span.clone()].to_owned(),
            span,
        })
        .collect();
    let same = apply_edits(text, &identity)?;
    if let Some(offset) = first_difference(text.as_bytes(), same.as_bytes()) {
        return Err(RoundTripError::IdentityChanged { offset });
    }

    let mut pins: Vec<Edit> = found
        .iter()
        .filter(|f| !f.expression)
        .filter_map(|f| {
            f.span().map(|span| Edit {
                span,
                replacement: pinned_text(&f.image, PROBE_DIGEST, "latest"),
            })
        })
        .collect();
    pins.sort_by_key(|e| e.span.start);
    pins.dedup();
    let pinned = rewrite(text, &found, &pins)?;
    match changed_outside(text, &pinned, &pins) {
        Some(offset) => Err(RoundTripError::OutsideChanged { offset }),
        None => Ok(pins.len()),
    }
}

/// The first byte of `original` outside the (sorted, disjoint) edits' spans that `updated`
/// does not keep, walking both texts together.
fn changed_outside(original: &str, updated: &str, edits: &[Edit]) -> Option<usize> {
    let (original, updated) = (original.as_bytes(), updated.as_bytes());
    let (mut old, mut new) = (0, 0);
    let kept_ranges = edits
        .iter()
        .map(|e| (e.span.start, e.span.end, e.replacement.len()))
        .chain(std::iter::once((original.len(), original.len(), 0)));
    for (start, end, replacement_len) in kept_ranges {
        let kept = &original[old..start];
        let Some(copy) = updated.get(new..new + kept.len()) else {
            return Some(old);
        };
        if let Some(i) = first_difference(kept, copy) {
            return Some(old + i);
        }
        new += kept.len() + replacement_len;
        old = end;
    }
    (new != updated.len()).then_some(original.len())
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}
