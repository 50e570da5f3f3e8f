//! Keeps human snippets readable on very long lines: when the line of a finding's primary label
//! is longer than [`MAX_LINE`] bytes (a minified 200 KB policy on one line), the snippet shows a
//! window of that line around the label, marked with `…` where it is cut, between the lines
//! before and after it when they are short, instead of echoing the whole line. Line and column
//! numbers stay those of the file.
//!
//! miette draws a snippet from one contiguous text and places labels by offset, so the shown
//! text gets its own offsets ("shown offsets"): equal to file offsets up to the long line, then
//! shifted by what was cut. [`Window::shown`] maps a label's file range into them.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::ops::Range;
use std::sync::Arc;

/// Lines up to this many bytes are shown whole.
pub const MAX_LINE: usize = 240;
/// Bytes shown before the primary label and after it; a label longer than `2 * WINDOW` is cut.
const WINDOW: usize = 80;
const CUT: &str = "…";

/// One piece of the shown text: file text, or a `…` marker (no file text).
#[derive(Debug, Clone)]
struct Piece {
    /// Shown offset of the piece's first byte.
    shown: usize,
    len: usize,
    /// File offset of the piece's first byte; `None` for a marker.
    file: Option<usize>,
}

/// The text a snippet is drawn from when its line is too long, as a [`SourceCode`] that
/// answers in shown offsets with the file's line and column numbers.
#[derive(Debug, Clone)]
pub struct Window {
    name: String,
    file: Arc<str>,
    text: String,
    pieces: Vec<Piece>,
    /// File range of the long line that is shown.
    cut: Range<usize>,
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Start of the line holding `offset`, and its end (the `\n` or the end of the text).
fn line_bounds(text: &str, offset: usize) -> Range<usize> {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    start..end
}

/// 0-based line and byte column of a file offset (miette counts columns in bytes).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let column = offset - before.rfind('\n').map_or(0, |i| i + 1);
    (line, column)
}

impl Window {
    /// The window around `primary` (a file byte range) when its line is too long to show.
    #[must_use]
    pub fn around(name: &str, file: &Arc<str>, primary: Range<usize>) -> Option<Self> {
        let text: &str = file;
        let anchor = floor_boundary(text, primary.start);
        let line = line_bounds(text, anchor);
        if line.len() <= MAX_LINE {
            return None;
        }
        let label_len = primary.end.saturating_sub(anchor).min(2 * WINDOW);
        let start = floor_boundary(text, anchor.saturating_sub(WINDOW).max(line.start));
        let end = ceil_boundary(text, (anchor + label_len + WINDOW).min(line.end));
        // Context: the line before and the line after, when they are short themselves.
        let before = match line.start.checked_sub(1).map(|nl| line_bounds(text, nl)) {
            Some(prev) if prev.len() <= MAX_LINE => prev.start..line.start,
            _ => line.start..line.start,
        };
        let after = match (line.end < text.len()).then(|| line_bounds(text, line.end + 1)) {
            Some(next) if next.len() <= MAX_LINE => line.end..next.end,
            Some(_) => line.end..line.end + 1,
            None => line.end..line.end,
        };
        let mut window = Window {
            name: name.to_string(),
            file: Arc::clone(file),
            text: String::new(),
            pieces: Vec::new(),
            cut: start..end,
        };
        window.push(before.start, Some(before));
        if start > line.start {
            window.push(0, None);
        }
        window.push(0, Some(start..end));
        if end < line.end {
            window.push(0, None);
        }
        window.push(0, Some(after));
        Some(window)
    }

    /// Appends file text (`Some`) or a marker; the first piece sets where shown offsets start.
    fn push(&mut self, first_shown: usize, range: Option<Range<usize>>) {
        let shown = self.pieces.last().map_or(first_shown, |p| p.shown + p.len);
        let (file, piece) = match range {
            Some(r) => (Some(r.start), self.file.get(r).unwrap_or("")),
            None => (None, CUT),
        };
        self.text.push_str(piece);
        self.pieces.push(Piece {
            shown,
            len: piece.len(),
            file,
        });
    }

