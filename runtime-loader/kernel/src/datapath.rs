//! Opens an endpoint's datapath object — the embedded template, or the object `policyc build
//! --specialize` generated for it (same maps and `.rodata`, its own `policy_lookup`) — writes its
//! `.rodata` configuration, sizes and fills its maps from map images, and loads it through the
//! verifier.

use libbpf_rs::btf::types::{DataSec, Var};
use libbpf_rs::btf::Btf;
use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder, OpenObject};
use policyc_backends::datapath::{programs, CONFIG_VARIABLE};
use policyc_backends::layout::{Direction, PolicycConfig};
use policyc_backends::{MapImage, DATAPATH_OBJECT};

use crate::error::LoaderError;
use crate::verifier::load_with_verifier_log;

/// How a program is attached; decides which of the four entry points is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachKind {
    /// tcx on the host side of the endpoint's interface (packets start at Ethernet).
    Tcx,
    /// cgroup_skb (packets start at L3).
    CgroupSkb,
}

impl AttachKind {
    /// Both kinds.
    pub const ALL: [AttachKind; 2] = [AttachKind::Tcx, AttachKind::CgroupSkb];
}

/// The program name for a direction and attach kind.
pub fn program_name(direction: Direction, kind: AttachKind) -> &'static str {
    match (direction, kind) {
        (Direction::Egress, AttachKind::Tcx) => programs::EGRESS_TCX,
        (Direction::Ingress, AttachKind::Tcx) => programs::INGRESS_TCX,
        (Direction::Egress, AttachKind::CgroupSkb) => programs::EGRESS_CGROUP,
        (Direction::Ingress, AttachKind::CgroupSkb) => programs::INGRESS_CGROUP,
    }
}

/// libbpf object name: `.rodata` becomes `policyc.rodata`.
const OBJECT_NAME: &str = "policyc";

/// What to load.
#[derive(Debug, Clone)]
pub struct LoadRequest<'a> {
    /// `.rodata` contents.
    pub config: PolicycConfig,
    /// Map images (endpoint maps and the ipcache); every map named must exist in the object.
    pub maps: Vec<&'a MapImage>,
    /// Which entry points to load (the others are not loaded).
    pub kinds: Vec<AttachKind>,
}

/// A loaded, filled datapath object for one endpoint. Programs of both directions share the
/// object's maps (conntrack in particular).
pub struct DatapathInstance {
    object: Object,
    kinds: Vec<AttachKind>,
}

impl std::fmt::Debug for DatapathInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatapathInstance")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

/// Offset and size of a variable in a data section of the embedded object.
pub fn section_variable(section: &str, variable: &str) -> Result<(usize, usize), LoaderError> {
    section_variable_in(DATAPATH_OBJECT, section, variable)
}

/// Offset and size of a variable in a data section of `object`.
pub fn section_variable_in(
    object: &[u8],
    section: &str,
    variable: &str,
) -> Result<(usize, usize), LoaderError> {
    let btf = Btf::from_raw(OBJECT_NAME, object)
        .map_err(LoaderError::Open)?
        .ok_or_else(|| LoaderError::Layout("object has no BTF".into()))?;
    let datasec: DataSec<'_> = btf
        .type_by_name(section)
        .ok_or_else(|| LoaderError::Layout(format!("no BTF data section {section}")))?;
    for info in datasec.iter() {
        let var: Option<Var<'_>> = btf.type_by_id(info.ty);
        if var.and_then(|v| v.name()).is_some_and(|n| n == variable) {
            return Ok((info.offset as usize, info.size));
        }
    }
    Err(LoaderError::Layout(format!(
        "no variable {variable} in {section}"
    )))
}

