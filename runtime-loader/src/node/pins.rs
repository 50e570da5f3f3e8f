//! Where an installation lives: pin paths under `<bpffs>/policyc/` and generation records
//! under the state directory (reading back which generation an endpoint runs is
//! [`super::live`]), and removing pins.

use std::path::{Path, PathBuf};

use libbpf_rs::{Link, ProgramHandle};
use policyc_backends::artifact::Manifest;
use policyc_backends::layout::Direction;
use serde::{Deserialize, Serialize};

use super::error::NodeError;

/// Maps shared by every generation of an endpoint.
pub const SHARED_MAPS: [&str; 5] = [
    policyc_backends::layout::map_names::CT,
    policyc_backends::layout::map_names::CT_IN,
    policyc_backends::layout::map_names::FRAG,
    policyc_backends::layout::map_names::EVENTS,
    policyc_backends::layout::map_names::DROPS,
];

/// Maps private to one generation.
pub const GENERATION_MAPS: [&str; 5] = [
    policyc_backends::layout::map_names::CLASS,
    policyc_backends::layout::map_names::PORTFN,
    policyc_backends::layout::map_names::INTERVALS,
    policyc_backends::layout::map_names::COUNTERS,
    policyc_backends::layout::map_names::IPCACHE,
];

/// The two directions, ingress first.
pub const DIRECTIONS: [Direction; 2] = [Direction::Ingress, Direction::Egress];

/// Lower-case direction name.
pub fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// Roots of an installation.
#[derive(Debug, Clone)]
pub struct NodePaths {
    /// `<bpffs>/policyc`.
    pub pin_root: PathBuf,
    /// Generation records.
    pub state_dir: PathBuf,
}

/// Where an endpoint is attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttachPoint {
    /// tcx on the host side of the endpoint's interface.
    Tcx {
        /// Interface name.
        interface: String,
        /// Its index when attached.
        ifindex: u32,
    },
    /// cgroup_skb on a cgroup v2 directory.
    CgroupSkb {
        /// The cgroup directory.
        cgroup: PathBuf,
    },
}

impl std::fmt::Display for AttachPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttachPoint::Tcx { interface, ifindex } => {
                write!(f, "tcx {interface} (ifindex {ifindex})")
            }
            AttachPoint::CgroupSkb { cgroup } => write!(f, "cgroup_skb {}", cgroup.display()),
        }
    }
}

/// What generation N of an endpoint was built from; written before it is switched to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// `namespace/name`.
    pub endpoint: String,
    /// Generation number.
    pub generation: u64,
    /// sha256 of the artifact's manifest.json.
    pub artifact_digest: String,
    /// Artifact directory it was applied from.
    pub artifact_dir: PathBuf,
    /// Attach point.
    pub attach: AttachPoint,
    /// Program id per direction (`ingress`, `egress`).
    pub program_ids: std::collections::BTreeMap<String, u32>,
    /// Whether `--l7-fallback=allow-l4` was given.
    pub l7_fallback_allow_l4: bool,
    /// The artifact's manifest (rules and identities for provenance).
    pub manifest: Manifest,
    /// Microseconds from the start of this endpoint's install to this record (objects through
    /// the verifier, maps filled, pinned): `policy-loader metrics`' apply latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_micros: Option<u64>,
}

impl NodePaths {
    /// Paths for a bpffs mount and a state directory.
    pub fn new(bpffs: &Path, state_dir: &Path) -> NodePaths {
        NodePaths {
            pin_root: bpffs.join("policyc"),
            state_dir: state_dir.to_path_buf(),
        }
    }

    /// `<ns>_<name>` (Kubernetes names cannot contain `_`).
    pub fn endpoint_key(endpoint: &str) -> String {
        endpoint.replacen('/', "_", 1)
    }

    /// `namespace/name` from a directory key.
    pub fn endpoint_name(key: &str) -> String {
        key.replacen('_', "/", 1)
    }

    /// Pin directory of an endpoint.
    pub fn endpoint_dir(&self, endpoint: &str) -> PathBuf {
        self.pin_root.join(Self::endpoint_key(endpoint))
    }

    /// Pin directory of one generation.
    pub fn generation_dir(&self, endpoint: &str, generation: u64) -> PathBuf {
        self.endpoint_dir(endpoint).join(format!("g{generation}"))
    }

    /// Pinned link of a direction.
    pub fn link(&self, endpoint: &str, direction: Direction) -> PathBuf {
        self.endpoint_dir(endpoint)
            .join(format!("link_{}", direction_name(direction)))
    }

    /// Pinned dispatcher program of a direction (what the link runs, for every generation).
    pub fn dispatcher(&self, endpoint: &str, direction: Direction) -> PathBuf {
        self.endpoint_dir(endpoint)
            .join(format!("dispatch_{}", direction_name(direction)))
    }

    /// Pinned program of a direction in a generation.
    pub fn program(&self, endpoint: &str, generation: u64, direction: Direction) -> PathBuf {
        self.generation_dir(endpoint, generation)
            .join(format!("prog_{}", direction_name(direction)))
    }

