//! From saphyr-parser's spanned events to the node arena.
//!
//! The parser reports each event with a character span that starts at the node's first
//! property (anchor or tag) and ends where its token ends; a block scalar's span covers its
//! content lines but not its `|`/`>` header, and anchors come as numbers. The gaps between
//! tokens are therefore read here ([`scan_gap`]): properties (to name anchors and place tags),
//! comments, indicators, and the block scalar header.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use saphyr_parser::{Event, Parser, Span, SpannedEventReceiver};

use crate::node::{Anchor, Content, NodeData, NodeId, Scalar, ScalarStyle, Style, Tag};
use crate::source_map::SourceMap;

/// What [`build`] produces.
pub(crate) struct Built {
    pub(crate) nodes: Vec<NodeData>,
    pub(crate) documents: Vec<NodeId>,
}

/// Why [`build`] failed: where (a byte offset) and what.
pub(crate) struct BuildError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Parses every document of `text` into nodes. A mapping with the same key twice is an error,
/// as YAML requires (and as GitHub and go-yaml refuse it).
pub(crate) fn build(text: &str, map: &SourceMap) -> Result<Built, BuildError> {
    let mut builder = Builder {
        text,
        map,
        nodes: Vec::new(),
        documents: Vec::new(),
        open: Vec::new(),
        anchors: HashMap::new(),
        gap_start: 0,
        flow_depth: 0,
        duplicate_key: None,
    };
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|err| BuildError {
            offset: map.byte(err.marker().index()),
            message: err.info().to_owned(),
        })?;
    if let Some(error) = builder.duplicate_key {
        return Err(error);
    }
    Ok(Built {
        nodes: builder.nodes,
        documents: builder.documents,
    })
}

/// A collection whose end event has not arrived yet.
struct Open {
    id: NodeId,
    /// For a mapping: the key read, waiting for its value.
    pending_key: Option<NodeId>,
    /// For a mapping: its scalar keys so far, to find a key given twice: the value, and whether
    /// it is a plain number, boolean or null (`1` and `'1'` are different keys; `k` and `"k"`
    /// are not).
    keys: HashSet<(String, bool)>,
}

struct Builder<'t> {
    text: &'t str,
    map: &'t SourceMap,
    nodes: Vec<NodeData>,
    documents: Vec<NodeId>,
    open: Vec<Open>,
    /// The parser's anchor ids (unique in the stream) to the anchored nodes.
    anchors: HashMap<usize, NodeId>,
    /// Where the text after the previous token starts: the search for a block scalar's header
    /// begins here.
    gap_start: usize,
    /// How many flow collections are open.
    flow_depth: usize,
    /// The first key found twice in one mapping.
    duplicate_key: Option<BuildError>,
}

impl<'input> SpannedEventReceiver<'input> for Builder<'_> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        let bytes = self.map.byte(span.start.index())..self.map.byte(span.end.index());
        match event {
            Event::Scalar(value, style, anchor_id, tag) => {
                let (node, end) = self.scalar(value.into_owned(), style, bytes, tag.as_deref());
                self.add(node, anchor_id);
                self.gap_start = end;
            }
            Event::Alias(anchor_id) => {
                // An alias to an unknown anchor is a parse error, raised before this event.
                if let Some(&target) = self.anchors.get(&anchor_id) {
                    let name = self.text[bytes.clone()].trim_start_matches('*').to_owned();
                    let node = self.node(Content::Alias { name, target }, Style::Flow, &bytes);
                    self.add(node, 0);
                }
                self.gap_start = bytes.end;
            }
            Event::SequenceStart(anchor_id, tag) => {
                self.start_collection(
                    Content::Sequence(Vec::new()),
                    anchor_id,
                    tag.as_deref(),
                    bytes,
                );
            }
            Event::MappingStart(anchor_id, tag) => {
                self.start_collection(
                    Content::Mapping(Vec::new()),
                    anchor_id,
                    tag.as_deref(),
                    bytes,
                );
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(bytes),
            Event::DocumentStart(explicit) => {
                // An implicit start's span is the first token; an explicit one's is `---`.
                self.gap_start = if explicit { bytes.end } else { bytes.start };
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {
                self.gap_start = self.gap_start.max(bytes.start);
            }
        }
    }
}

