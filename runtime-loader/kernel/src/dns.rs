//! The in-kernel DNS object of one endpoint: load it with its tables, run frames through the
//! query/answer programs under BPF_PROG_TEST_RUN, and read pending, learned and counter maps.

use std::net::IpAddr;

use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder, OpenObject};
use policyc_backends::dns::{map_names, programs, DnsConfig, DnsCounter, DnsTables};
use policyc_backends::dns_layout::PendingKey;
use policyc_backends::fqdn::LearnedKey;
use policyc_backends::{MapImage, DNS_OBJECT};

use crate::error::LoaderError;
use crate::verifier::load_with_verifier_log;

/// One program run: the return value and the packet as the program left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRun {
    pub return_value: u32,
    pub packet: Vec<u8>,
}

/// A pending query: selector bitmap, question-name hash, server address bytes.
pub use policyc_backends::dns_layout::PendingValue as Pending;
/// A learned address: expiry on the `bpf_ktime_get_ns` clock and the selector bitmap.
pub use policyc_backends::fqdn::LearnedValue as Learned;

/// A loaded DNS object with both programs.
pub struct DnsInstance {
    object: Object,
}

impl std::fmt::Debug for DnsInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsInstance").finish_non_exhaustive()
    }
}

/// Largest frame a DNS program may produce (REFUSED answers only shrink).
const OUTPUT_ROOM: usize = 4096;

impl DnsInstance {
    /// Opens the DNS object, sizes its maps from the images, loads it and fills the maps.
    pub fn load(tables: &DnsTables, config: &DnsConfig) -> Result<DnsInstance, LoaderError> {
        Self::load_images(&tables.images(config), |_| Ok(()))
    }

    /// Like [`DnsInstance::load`] from map images (an artifact's); `prepare` runs on the opened
    /// object after sizing and before the verifier (the node loader reuses pinned maps there).
    pub fn load_images(
        images: &[MapImage],
        prepare: impl FnOnce(&mut OpenObject) -> Result<(), LoaderError>,
    ) -> Result<DnsInstance, LoaderError> {
        let mut builder = ObjectBuilder::default();
        builder.name("policyc_dns").map_err(LoaderError::Open)?;
        let mut open = builder.open_memory(DNS_OBJECT).map_err(LoaderError::Open)?;
        for image in images {
            let mut map = open
                .maps_mut()
                .find(|m| m.name().to_string_lossy() == image.name.as_str())
                .ok_or_else(|| image_error(image, "no such map in the DNS object".into()))?;
            if map.key_size() != image.key_size || map.value_size() != image.value_size {
                let problem = format!(
                    "image has key/value sizes {}/{}, object has {}/{}",
                    image.key_size,
                    image.value_size,
                    map.key_size(),
                    map.value_size()
                );
                return Err(image_error(image, problem));
            }
            map.set_max_entries(image.max_entries.max(1))
                .map_err(|source| LoaderError::Map {
                    map: image.name.clone(),
                    source,
                })?;
        }
        prepare(&mut open)?;
        let object = load_with_verifier_log(open)?;
        let instance = DnsInstance { object };
        for image in images {
            instance.fill(image)?;
        }
        Ok(instance)
    }

