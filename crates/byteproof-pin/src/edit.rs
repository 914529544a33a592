//! Byte-range edits, and rewrites that are read back before anyone writes them.

use std::ops::Range;

use crate::locate::{FoundImage, locate};

/// Why edits could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Two edits overlap.
    #[error("edits overlap at bytes {first:?} and {second:?}")]
    Overlap {
        /// The earlier span.
        first: Range<usize>,
        /// The overlapping span.
        second: Range<usize>,
    },
    /// An edit's span is outside the text or not on a character boundary.
    #[error("edit span {span:?} is not a valid range of the text")]
    OutOfBounds {
        /// The span.
        span: Range<usize>,
    },
    /// The rewritten text does not read back as the intended references.
    #[error("the rewritten text does not read back as intended: {detail}")]
    ReadBack {
        /// What differs.
        detail: String,
    },
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes to replace.
    pub span: Range<usize>,
    /// The new text.
    pub replacement: String,
}

/// Replaces each edit's span; every other byte is copied unchanged. The same edit given twice
/// (two uses of one anchored reference) is applied once.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    sorted.dedup();
    for pair in sorted.windows(2) {
        if pair[1].span.start < pair[0].span.end {
            return Err(EditError::Overlap {
                first: pair[0].span.clone(),
                second: pair[1].span.clone(),
            });
        }
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 72);
    let mut pos = 0;
    for edit in sorted {
        let span = edit.span.clone();
        if span.start > span.end || text.get(span.clone()).is_none() {
            return Err(EditError::OutOfBounds { span });
        }
        out.push_str(&text[pos..span.start]);
        out.push_str(&edit.replacement);
        pos = span.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Applies `edits` (spans of references in `found`, which [`crate::locate`] found in `text`)
/// and reads the result back: the new text must hold the same references at the same places,
/// with exactly the replaced ones changed, and the same unscannable values (whose text may
/// include a replaced reference). Anything else is an error and nothing is returned to write.
pub fn rewrite(text: &str, found: &[FoundImage], edits: &[Edit]) -> Result<String, EditError> {
    let updated = apply_edits(text, edits)?;
    let expected: Vec<(String, Option<String>)> = found
        .iter()
        .map(|f| {
            let replaced = f
                .span()
                .and_then(|span| edits.iter().find(|e| e.span == span));
            let image = replaced.map_or_else(|| f.image.clone(), |e| e.replacement.clone());
            (f.location.to_string(), f.span().map(|_| image))
        })
        .collect();
    let again = locate(&updated).map_err(|err| EditError::ReadBack {
        detail: format!("it is not YAML any more ({err})"),
    })?;
    let got: Vec<(String, Option<String>)> = again
        .iter()
        .map(|f| (f.location.to_string(), f.span().map(|_| f.image.clone())))
        .collect();
    if got != expected {
        let show = |(location, image): &(String, Option<String>)| match image {
            Some(image) => format!("{location} `{image}`"),
            None => format!("{location} (unscannable)"),
        };
        let detail = match expected.iter().zip(&got).find(|(want, have)| want != have) {
            Some((want, have)) => format!("expected {}, read {}", show(want), show(have)),
            None => format!("expected {} references, read {}", expected.len(), got.len()),
        };
        return Err(EditError::ReadBack { detail });
    }
    Ok(updated)
}
