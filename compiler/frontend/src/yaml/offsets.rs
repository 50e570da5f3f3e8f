//! Character index → byte offset conversion (saphyr's `Marker::index` counts characters).

/// Maps character indexes of one text to byte offsets.
pub(super) struct CharOffsets {
    /// `None` for ASCII text, where indexes and offsets coincide.
    char_starts: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    pub(super) fn new(text: &str) -> Self {
        let char_starts = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect()
        });
        CharOffsets {
            char_starts,
            len: text.len(),
        }
    }

    /// Byte offset of the character at `char_index` (the text length past the end).
    pub(super) fn byte(&self, char_index: usize) -> usize {
        match &self.char_starts {
            None => char_index.min(self.len),
            Some(starts) => starts.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_identity_and_clamped() {
        let offsets = CharOffsets::new("abc");
        assert_eq!(
            [offsets.byte(0), offsets.byte(3), offsets.byte(9)],
            [0, 3, 3]
        );
    }

    #[test]
    fn multibyte_characters_shift_offsets() {
        let offsets = CharOffsets::new("é€x");
        assert_eq!(
            [
                offsets.byte(0),
                offsets.byte(1),
                offsets.byte(2),
                offsets.byte(3)
            ],
            [0, 2, 5, 6]
        );
    }
}
