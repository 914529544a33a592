//! Positions in the source. The parser counts characters; edits need byte offsets; people need
//! 1-based lines and columns. Line breaks are YAML's: `\n`, `\r\n` and a lone `\r`.

use std::ops::Range;

/// Converts the parser's character indexes to byte offsets and byte offsets to lines.
#[derive(Debug, Clone)]
pub(crate) struct SourceMap {
    /// The byte offset of every character plus one past the end; `None` for ASCII text, where
    /// character and byte indexes are the same.
    char_offsets: Option<Vec<usize>>,
    /// Byte offset where each line starts; line 1 starts at 0.
    line_starts: Vec<usize>,
    /// Byte offset where each line's content ends (before its line break).
    line_ends: Vec<usize>,
    len: usize,
}

impl SourceMap {
    pub(crate) fn new(text: &str) -> Self {
        let char_offsets = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .collect()
        });
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut line_ends = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    line_ends.push(i);
                    line_starts.push(i + 1);
                }
                b'\r' => {
                    line_ends.push(i);
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    line_starts.push(i + 1);
                }
                _ => {}
            }
            i += 1;
        }
        line_ends.push(text.len());
        Self {
            char_offsets,
            line_starts,
            line_ends,
            len: text.len(),
        }
    }

    /// The byte offset of the character at `char_index` (the end of the text past the last one).
    pub(crate) fn byte(&self, char_index: usize) -> usize {
        match &self.char_offsets {
            None => char_index.min(self.len),
            Some(offsets) => offsets.get(char_index).copied().unwrap_or(self.len),
        }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// The bytes of 1-based `line` without its line break, or `None` past the last line.
    pub(crate) fn line_range(&self, line: usize) -> Option<Range<usize>> {
        let index = line.checked_sub(1)?;
        Some(*self.line_starts.get(index)?..*self.line_ends.get(index)?)
    }

    /// The 1-based column, in characters, of byte `offset` on its line.
    pub(crate) fn column(&self, text: &str, offset: usize) -> usize {
        let start = self.line_starts[self.line(offset) - 1];
        text.get(start..offset)
            .map_or(1, |before| before.chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceMap;

    #[test]
    fn lines_follow_every_yaml_line_break() {
        let text = "a\r\nb\nc\rd";
        let map = SourceMap::new(text);
        let lines: Vec<&str> = (1..=4).map(|l| &text[map.line_range(l).unwrap()]).collect();
        assert_eq!(lines, ["a", "b", "c", "d"]);
        assert_eq!(map.line(0), 1);
        assert_eq!(map.line(1), 1, "the \\r of a CRLF belongs to its line");
        assert_eq!(map.line(3), 2);
        assert_eq!(map.line(8), 4);
        assert_eq!(map.line_range(5), None);
        assert_eq!(map.line_range(0), None);
    }

    #[test]
    fn characters_map_to_bytes() {
        let text = "\u{feff}é: ü";
        let map = SourceMap::new(text);
        assert_eq!(map.byte(0), 0);
        assert_eq!(map.byte(1), 3, "the BOM is three bytes");
        assert_eq!(map.byte(2), 5, "é is two");
        assert_eq!(map.byte(5), text.len());
        assert_eq!(map.byte(99), text.len());
        assert_eq!(map.column(text, 5), 3);
    }
}