    /// Pinned map (shared maps live in the endpoint directory, the others per generation).
    pub fn map(&self, endpoint: &str, generation: u64, map: &str) -> PathBuf {
        if SHARED_MAPS.contains(&map) {
            self.endpoint_dir(endpoint).join(map)
        } else {
            self.generation_dir(endpoint, generation).join(map)
        }
    }

    /// Record directory of an endpoint.
    pub fn record_dir(&self, endpoint: &str) -> PathBuf {
        self.state_dir.join(Self::endpoint_key(endpoint))
    }

    /// Record of one generation.
    pub fn record(&self, endpoint: &str, generation: u64) -> PathBuf {
        self.record_dir(endpoint)
            .join(format!("g{generation}.json"))
    }

    /// Endpoints with a pin directory, sorted.
    pub fn installed_endpoints(&self) -> Result<Vec<String>, NodeError> {
        let entries = match std::fs::read_dir(&self.pin_root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NodeError::io(&self.pin_root)(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| Self::endpoint_name(&e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Endpoints with a record directory in the state directory (an unload interrupted after
    /// removing the pins leaves one), sorted.
    pub fn recorded_endpoints(&self) -> Result<Vec<String>, NodeError> {
        let entries = match std::fs::read_dir(&self.state_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NodeError::io(&self.state_dir)(e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // `<ns>_<name>`; other state (e.g. `admitted/`) has no `_`.
            .filter(|key| key.contains('_'))
            .map(|key| Self::endpoint_name(&key))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Generation numbers with a record or a pin directory.
    pub fn generations(&self, endpoint: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for (dir, suffix) in [
            (self.endpoint_dir(endpoint), ""),
            (self.record_dir(endpoint), ".json"),
        ] {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for entry in entries.filter_map(Result::ok) {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let number = name
                        .strip_prefix('g')
                        .and_then(|n| n.strip_suffix(suffix))
                        .and_then(|n| n.parse::<u64>().ok());
                    out.extend(number);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Reads the record of a generation.
    pub fn read_record(
        &self,
        endpoint: &str,
        generation: u64,
    ) -> Result<GenerationRecord, NodeError> {
        let path = self.record(endpoint, generation);
        let bytes = std::fs::read(&path).map_err(NodeError::io(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| NodeError::Json { path, source })
    }

    /// Writes a record atomically (temporary file + rename).
    pub fn write_record(&self, record: &GenerationRecord) -> Result<(), NodeError> {
        let dir = self.record_dir(&record.endpoint);
        std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
        let path = self.record(&record.endpoint, record.generation);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(record).map_err(|source| NodeError::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&tmp, text).map_err(NodeError::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(NodeError::io(&path))
    }
}

impl AttachPoint {
    /// What a link attached here reports as its target: the ifindex (tcx) or the cgroup's
    /// inode number, which is its cgroup id (None: the cgroup directory is gone).
    pub fn target_id(&self) -> Option<u64> {
        match self {
            AttachPoint::Tcx { ifindex, .. } => Some(u64::from(*ifindex)),
            AttachPoint::CgroupSkb { cgroup } => {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(cgroup).ok().map(|m| m.ino())
            }
        }
    }
}

/// Detaches the link pinned at `path` NOW (BPF_LINK_DETACH), then removes the pin.
///
/// Removing a link's last pin detaches it too, but the kernel frees the link from a deferred
/// work item; until then the dispatcher stays on its hook while the program arrays, whose last
/// user reference went with their pins, are already emptied — and a dispatcher with an empty
/// slot drops. Detaching first closes that window. A link whose interface or cgroup is gone
/// cannot be detached and needs only its pin removed.
pub fn detach_pinned_link(path: &Path) -> Result<(), NodeError> {
    if !path.exists() {
        return Ok(());
    }
    detach_link(path);
    remove_pin(path)
}

/// Detaches the link pinned at `path` NOW (BPF_LINK_DETACH) and leaves its pin: a detached
/// link stays pinned, reporting no target, until its pin is removed. Nothing pinned there,
/// or a link whose interface or cgroup is gone, is nothing to detach.
pub fn detach_link(path: &Path) {
    if !path.exists() {
        return;
    }
    if let Ok(link) = Link::open(path) {
        let _ = link.detach();
    }
}

/// Removes a pin (or any file); one that is already gone is fine, any other error is not.
pub fn remove_pin(path: &Path) -> Result<(), NodeError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NodeError::io(path)(e)),
    }
}

/// Removes a directory tree; one that is already gone (an earlier, interrupted command) is fine.
pub fn remove_tree(dir: &Path) -> Result<(), NodeError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NodeError::io(dir)(e)),
    }
}

/// Program id of a pinned program.
pub fn pinned_program_id(path: &Path) -> Option<u32> {
    if !path.exists() {
        return None; // libbpf logs a warning for every missing pin it is asked to open
    }
    ProgramHandle::from_pinned_path(path).ok().map(|p| p.id())
}