    /// Where a file offset is in the shown text (`None` when it was cut away). A label's
    /// `end` belongs to the piece it closes, its start to the piece it opens.
    fn shown_offset(&self, offset: usize, end: bool) -> Option<usize> {
        self.pieces.iter().find_map(|p| {
            let start = p.file?;
            let inside = if end {
                start < offset && offset <= start + p.len
            } else {
                start <= offset && offset < start + p.len
            };
            inside.then(|| p.shown + (offset - start))
        })
    }

    /// A label's file range in shown offsets, clipped to the shown part of the long line when
    /// it runs into the cut-away part; `None` when it is not shown at all.
    #[must_use]
    pub fn shown(&self, label: Range<usize>) -> Option<Range<usize>> {
        let cut = &self.cut;
        let start = self.shown_offset(label.start, false).or_else(|| {
            (label.start < cut.start && label.end > cut.start)
                .then(|| self.shown_offset(cut.start, false))
                .flatten()
        })?;
        if label.end <= label.start {
            return Some(start..start);
        }
        let end = self.shown_offset(label.end, true).or_else(|| {
            (label.end > cut.end && label.start < cut.end)
                .then(|| self.shown_offset(cut.end, true))
                .flatten()
        })?;
        (start <= end).then_some(start..end)
    }

    /// The file offset shown at `shown` (a marker stands for the file text it replaces).
    fn file_offset(&self, shown: usize) -> usize {
        let mut last = self.pieces.first().and_then(|p| p.file).unwrap_or(0);
        for piece in &self.pieces {
            let inside = shown < piece.shown + piece.len;
            match piece.file {
                Some(start) if inside => return start + shown.saturating_sub(piece.shown),
                Some(start) => last = start + piece.len,
                None if inside => return last,
                None => {}
            }
        }
        last
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let base = self.pieces.first().map_or(0, |p| p.shown);
        let local_start = span.offset().saturating_sub(base).min(self.text.len());
        let local_len = span.len().min(self.text.len() - local_start);
        let inner = self.text.as_bytes().read_span(
            &SourceSpan::new(local_start.into(), local_len),
            context_lines_before,
            context_lines_after,
        )?;
        let shown_start = inner.span().offset() + base;
        let (line, column) = line_col(&self.file, self.file_offset(shown_start));
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(shown_start.into(), inner.span().len()),
            line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_not_windowed() {
        let file: Arc<str> = Arc::from("a: 1\nb: 2\n");
        assert!(Window::around("x.yaml", &file, 5..9).is_none());
    }

    #[test]
    fn a_long_line_is_cut_around_the_label_between_its_neighbours() {
        let line = format!("{}port: 99{}", "x".repeat(10_000), "y".repeat(10_000));
        let file: Arc<str> = Arc::from(format!("first: line\n{line}\nlast: line\n").as_str());
        let at = 12 + 10_000;
        let window = Window::around("x.yaml", &file, at..at + 8)
            .unwrap_or_else(|| panic!("a 20 KB line must be windowed"));
        let shown: Vec<&str> = window.text.lines().collect();
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert_eq!((shown[0], shown[2]), ("first: line", "last: line"));
        assert!(shown[1].starts_with(CUT) && shown[1].ends_with(CUT));
        assert!(shown[1].contains("port: 99"));
        assert!(shown[1].len() <= 2 * WINDOW + 8 + 2 * CUT.len());
        let label = window
            .shown(at..at + 8)
            .unwrap_or_else(|| panic!("the label is shown"));
        let contents = window
            .read_span(&SourceSpan::new(label.start.into(), label.len()), 0, 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((contents.line(), contents.column()), (1, 10_000));
        assert_eq!(contents.data(), b"port: 99");
        assert_eq!(
            window.shown(3..5),
            Some(3..5),
            "the line before is not shifted"
        );
        assert_eq!(
            window.shown(12..20),
            None,
            "the start of the long line is cut"
        );
    }
}