impl Builder<'_> {
    fn node(&self, content: Content, style: Style, span: &Range<usize>) -> NodeData {
        NodeData {
            content,
            style,
            anchor: None,
            tag: None,
            span: span.clone(),
            parent: None,
        }
    }

    /// A scalar node from its event; also returns where its token ends.
    fn scalar(
        &self,
        value: String,
        style: saphyr_parser::ScalarStyle,
        event: Range<usize>,
        tag: Option<&saphyr_parser::Tag>,
    ) -> (NodeData, usize) {
        let style = scalar_style(style);
        let has_properties = self.text[event.clone()].starts_with(['&', '!']);
        let properties = if has_properties {
            scan_gap(self.text, event.start, event.end, false)
        } else {
            Gap::empty(event.start)
        };
        let (token, content) = if style.is_block() {
            // The parser's span starts at the content; the header comes before it.
            let search_from = if has_properties {
                properties.end
            } else {
                self.gap_start
            };
            let header = scan_gap(self.text, search_from, event.end, !has_properties);
            let start = if self.text[header.end..].starts_with(['|', '>']) {
                header.end
            } else {
                event.start
            };
            let end = trim_trailing_blank_lines(self.text, start, event.end);
            let content_start = next_line_start(self.text, start).min(end);
            (start..end, content_start..end)
        } else {
            let start = properties.end.min(event.end);
            match style {
                // The parser's span of a quoted scalar runs on over trailing blanks and comments.
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                    let end =
                        closing_quote(self.text, start, event.end).map_or(event.end, |q| q + 1);
                    (start..end, start + 1..end.saturating_sub(1).max(start + 1))
                }
                _ => (start..event.end, start..event.end),
            }
        };
        let style_of_node = if style.is_block() {
            Style::Block
        } else {
            Style::Flow
        };
        let end = token.end;
        let mut node = self.node(
            Content::Scalar(Scalar {
                value,
                style,
                token: token.clone(),
                content,
            }),
            style_of_node,
            &token,
        );
        self.attach_properties(&mut node, &properties, tag);
        (node, end)
    }

    fn start_collection(
        &mut self,
        content: Content,
        anchor_id: usize,
        tag: Option<&saphyr_parser::Tag>,
        event: Range<usize>,
    ) {
        // A flow collection's event ends after its `{`/`[`; a block collection's token is empty
        // and sits on its first key or `-`.
        let bracket = !event.is_empty() && self.text[..event.end].ends_with(['{', '[']);
        let start = if bracket { event.end - 1 } else { event.end };
        let properties = if start > event.start {
            scan_gap(self.text, event.start, start, false)
        } else {
            Gap::empty(start)
        };
        let style = if bracket || self.flow_depth > 0 {
            Style::Flow
        } else {
            Style::Block
        };
        if style == Style::Flow {
            self.flow_depth += 1;
        }
        let mut node = self.node(content, style, &(start..start));
        self.attach_properties(&mut node, &properties, tag);
        let id = self.add(node, anchor_id);
        self.open.push(Open {
            id,
            pending_key: None,
            keys: HashSet::new(),
        });
        self.gap_start = event.end;
    }

    fn end_collection(&mut self, event: Range<usize>) {
        let Some(open) = self.open.pop() else {
            return;
        };
        let node = &self.nodes[open.id.0];
        let last_child_end = match &node.content {
            Content::Mapping(entries) => entries.last().map(|(_, v)| self.nodes[v.0].span.end),
            Content::Sequence(items) => items.last().map(|v| self.nodes[v.0].span.end),
            _ => None,
        };
        let closed_by_bracket = node.style == Style::Flow
            && !event.is_empty()
            && self.text[..event.end].ends_with(['}', ']']);
        let end = if closed_by_bracket {
            event.end
        } else {
            last_child_end.unwrap_or(node.span.start)
        };
        if node.style == Style::Flow {
            self.flow_depth = self.flow_depth.saturating_sub(1);
        }
        self.nodes[open.id.0].span.end = end;
        self.gap_start = self.gap_start.max(end);
    }

    fn attach_properties(
        &self,
        node: &mut NodeData,
        properties: &Gap,
        tag: Option<&saphyr_parser::Tag>,
    ) {
        node.anchor = properties.anchor.clone().map(|span| Anchor {
            name: self.text[span.start + 1..span.end].to_owned(),
            span,
        });
        node.tag = tag.map(|tag| Tag {
            handle: tag.handle.clone(),
            suffix: tag.suffix.clone(),
            span: properties
                .tag
                .clone()
                .unwrap_or(node.span.start..node.span.start),
        });
    }

    /// Stores `node` under its parent (or as a document root) and registers its anchor.
    fn add(&mut self, mut node: NodeData, anchor_id: usize) -> NodeId {
        let id = NodeId(self.nodes.len());
        node.parent = self.open.last().map(|open| open.id);
        self.nodes.push(node);
        if anchor_id > 0 {
            self.anchors.insert(anchor_id, id);
        }
        match self.open.last_mut() {
            None => self.documents.push(id),
            Some(open) => match &mut self.nodes[open.id.0].content {
                Content::Sequence(items) => items.push(id),
                Content::Mapping(entries) => match open.pending_key.take() {
                    None => open.pending_key = Some(id),
                    Some(key) => {
                        entries.push((key, id));
                        let repeated = match &self.nodes[key.0].content {
                            Content::Scalar(k) if !k.style.is_block() => {
                                let plain = k.style == ScalarStyle::Plain;
                                // Merge keys (`<<`) may repeat.
                                let merge = plain && k.value == "<<";
                                let identity = (k.value.clone(), plain && !is_string(&k.value));
                                (!merge && !open.keys.insert(identity)).then(|| k.value.clone())
                            }
                            _ => None,
                        };
                        if let Some(name) = repeated.filter(|_| self.duplicate_key.is_none()) {
                            self.duplicate_key = Some(BuildError {
                                offset: self.nodes[key.0].span.start,
                                message: format!("duplicate mapping key `{name}`"),
                            });
                        }
                    }
                },
                Content::Scalar(_) | Content::Alias { .. } => {}
            },
        }
        id
    }
}

