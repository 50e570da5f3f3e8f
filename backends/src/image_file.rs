//! A small versioned binary file format for [`EndpointImages`] and stand-alone map images,
//! shared by `policyc build` (writer) and `policy-loader` (reader).
//!
//! Layout (framing little-endian; key/value bytes are the target's native order, recorded in
//! the header): `"PCMAPIMG"`, u32 format version, u8 byte order (`b'L'`/`b'B'`), u8 has-config,
//! u16 reserved, [u32 config length + config bytes], u32 map count, then per map: u16 name
//! length + name, u32 key size, u32 value size, u32 max entries, u32 entry count, entries as
//! key bytes followed by value bytes.

use crate::error::BackendError;
use crate::layout::PolicycConfig;
use crate::map_image::{EndpointImages, MapImage};

/// File magic.
pub const MAGIC: &[u8; 8] = b"PCMAPIMG";
/// Format version written and accepted.
pub const FORMAT_VERSION: u32 = 1;

const NATIVE_ORDER: u8 = if cfg!(target_endian = "little") {
    b'L'
} else {
    b'B'
};

/// The decoded contents of an image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// `.rodata` configuration (endpoint files), absent for node-wide files such as the ipcache.
    pub config: Option<PolicycConfig>,
    /// Map images.
    pub maps: Vec<MapImage>,
}

impl From<EndpointImages> for ImageFile {
    fn from(images: EndpointImages) -> Self {
        ImageFile {
            config: Some(images.config),
            maps: images.maps,
        }
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn len_u32(what: &str, n: usize) -> Result<u32, BackendError> {
    u32::try_from(n).map_err(|_| BackendError::BadImageFile(format!("{what} too large")))
}

impl ImageFile {
    /// Serialises the file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BackendError> {
        encode(self.config.as_ref(), self.maps.iter())
    }

    /// The bytes of a file holding `map` alone (no config): what
    /// `ImageFile { config: None, maps: vec![map.clone()] }.to_bytes()` gives, without the copy.
    pub fn map_bytes(map: &MapImage) -> Result<Vec<u8>, BackendError> {
        encode(None, std::iter::once(map))
    }
}

fn encode<'m>(
    config: Option<&PolicycConfig>,
    maps: impl ExactSizeIterator<Item = &'m MapImage>,
) -> Result<Vec<u8>, BackendError> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    push_u32(&mut out, FORMAT_VERSION);
    out.push(NATIVE_ORDER);
    out.push(u8::from(config.is_some()));
    push_u16(&mut out, 0);
    if let Some(config) = config {
        let bytes = config.encode();
        push_u32(&mut out, len_u32("config", bytes.len())?);
        out.extend_from_slice(&bytes);
    }
    push_u32(&mut out, len_u32("map count", maps.len())?);
    for map in maps {
        let name = map.name.as_bytes();
        push_u16(
            &mut out,
            u16::try_from(name.len())
                .map_err(|_| BackendError::BadImageFile("map name too long".into()))?,
        );
        out.extend_from_slice(name);
        push_u32(&mut out, map.key_size);
        push_u32(&mut out, map.value_size);
        push_u32(&mut out, map.max_entries);
        push_u32(&mut out, len_u32("entry count", map.entries.len())?);
        for (key, value) in &map.entries {
            if key.len() != map.key_size as usize || value.len() != map.value_size as usize {
                return Err(BackendError::BadImageFile(format!(
                    "map {}: record size differs from the declared key/value size",
                    map.name
                )));
            }
            out.extend_from_slice(key);
            out.extend_from_slice(value);
        }
    }
    Ok(out)
}

