//! Keeps human snippets readable on very long lines: when the line of a finding's primary label
//! is longer than [`MAX_LINE`] bytes (a minified 200 KB policy on one line), the snippet shows a
//! window of that line around the label, marked with `…` where it is cut, instead of echoing the
//! whole line. Line and column numbers stay those of the file.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::ops::Range;
use std::sync::Arc;

/// Lines up to this many bytes are shown whole.
pub const MAX_LINE: usize = 240;
/// Bytes shown before the primary label and after it; a label longer than `2 * WINDOW` is cut.
const WINDOW: usize = 80;
const CUT: &str = "…";

/// The part of a long line a snippet shows, as a [`SourceCode`] that answers in file offsets.
#[derive(Debug)]
pub struct Window {
    name: String,
    file: Arc<str>,
    /// File byte range shown.
    range: Range<usize>,
    /// `…` + the range + `…` (markers only where the line is cut).
    text: String,
    /// Bytes of the leading marker (0 when the window starts at the line start).
    prefix: usize,
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
        let line_start = text[..anchor].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[anchor..].find('\n').map_or(text.len(), |i| anchor + i);
        if line_end - line_start <= MAX_LINE {
            return None;
        }
        let label_len = primary.end.saturating_sub(anchor).min(2 * WINDOW);
        let start = floor_boundary(text, anchor.saturating_sub(WINDOW).max(line_start));
        let end = ceil_boundary(text, (anchor + label_len + WINDOW).min(line_end));
        // The marker's bytes stand before the window: it needs that many bytes before `start`.
        let prefix = if start > line_start && start >= CUT.len() {
            CUT.len()
        } else {
            0
        };
        let mut shown = String::with_capacity(end - start + 2 * CUT.len());
        shown.push_str(&CUT[..prefix]);
        shown.push_str(&text[start..end]);
        if end < line_end {
            shown.push_str(CUT);
        }
        Some(Window {
            name: name.to_string(),
            file: Arc::clone(file),
            range: start..end,
            text: shown,
            prefix,
        })
    }

    /// The file byte range shown.
    #[must_use]
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }
}

/// A label span clipped to a window's range (`None` when it lies outside).
#[must_use]
pub fn clip(span: Range<usize>, window: &Range<usize>) -> Option<Range<usize>> {
    let start = span.start.max(window.start);
    let end = span.end.min(window.end);
    (span.start <= window.end && span.end >= window.start && start <= end).then_some(start..end)
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // File offset f is at f - range.start + prefix in `text`.
        let to_local =
            |f: usize| f.clamp(self.range.start, self.range.end) - self.range.start + self.prefix;
        let local_start = to_local(span.offset());
        let local_end = to_local(span.offset() + span.len());
        let local = SourceSpan::new(local_start.into(), local_end - local_start);
        let inner =
            self.text
                .as_bytes()
                .read_span(&local, context_lines_before, context_lines_after)?;
        let data_start = inner.span().offset();
        // The marker has no file offset of its own: it is placed just before the window.
        let file_start = (data_start + self.range.start).saturating_sub(self.prefix);
        let (line, column) = if data_start >= self.prefix {
            line_col(&self.file, file_start)
        } else {
            let (line, column) = line_col(&self.file, self.range.start);
            (line, column.saturating_sub(self.prefix - data_start))
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            SourceSpan::new(file_start.into(), inner.span().len()),
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
    fn a_long_line_is_cut_around_the_label() {
        let line = format!("{}port: 99{}", "x".repeat(10_000), "y".repeat(10_000));
        let file: Arc<str> = Arc::from(format!("first: line\n{line}\n").as_str());
        let at = 12 + 10_000;
        let window = Window::around("x.yaml", &file, at..at + 8)
            .unwrap_or_else(|| panic!("a 20 KB line must be windowed"));
        assert!(window.text.starts_with(CUT) && window.text.ends_with(CUT));
        assert!(window.text.contains("port: 99"));
        assert!(window.text.len() < 2 * WINDOW + 8 + 2 * CUT.len() + 1);
        let contents = window
            .read_span(&SourceSpan::new(at.into(), 8), 0, 0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((contents.line(), contents.column()), (1, 10_000));
        assert_eq!(contents.data(), b"port: 99");
    }
}