/// Whether a plain scalar reads as a string in YAML's core schema (not a number, boolean or
/// null).
fn is_string(plain: &str) -> bool {
    let keyword = matches!(
        plain,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    );
    let number = plain.parse::<f64>().is_ok() || plain.starts_with("0x") || plain.starts_with("0o");
    !keyword && !number
}

fn scalar_style(style: saphyr_parser::ScalarStyle) -> ScalarStyle {
    match style {
        saphyr_parser::ScalarStyle::Plain => ScalarStyle::Plain,
        saphyr_parser::ScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
        saphyr_parser::ScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
        saphyr_parser::ScalarStyle::Literal => ScalarStyle::Literal,
        saphyr_parser::ScalarStyle::Folded => ScalarStyle::Folded,
    }
}

/// What lies between two tokens.
#[derive(Debug, Default)]
struct Gap {
    anchor: Option<Range<usize>>,
    tag: Option<Range<usize>>,
    /// Where the next token starts (or `limit`).
    end: usize,
}

impl Gap {
    fn empty(at: usize) -> Self {
        Self {
            end: at,
            ..Self::default()
        }
    }
}

/// Reads `text[from..limit]` over whitespace, comments and node properties (and, when
/// `indicators`, the `-`, `?`, `:` indicators and the `---` marker) up to the next token.
fn scan_gap(text: &str, from: usize, limit: usize, indicators: bool) -> Gap {
    let bytes = text.as_bytes();
    let limit = limit.min(text.len());
    let mut gap = Gap::empty(from);
    let mut pos = from;
    let ends_token = |b: u8| {
        matches!(
            b,
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
        )
    };
    let separated =
        |i: usize| i + 1 >= bytes.len() || matches!(bytes[i + 1], b' ' | b'\t' | b'\r' | b'\n');
    while pos < limit {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            // A byte-order mark between documents.
            0xEF if text[pos..].starts_with('\u{feff}') => pos += '\u{feff}'.len_utf8(),
            b'#' => {
                while pos < limit && !matches!(bytes[pos], b'\r' | b'\n') {
                    pos += 1;
                }
            }
            b'&' => {
                let start = pos;
                pos += 1;
                while pos < limit && !ends_token(bytes[pos]) {
                    pos += 1;
                }
                gap.anchor = Some(start..pos);
            }
            b'!' => {
                let start = pos;
                if text[pos..].starts_with("!<") {
                    pos += text[pos..limit].find('>').map_or(limit - pos, |i| i + 1);
                } else {
                    while pos < limit && !ends_token(bytes[pos]) {
                        pos += 1;
                    }
                }
                gap.tag = Some(start..pos);
            }
            b'-' | b'?' | b':' if indicators && separated(pos) => pos += 1,
            b'-' if indicators && text[pos..].starts_with("---") => pos += 3,
            _ => break,
        }
    }
    gap.end = pos.min(limit);
    gap
}

/// The offset of the quote closing the quoted scalar that opens at `open`, if before `limit`.
fn closing_quote(text: &str, open: usize, limit: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(open)?;
    let mut i = open + 1;
    while i < limit.min(bytes.len()) {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// `end`, moved back over trailing blank lines (a block scalar's span runs to the next token).
fn trim_trailing_blank_lines(text: &str, start: usize, end: usize) -> usize {
    let Some(slice) = text.get(start..end) else {
        return end;
    };
    let Some(last) = slice.rfind(|c: char| !c.is_whitespace()) else {
        return start;
    };
    let after = &slice[last..];
    let line_end = after.find(['\r', '\n']).unwrap_or(after.len());
    start + last + line_end
}

/// The start of the line after the one holding `offset` (or the end of the text).
fn next_line_start(text: &str, offset: usize) -> usize {
    match text[offset..].find(['\r', '\n']) {
        Some(i) if text[offset + i..].starts_with("\r\n") => offset + i + 2,
        Some(i) => offset + i + 1,
        None => text.len(),
    }
}
