//! What an edit changed in an endpoint's map images, as the records to write and the keys to
//! delete: the only map operations a loader needs to bring loaded maps from the old images to
//! the new ones (when every map's `max_entries` still fits). Hash-map images keep their records
//! sorted by key bytes and array images in index order, so one merge walk per map finds the
//! difference without copying or hashing the records.

use policyc_backends::MapImage;
use std::cmp::Ordering;

/// The changes of one map, borrowing the images' records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapChanges<'a> {
    pub name: &'a str,
    /// `max_entries` the new image asks for (more than the loaded map's: maps must be swapped).
    pub max_entries: u32,
    /// Records new or with a different value.
    pub upserts: Vec<(&'a [u8], &'a [u8])>,
    /// Keys the new image no longer has (of an array map: indices nothing refers to any more,
    /// which cannot be deleted and may be left as they are).
    pub deletes: Vec<&'a [u8]>,
}

impl MapChanges<'_> {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }
}

/// The changes from `old` to `new`, one entry per map of `new` whose records differ (a map
/// `old` does not have counts as empty before).
pub fn image_changes<'a>(old: &[&'a MapImage], new: &[&'a MapImage]) -> Vec<MapChanges<'a>> {
    let mut out = Vec::new();
    for image in new {
        let before: &[(Vec<u8>, Vec<u8>)] = old
            .iter()
            .find(|m| m.name == image.name)
            .map_or(&[], |m| m.entries.as_slice());
        let changes = map_changes(image, before);
        if !changes.is_empty() {
            out.push(changes);
        }
    }
    out
}

fn map_changes<'a>(image: &'a MapImage, before: &'a [(Vec<u8>, Vec<u8>)]) -> MapChanges<'a> {
    let mut changes = MapChanges {
        name: &image.name,
        max_entries: image.max_entries,
        upserts: Vec::new(),
        deletes: Vec::new(),
    };
    if before == image.entries.as_slice() {
        return changes;
    }
    let (mut old, mut new) = (before.iter().peekable(), image.entries.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some((k, _)), None) => {
                changes.deletes.push(k);
                old.next();
            }
            (None, Some((k, v))) => {
                changes.upserts.push((k, v));
                new.next();
            }
            (Some((ok, ov)), Some((nk, nv))) => match ok.cmp(nk) {
                Ordering::Less => {
                    changes.deletes.push(ok);
                    old.next();
                }
                Ordering::Greater => {
                    changes.upserts.push((nk, nv));
                    new.next();
                }
                Ordering::Equal => {
                    if ov != nv {
                        changes.upserts.push((nk, nv));
                    }
                    old.next();
                    new.next();
                }
            },
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entries: &[(u8, u8)]) -> MapImage {
        MapImage {
            name: "m".into(),
            key_size: 1,
            value_size: 1,
            max_entries: 8,
            entries: entries.iter().map(|(k, v)| (vec![*k], vec![*v])).collect(),
        }
    }

    #[test]
    fn equal_images_change_nothing() {
        let a = image(&[(1, 1), (2, 2)]);
        assert!(image_changes(&[&a], &[&a]).is_empty());
    }

    #[test]
    fn added_changed_and_removed_records_are_found_by_one_walk() {
        let old = image(&[(1, 1), (2, 2), (4, 4)]);
        let new = image(&[(0, 0), (2, 9), (3, 3), (4, 4)]);
        let changes = image_changes(&[&old], &[&new]);
        assert_eq!(changes.len(), 1);
        let upserts: Vec<(u8, u8)> = changes[0]
            .upserts
            .iter()
            .map(|(k, v)| (k[0], v[0]))
            .collect();
        assert_eq!(upserts, vec![(0, 0), (2, 9), (3, 3)]);
        let deletes: Vec<u8> = changes[0].deletes.iter().map(|k| k[0]).collect();
        assert_eq!(deletes, vec![1]);
    }

    #[test]
    fn a_map_the_old_images_lack_is_written_whole() {
        let new = image(&[(1, 1)]);
        let changes = image_changes(&[], &[&new]);
        assert_eq!(changes[0].upserts.len(), 1);
    }
}