fn write_config(
    object: &[u8],
    open: &mut OpenObject,
    config: &PolicycConfig,
) -> Result<(), LoaderError> {
    let (offset, size) = section_variable_in(object, ".rodata", CONFIG_VARIABLE)?;
    let bytes = config.encode();
    if bytes.len() != size {
        return Err(LoaderError::Layout(format!(
            "{CONFIG_VARIABLE} is {size} bytes in BTF, {} in Rust",
            bytes.len()
        )));
    }
    let mut rodata = open
        .maps_mut()
        .find(|m| m.name().to_string_lossy().ends_with(".rodata"))
        .ok_or_else(|| LoaderError::Layout("no .rodata map".into()))?;
    let data = rodata
        .initial_value_mut()
        .ok_or_else(|| LoaderError::Layout(".rodata has no initial value".into()))?;
    let target = data
        .get_mut(offset..offset + size)
        .ok_or_else(|| LoaderError::Layout(".rodata is shorter than its BTF says".into()))?;
    target.copy_from_slice(&bytes);
    Ok(())
}

impl DatapathInstance {
    /// Opens, specialises, loads and fills one endpoint's datapath object (the template).
    pub fn load(request: &LoadRequest<'_>) -> Result<DatapathInstance, LoaderError> {
        Self::load_with(request, |_| Ok(()))
    }

    /// Like [`DatapathInstance::load`], from `object` (the template or a `--specialize` object).
    pub fn load_object(
        object: &[u8],
        request: &LoadRequest<'_>,
    ) -> Result<DatapathInstance, LoaderError> {
        Self::load_object_with(object, request, |_| Ok(()))
    }

    /// Like [`DatapathInstance::load`], with `prepare` run on the opened object just before
    /// it is loaded (the node loader reuses pinned conntrack/event maps there).
    pub fn load_with(
        request: &LoadRequest<'_>,
        prepare: impl FnOnce(&mut OpenObject) -> Result<(), LoaderError>,
    ) -> Result<DatapathInstance, LoaderError> {
        Self::load_object_with(DATAPATH_OBJECT, request, prepare)
    }

    /// [`DatapathInstance::load_with`] from `object` (the template or a `--specialize` object).
    pub fn load_object_with(
        object: &[u8],
        request: &LoadRequest<'_>,
        prepare: impl FnOnce(&mut OpenObject) -> Result<(), LoaderError>,
    ) -> Result<DatapathInstance, LoaderError> {
        let mut builder = ObjectBuilder::default();
        builder.name(OBJECT_NAME).map_err(LoaderError::Open)?;
        let mut open = builder.open_memory(object).map_err(LoaderError::Open)?;

        write_config(object, &mut open, &request.config)?;

        for image in &request.maps {
            let mut map = open
                .maps_mut()
                .find(|m| m.name().to_string_lossy() == image.name.as_str())
                .ok_or_else(|| LoaderError::Image {
                    map: image.name.clone(),
                    problem: "no such map in the datapath object".into(),
                })?;
            if map.key_size() != image.key_size || map.value_size() != image.value_size {
                return Err(LoaderError::Image {
                    map: image.name.clone(),
                    problem: format!(
                        "image has key/value sizes {}/{}, object has {}/{}",
                        image.key_size,
                        image.value_size,
                        map.key_size(),
                        map.value_size()
                    ),
                });
            }
            map.set_max_entries(admission_capacity(image))
                .map_err(|source| LoaderError::Map {
                    map: image.name.clone(),
                    source,
                })?;
        }

        let wanted: Vec<&str> = Direction::ALL
            .iter()
            .flat_map(|d| request.kinds.iter().map(move |k| program_name(*d, *k)))
            .collect();
        for mut prog in open.progs_mut() {
            let load = wanted.contains(&prog.name().to_string_lossy().as_ref());
            prog.set_autoload(load);
        }
        prepare(&mut open)?;
        let object = load_with_verifier_log(open)?;

        let instance = DatapathInstance {
            object,
            kinds: request.kinds.clone(),
        };
        for image in &request.maps {
            instance.fill(image)?;
        }
        Ok(instance)
    }