impl ImageFile {
    /// Parses a file written by [`ImageFile::to_bytes`] on a machine of the same byte order.
    pub fn from_bytes(bytes: &[u8]) -> Result<ImageFile, BackendError> {
        let mut r = Cursor { bytes, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(BackendError::BadImageFile(
                "not a policyc map image (bad magic)".into(),
            ));
        }
        let version = r.u32()?;
        if version != FORMAT_VERSION {
            return Err(BackendError::BadImageFile(format!(
                "format version {version}, expected {FORMAT_VERSION}"
            )));
        }
        let order = r.take(1)?[0];
        if order != NATIVE_ORDER {
            return Err(BackendError::BadImageFile(
                "written for the other byte order".into(),
            ));
        }
        let has_config = r.take(1)?[0] != 0;
        r.take(2)?;
        let config = if has_config {
            let len = r.u32()? as usize;
            let raw = r.take(len)?;
            Some(
                PolicycConfig::decode(raw)
                    .ok_or_else(|| BackendError::BadImageFile("config too short".into()))?,
            )
        } else {
            None
        };
        let map_count = r.u32()?;
        let mut maps = Vec::new();
        for _ in 0..map_count {
            let name_len = usize::from(u16::from_le_bytes([r.take(1)?[0], r.take(1)?[0]]));
            let name = String::from_utf8(r.take(name_len)?.to_vec())
                .map_err(|_| BackendError::BadImageFile("map name is not UTF-8".into()))?;
            let key_size = r.u32()?;
            let value_size = r.u32()?;
            let max_entries = r.u32()?;
            let count = r.u32()?;
            // Checked before reading: a count of zero-byte records would otherwise loop (and
            // allocate) up to 2^32 times on a file of a few bytes.
            check_entry_count(&name, key_size, value_size, count, r.remaining())?;
            let mut entries = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let key = r.take(key_size as usize)?.to_vec();
                let value = r.take(value_size as usize)?.to_vec();
                entries.push((key, value));
            }
            maps.push(MapImage {
                name,
                key_size,
                value_size,
                max_entries,
                entries,
            });
        }
        if r.pos != bytes.len() {
            return Err(BackendError::BadImageFile("trailing bytes".into()));
        }
        Ok(ImageFile { config, maps })
    }

    /// Writes the file.
    pub fn write(&self, path: &std::path::Path) -> Result<(), BackendError> {
        std::fs::write(path, self.to_bytes()?)
            .map_err(|e| BackendError::Io(format!("{}: {e}", path.display())))
    }

    /// Reads a file; a malformed one is reported with its path.
    pub fn read(path: &std::path::Path) -> Result<ImageFile, BackendError> {
        let bytes = std::fs::read(path)
            .map_err(|e| BackendError::Io(format!("{}: {e}", path.display())))?;
        ImageFile::from_bytes(&bytes).map_err(|e| match e {
            BackendError::BadImageFile(problem) => {
                BackendError::BadImageFile(format!("{}: {problem}", path.display()))
            }
            other => other,
        })
    }
}

/// Rejects a map whose `count` records of `key_size + value_size` bytes cannot fit in the
/// `remaining` bytes of the file (records of zero bytes included).
fn check_entry_count(
    name: &str,
    key_size: u32,
    value_size: u32,
    count: u32,
    remaining: usize,
) -> Result<(), BackendError> {
    let record = u64::from(key_size) + u64::from(value_size);
    let needed = record.checked_mul(u64::from(count));
    let fits = match needed {
        Some(needed) => needed <= u64::try_from(remaining).unwrap_or(u64::MAX),
        None => false,
    };
    if count > 0 && (record == 0 || !fits) {
        return Err(BackendError::BadImageFile(format!(
            "map {name}: {count} records of {record} bytes do not fit in the rest of the file ({remaining} bytes)"
        )));
    }
    Ok(())
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BackendError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| BackendError::BadImageFile("truncated".into()))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn u32(&mut self) -> Result<u32, BackendError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

impl EndpointImages {
    /// Reassembles endpoint images from a file's contents (None without a config).
    pub fn from_file(file: &ImageFile) -> Option<EndpointImages> {
        Some(EndpointImages {
            config: file.config?,
            maps: file.maps.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map_image::ipcache_image;
    use crate::tables::IpcacheEntry;

    #[test]
    fn files_round_trip_and_reject_truncation() {
        let entry = IpcacheEntry {
            prefix: "10.1.0.0/16".parse().expect("prefix"),
            identity: 9,
        };
        let image = ipcache_image(&[entry]).expect("image");
        let file = ImageFile {
            config: None,
            maps: vec![image],
        };
        let bytes = file.to_bytes().expect("encode");
        assert_eq!(ImageFile::map_bytes(&file.maps[0]), Ok(bytes.clone()));
        assert_eq!(ImageFile::from_bytes(&bytes), Ok(file));
        assert!(ImageFile::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    /// The bytes of a file with one map `m` of `count` records of the given sizes, followed by
    /// `body` (fuzz target `artifact` found the zero-size case: 2^32 empty records, OOM).
    fn one_map(key_size: u32, value_size: u32, count: u32, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        push_u32(&mut out, FORMAT_VERSION);
        out.extend_from_slice(&[NATIVE_ORDER, 0, 0, 0]);
        push_u32(&mut out, 1);
        push_u16(&mut out, 1);
        out.push(b'm');
        for field in [key_size, value_size, 1, count] {
            push_u32(&mut out, field);
        }
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn record_counts_that_cannot_fit_are_refused_before_reading() {
        // (key size, value size, count, body bytes, accepted)
        let cases: &[(u32, u32, u32, usize, bool)] = &[
            (0, 0, u32::MAX, 0, false),
            (0, 0, 1, 0, false),
            (0, 0, 0, 0, true),
            (4, 4, u32::MAX, 8, false),
            (u32::MAX, u32::MAX, u32::MAX, 8, false),
            (4, 4, 2, 15, false),
            (4, 4, 2, 16, true),
            (0, 1, 3, 3, true),
        ];
        for &(key_size, value_size, count, body, accepted) in cases {
            let bytes = one_map(key_size, value_size, count, &vec![7; body]);
            let result = ImageFile::from_bytes(&bytes);
            assert_eq!(
                result.is_ok(),
                accepted,
                "key {key_size} value {value_size} count {count} body {body}: {result:?}"
            );
        }
    }
}