    fn fill(&self, image: &MapImage) -> Result<(), LoaderError> {
        let map = self.map(&image.name)?;
        for (key, value) in &image.entries {
            map.update(key, value, MapFlags::ANY)
                .map_err(|source| LoaderError::Map {
                    map: image.name.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// A map of the DNS object by name (see `policyc_backends::dns::map_names`).
    pub fn map(&self, name: &str) -> Result<libbpf_rs::Map<'_>, LoaderError> {
        self.object
            .maps()
            .find(|m| m.name().to_string_lossy() == name)
            .ok_or_else(|| LoaderError::Layout(format!("no map {name} in the DNS object")))
    }

    /// A program of the DNS object by name (see `policyc_backends::dns::programs`).
    pub fn program(&self, name: &str) -> Result<libbpf_rs::ProgramMut<'_>, LoaderError> {
        self.object
            .progs_mut()
            .find(|p| p.name().to_string_lossy() == name)
            .ok_or_else(|| LoaderError::Layout(format!("program {name} is not loaded")))
    }

    /// Instructions the verifier processed for `programs::QUERY` or `programs::ANSWER`.
    pub fn verified_insns(&self, name: &str) -> Result<u32, LoaderError> {
        use std::os::fd::{AsFd, AsRawFd};
        let program = self.program(name)?;
        // SAFETY: bpf_prog_info is plain old data; all-zero is its documented initial state.
        let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
        // SAFETY: `info` is a valid, writable bpf_prog_info of `len` bytes.
        let rc = unsafe {
            libbpf_sys::bpf_prog_get_info_by_fd(program.as_fd().as_raw_fd(), &mut info, &mut len)
        };
        if rc != 0 {
            return Err(LoaderError::Program {
                program: name.to_owned(),
                source: libbpf_rs::Error::from_raw_os_error(-rc),
            });
        }
        Ok(info.verified_insns)
    }

    /// Runs a frame (Ethernet first) from the endpoint through the query program.
    pub fn run_query(&self, frame: &[u8]) -> Result<DnsRun, LoaderError> {
        self.run(programs::QUERY, frame)
    }

    /// Runs a frame (Ethernet first) to the endpoint through the answer program.
    pub fn run_answer(&self, frame: &[u8]) -> Result<DnsRun, LoaderError> {
        self.run(programs::ANSWER, frame)
    }

    fn run(&self, name: &str, frame: &[u8]) -> Result<DnsRun, LoaderError> {
        let program = self.program(name)?;
        let mut out = vec![0u8; OUTPUT_ROOM.max(frame.len())];
        let input = libbpf_rs::ProgramInput {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ..Default::default()
        };
        let output = program
            .test_run(input)
            .map_err(|source| LoaderError::Program {
                program: name.to_owned(),
                source,
            })?;
        let return_value = output.return_value;
        let packet = output.data.map(|d| d.to_vec()).unwrap_or_default();
        Ok(DnsRun {
            return_value,
            packet,
        })
    }

    /// A counter summed over CPUs.
    pub fn counter(&self, which: DnsCounter) -> Result<u64, LoaderError> {
        let map = self.map(map_names::COUNTERS)?;
        let key = which.code().to_ne_bytes();
        let values = map
            .lookup_percpu(&key, MapFlags::ANY)
            .map_err(|source| LoaderError::Map {
                map: map_names::COUNTERS.into(),
                source,
            })?
            .unwrap_or_default();
        Ok(percpu_sum(&values))
    }

    /// The pending entry for (endpoint address, source port, DNS id), if any.
    pub fn pending(
        &self,
        endpoint: IpAddr,
        port: u16,
        id: u16,
    ) -> Result<Option<Pending>, LoaderError> {
        let map = self.map(map_names::PENDING)?;
        let (family, addr) = policyc_backends::layout::addr_bytes(endpoint);
        let key = PendingKey {
            endpoint: addr,
            family: family.code(),
            pad: 0,
            port,
            id,
            pad2: 0,
        }
        .encode();
        let value = map
            .lookup(&key, MapFlags::ANY)
            .map_err(|source| LoaderError::Map {
                map: map_names::PENDING.into(),
                source,
            })?;
        Ok(value.and_then(|v| Pending::decode(&v)))
    }

    /// Every learned address.
    pub fn learned(&self) -> Result<Vec<(IpAddr, Learned)>, LoaderError> {
        let map = self.map(map_names::LEARNED)?;
        let mut out = Vec::new();
        for key in map.keys() {
            let Some(value) =
                map.lookup(&key, MapFlags::ANY)
                    .map_err(|source| LoaderError::Map {
                        map: map_names::LEARNED.into(),
                        source,
                    })?
            else {
                continue;
            };
            let (Some(addr), Some(learned)) = (
                LearnedKey::decode(&key).and_then(|k| k.ip()),
                Learned::decode(&value),
            ) else {
                continue;
            };
            out.push((addr, learned));
        }
        out.sort_by_key(|(addr, _)| *addr);
        Ok(out)
    }

    /// Deletes every pending and learned entry (tests use this between cases).
    pub fn clear_state(&self) -> Result<(), LoaderError> {
        for name in [map_names::PENDING, map_names::LEARNED] {
            let map = self.map(name)?;
            let keys: Vec<Vec<u8>> = map.keys().collect();
            for key in keys {
                // A key may vanish concurrently (LRU); that is fine.
                let _ = map.delete(&key);
            }
        }
        Ok(())
    }
}

/// A per-CPU `__u64` counter summed over CPUs (a short value counts 0).
pub fn percpu_sum(values: &[Vec<u8>]) -> u64 {
    values
        .iter()
        .filter_map(|v| Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?)))
        .sum()
}

fn image_error(image: &MapImage, problem: String) -> LoaderError {
    LoaderError::Image {
        map: image.name.clone(),
        problem,
    }
}