    /// Writes every record of an image into the map of the same name.
    pub fn fill(&self, image: &MapImage) -> Result<(), LoaderError> {
        let map = self
            .object
            .maps()
            .find(|m| m.name().to_string_lossy() == image.name.as_str())
            .ok_or_else(|| LoaderError::Image {
                map: image.name.clone(),
                problem: "no such map in the loaded object".into(),
            })?;
        for (key, value) in &image.entries {
            map.update(key, value, MapFlags::ANY)
                .map_err(|source| LoaderError::Map {
                    map: image.name.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// The loaded libbpf object (maps and programs by name).
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// The attach kinds whose programs were loaded.
    pub fn kinds(&self) -> &[AttachKind] {
        &self.kinds
    }

    /// The loaded program for a direction and attach kind.
    pub fn program(
        &self,
        direction: Direction,
        kind: AttachKind,
    ) -> Result<libbpf_rs::ProgramMut<'_>, LoaderError> {
        let name = program_name(direction, kind);
        self.object
            .progs_mut()
            .find(|p| p.name().to_string_lossy() == name && self.kinds.contains(&kind))
            .ok_or_else(|| LoaderError::Layout(format!("program {name} is not loaded")))
    }

    /// Instructions the verifier processed for a program (`bpf_prog_info.verified_insns`).
    pub fn verified_insns(
        &self,
        direction: Direction,
        kind: AttachKind,
    ) -> Result<u32, LoaderError> {
        use std::os::fd::{AsFd, AsRawFd};
        let program = self.program(direction, kind)?;
        // SAFETY: bpf_prog_info is plain old data; all-zero is its documented initial state.
        let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
        // SAFETY: `info` is a valid, writable bpf_prog_info of `len` bytes.
        let rc = unsafe {
            libbpf_sys::bpf_prog_get_info_by_fd(program.as_fd().as_raw_fd(), &mut info, &mut len)
        };
        if rc != 0 {
            return Err(LoaderError::Program {
                program: program_name(direction, kind).to_owned(),
                source: libbpf_rs::Error::from_raw_os_error(-rc),
            });
        }
        Ok(info.verified_insns)
    }

    /// A map of the object by name.
    pub fn map(&self, name: &str) -> Result<libbpf_rs::Map<'_>, LoaderError> {
        self.object
            .maps()
            .find(|m| m.name().to_string_lossy() == name)
            .ok_or_else(|| LoaderError::Layout(format!("no map {name}")))
    }

    /// Makes `open` (another generation of the same endpoint) use this instance's conntrack
    /// and fragment maps, as the node loader's generations share the endpoint's pinned ones.
    pub fn reuse_flow_maps_in(&self, open: &mut OpenObject) -> Result<(), LoaderError> {
        use policyc_backends::layout::map_names;
        use std::os::fd::AsFd;
        for name in [map_names::CT, map_names::CT_IN, map_names::FRAG] {
            let ours = self.map(name)?;
            let mut theirs = open
                .maps_mut()
                .find(|m| m.name().to_string_lossy() == name)
                .ok_or_else(|| LoaderError::Layout(format!("the object has no map {name}")))?;
            theirs
                .reuse_fd(ours.as_fd())
                .map_err(|source| LoaderError::Map {
                    map: name.into(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Deletes every conntrack and fragment entry (tests use this between cases).
    pub fn flush_flows(&self) -> Result<(), LoaderError> {
        use policyc_backends::layout::map_names;
        for name in [map_names::CT, map_names::CT_IN, map_names::FRAG] {
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

/// Entries `policy-loader endpoint add` may add to a live `pc_class`, `pc_portfn` (identity-keyed
/// copies) or `pc_ipcache` without a rebuild, on top of the headroom the image's `max_entries`
/// already has (`policyc_backends::capacity_with_headroom`, which an incremental apply uses up).
pub const ADMISSION_HEADROOM: u32 = 1024;

/// `max_entries` for a map created from `image`: its entries, plus [`ADMISSION_HEADROOM`] for
/// the identity-class, port-function and ipcache maps.
pub fn admission_capacity(image: &MapImage) -> u32 {
    let grows = [
        policyc_backends::layout::map_names::CLASS,
        policyc_backends::layout::map_names::PORTFN,
        policyc_backends::layout::map_names::IPCACHE,
    ]
    .contains(&image.name.as_str());
    let base = image.max_entries.max(1);
    if grows {
        base.saturating_add(ADMISSION_HEADROOM)
    } else {
        base
    }
}
