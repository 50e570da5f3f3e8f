//! Source files held in memory, byte spans into them, and byte offset → line/column mapping.
//!
//! Every diagnostic points into a [`SourceMap`] through a [`Span`] (byte offsets, so that
//! miette and slicing work directly); [`SourceMap::line_col`] turns an offset into the
//! 1-based line and character column shown to users, SARIF and GitHub annotations.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Identifies one file in a [`SourceMap`]. Only meaningful for the map that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(u32);

impl SourceId {
    /// Position of the file in its map (0-based, in insertion order).
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (swapped if given in the wrong order).
    #[must_use]
    pub fn new(source: SourceId, start: usize, end: usize) -> Self {
        Span {
            source,
            start: start.min(end),
            end: start.max(end),
        }
    }

    /// An empty span at `offset` (e.g. the position of a syntax error).
    #[must_use]
    pub fn point(source: SourceId, offset: usize) -> Self {
        Span {
            source,
            start: offset,
            end: offset,
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    #[must_use]
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The smallest span covering both (they must be in the same file; otherwise `self`).
    #[must_use]
    pub fn join(self, other: Span) -> Span {
        if self.source != other.source {
            return self;
        }
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// 1-based line and 1-based column counted in characters (Unicode scalar values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One file's text plus the byte offset at which each line starts.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub id: SourceId,
    /// Display path as given by the user (repo-relative when possible).
    pub path: String,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(id: SourceId, path: String, text: Arc<str>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            id,
            path,
            text,
            line_starts,
        }
    }

    /// Clamp `offset` into the text and back onto a character boundary.
    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// Line and character column of a byte offset (offsets past the end clamp to the end).
    #[must_use]
    pub fn line_col(&self, byte_offset: usize) -> LineCol {
        let offset = self.clamp(byte_offset);
        let line_index = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let line_start = self.line_starts.get(line_index).copied().unwrap_or(0);
        let col = self
            .text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        LineCol {
            line: line_index + 1,
            col: col + 1,
        }
    }

    /// The text of a 1-based line without its line terminator.
    #[must_use]
    pub fn line_text(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text
            .get(start..end)
            .map(|s| s.trim_end_matches(['\n', '\r']))
    }

    #[must_use]
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The text under `span`, or `None` if the span does not fit this file.
    #[must_use]
    pub fn slice(&self, span: Span) -> Option<&str> {
        self.text.get(span.range())
    }
}

/// All source files of one run. Cheap to clone texts out of (they are `Arc<str>`).
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a file and return its id. Adding the same path twice yields two distinct files.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files
            .push(SourceFile::new(id, path.into(), text.into()));
        id
    }

    #[must_use]
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.index())
    }

    /// Display path of a file (`"<unknown>"` for an id from another map).
    #[must_use]
    pub fn path(&self, id: SourceId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.path.as_str())
    }

    /// Line and character column of a byte offset; `(1, 1)` for an unknown id.
    #[must_use]
    pub fn line_col(&self, id: SourceId, byte_offset: usize) -> LineCol {
        self.get(id)
            .map_or(LineCol { line: 1, col: 1 }, |f| f.line_col(byte_offset))
    }

    /// Start and end positions of a span (end is exclusive, like the span).
    #[must_use]
    pub fn span_lines(&self, span: Span) -> (LineCol, LineCol) {
        (
            self.line_col(span.source, span.start),
            self.line_col(span.source, span.end),
        )
    }

    #[must_use]
    pub fn slice(&self, span: Span) -> Option<&str> {
        self.get(span.source)?.slice(span)
    }

    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    const TEXT: &str = "a: 1\nbé: ü2\r\n\nlast";

    #[test_case(0, 1, 1; "start of file")]
    #[test_case(3, 1, 4; "inside first line")]
    #[test_case(4, 1, 5; "newline belongs to its line")]
    #[test_case(5, 2, 1; "start of second line")]
    #[test_case(9, 2, 4; "columns count characters not bytes")]
    #[test_case(11, 2, 5; "offset inside a multibyte char clamps back")]
    #[test_case(15, 3, 1; "empty line after crlf")]
    #[test_case(16, 4, 1; "last line without newline")]
    #[test_case(999, 4, 5; "past the end clamps to the end")]
    fn line_col_maps_byte_offsets(offset: usize, line: usize, col: usize) {
        let mut map = SourceMap::new();
        let id = map.add("x.yaml", TEXT);
        assert_eq!(map.line_col(id, offset), LineCol { line, col });
    }

    #[test]
    fn line_text_strips_terminators() {
        let mut map = SourceMap::new();
        let id = map.add("x.yaml", TEXT);
        let file = map.get(id).map(|f| {
            (
                f.line_text(2),
                f.line_text(4),
                f.line_text(5),
                f.line_count(),
            )
        });
        assert_eq!(file, Some((Some("bé: ü2"), Some("last"), None, 4)));
    }

    #[test]
    fn ids_are_distinct_and_paths_kept() {
        let mut map = SourceMap::new();
        let a = map.add("a.yaml", "x");
        let b = map.add("b.yaml", "y");
        assert_ne!(a, b);
        assert_eq!((map.path(a), map.path(b)), ("a.yaml", "b.yaml"));
        assert_eq!(map.slice(Span::new(b, 0, 1)), Some("y"));
    }
}
