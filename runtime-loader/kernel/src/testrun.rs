//! BPF_PROG_TEST_RUN harness: load an endpoint's datapath with its tables, run crafted frames
//! through either direction and attach kind, and read the verdict, reason and event.

use std::cell::RefCell;
use std::rc::Rc;

use libbpf_rs::{MapCore, RingBuffer, RingBufferBuilder};
use policyc_backends::layout::{
    map_names, Action, CtKey, CtValue, Direction, Event, PolicycConfig, Reason, RuleCounter,
    Verdict,
};
use policyc_backends::{endpoint_images, ipcache_image, EndpointImages, EndpointTables};
use policyc_backends::{IpcacheEntry, MapImage, DATAPATH_OBJECT};

use crate::datapath::{program_name, AttachKind, DatapathInstance, LoadRequest};
use crate::error::LoaderError;

/// tcx return value for "pass to the next program" (`PC_TCX_NEXT` = -1 in
/// `bpf-templates/policyc_packet.h`), as `BPF_PROG_TEST_RUN` reports it.
pub const TCX_NEXT: u32 = u32::MAX;
/// tcx return value for drop (`PC_TCX_DROP`).
pub const TCX_DROP: u32 = 2;

/// What the program did with one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The program's return value.
    pub return_value: u32,
    /// Whether the packet passes (derived from the return value and attach kind).
    pub passed: bool,
    /// The event the program emitted for this packet (the harness enables events for passed
    /// packets too). None for ARP, which passes silently.
    pub event: Option<Event>,
}

impl Outcome {
    /// The verdict recorded in the event, if a policy lookup happened.
    pub fn verdict(&self) -> Option<Verdict> {
        self.event.and_then(|e| e.verdict())
    }

    /// The reason recorded in the event.
    pub fn reason(&self) -> Option<Reason> {
        self.event.and_then(|e| e.reason())
    }
}

/// A loaded endpoint datapath plus an event reader, for tests.
pub struct TestHarness {
    // Declared first so it is dropped before the object that owns the ring buffer map.
    events: RingBuffer<'static>,
    received: Rc<RefCell<Vec<Vec<u8>>>>,
    instance: DatapathInstance,
}

impl std::fmt::Debug for TestHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestHarness")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl TestHarness {
    /// Builds images from tables and loads them; events for passed packets are enabled.
    pub fn from_tables(
        tables: &EndpointTables,
        ipcache: &[IpcacheEntry],
        kinds: &[AttachKind],
    ) -> Result<TestHarness, LoaderError> {
        let images = endpoint_images(tables)?;
        let ipcache = ipcache_image(ipcache)?;
        TestHarness::from_images(&images, &ipcache, kinds)
    }

    /// Loads prepared images (as read from an artifact) into the template object; events for
    /// passed packets are enabled.
    pub fn from_images(
        images: &EndpointImages,
        ipcache: &MapImage,
        kinds: &[AttachKind],
    ) -> Result<TestHarness, LoaderError> {
        TestHarness::from_images_sharing(images, ipcache, kinds, None)
    }

    /// Loads prepared images into `object` (the template, or the endpoint's `--specialize`
    /// object from the artifact); events for passed packets are enabled.
    pub fn from_object_images(
        object: &[u8],
        images: &EndpointImages,
        ipcache: &MapImage,
        kinds: &[AttachKind],
    ) -> Result<TestHarness, LoaderError> {
        TestHarness::from_object_images_sharing(object, images, ipcache, kinds, None)
    }

    /// Like [`TestHarness::from_images`], reading toFQDNs addresses from `learned` (the
    /// node-wide map a DNS object learns into) instead of an empty map of its own.
    pub fn from_images_sharing(
        images: &EndpointImages,
        ipcache: &MapImage,
        kinds: &[AttachKind],
        learned: Option<&crate::fqdn::LearnedMap>,
    ) -> Result<TestHarness, LoaderError> {
        TestHarness::from_object_images_sharing(DATAPATH_OBJECT, images, ipcache, kinds, learned)
    }

    /// [`TestHarness::from_images_sharing`] with `object` (the template or a `--specialize`
    /// object) instead of the embedded template.
    pub fn from_object_images_sharing(
        object: &[u8],
        images: &EndpointImages,
        ipcache: &MapImage,
        kinds: &[AttachKind],
        learned: Option<&crate::fqdn::LearnedMap>,
    ) -> Result<TestHarness, LoaderError> {
        let setup = Setup {
            learned,
            ..Setup::default()
        };
        TestHarness::build(object, images, ipcache, kinds, setup)
    }

    /// Like [`TestHarness::from_tables`], with `adjust` applied to the configuration last
    /// (after the harness's own settings: events for passed packets, no event budget).
    pub fn from_tables_with(
        tables: &EndpointTables,
        ipcache: &[IpcacheEntry],
        kinds: &[AttachKind],
        adjust: impl Fn(&mut PolicycConfig),
    ) -> Result<TestHarness, LoaderError> {
        let images = endpoint_images(tables)?;
        let ipcache = ipcache_image(ipcache)?;
        let setup = Setup {
            adjust: Some(&adjust),
            ..Setup::default()
        };
        TestHarness::build(DATAPATH_OBJECT, &images, &ipcache, kinds, setup)
    }

    /// The endpoint's next generation as the node loader installs it: new tables, loaded as
    /// `generation`, sharing this harness's conntrack and fragment maps (as every generation
    /// shares the endpoint's pinned ones).
    pub fn next_generation(
        &self,
        tables: &EndpointTables,
        ipcache: &[IpcacheEntry],
        generation: u32,
    ) -> Result<TestHarness, LoaderError> {
        let images = endpoint_images(tables)?;
        let ipcache = ipcache_image(ipcache)?;
        let adjust = |config: &mut PolicycConfig| config.generation = generation;
        let setup = Setup {
            adjust: Some(&adjust),
            flows_of: Some(&self.instance),
            ..Setup::default()
        };
        TestHarness::build(
            DATAPATH_OBJECT,
            &images,
            &ipcache,
            self.instance.kinds(),
            setup,
        )
    }

    fn build(
        object: &[u8],
        images: &EndpointImages,
        ipcache: &MapImage,
        kinds: &[AttachKind],
        setup: Setup<'_>,
    ) -> Result<TestHarness, LoaderError> {
        let mut config = images.config;
        config.emit_allow_events = 1;
        // Tests read every event; the budget is tested by setting it through `adjust`.
        config.event_budget_per_peer = 0;
        if let Some(adjust) = setup.adjust {
            adjust(&mut config);
        }
        let mut maps: Vec<&MapImage> = images.maps.iter().collect();
        maps.push(ipcache);
        let request = LoadRequest {
            config,
            maps,
            kinds: kinds.to_vec(),
        };
        let instance = DatapathInstance::load_object_with(object, &request, |open| {
            if let Some(learned) = setup.learned {
                learned.reuse_in(open)?;
            }
            if let Some(previous) = setup.flows_of {
                previous.reuse_flow_maps_in(open)?;
            }
            Ok(())
        })?;

        let received: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let sink = Rc::clone(&received);
        let events_map = instance.map(map_names::EVENTS)?;
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&events_map, move |data: &[u8]| {
                sink.borrow_mut().push(data.to_vec());
                0
            })
            .map_err(|source| LoaderError::Map {
                map: map_names::EVENTS.into(),
                source,
            })?;
        let events = builder.build().map_err(|source| LoaderError::Map {
            map: map_names::EVENTS.into(),
            source,
        })?;
        Ok(TestHarness {
            events,
            received,
            instance,
        })
    }

    /// The loaded datapath.
    pub fn instance(&self) -> &DatapathInstance {
        &self.instance
    }

    /// Runs one Ethernet frame through the program of `direction` and `kind`.
    /// cgroup_skb programs see the frame from its L3 header (the kernel strips Ethernet).
    pub fn run(
        &self,
        direction: Direction,
        kind: AttachKind,
        frame: &[u8],
    ) -> Result<Outcome, LoaderError> {
        let program = self.instance.program(direction, kind)?;
        let program_error = |source| LoaderError::Program {
            program: program_name(direction, kind).to_owned(),
            source,
        };
        self.drain().map_err(program_error)?;
        self.received.borrow_mut().clear();
        let input = libbpf_rs::ProgramInput {
            data_in: Some(frame),
            ..Default::default()
        };
        let output = program.test_run(input).map_err(program_error)?;
        self.drain().map_err(program_error)?;
        let event = self
            .received
            .borrow()
            .last()
            .and_then(|raw| Event::decode(raw));
        let passed = match kind {
            AttachKind::Tcx => output.return_value != TCX_DROP,
            AttachKind::CgroupSkb => output.return_value == 1,
        };
        if let Some(event) = &event {
            let event_passed = event.action() == Some(Action::Pass);
            if event_passed != passed {
                return Err(LoaderError::Layout(format!(
                    "event action {:?} disagrees with return value {}",
                    event.action(),
                    output.return_value
                )));
            }
        }
        Ok(Outcome {
            return_value: output.return_value,
            passed,
            event,
        })
    }

    fn drain(&self) -> libbpf_rs::Result<()> {
        self.events.consume()
    }

    /// Packets and bytes counted for a rule, summed over CPUs.
    pub fn rule_counter(&self, rule_id: u32) -> Result<RuleCounter, LoaderError> {
        let map = self.instance.map(map_names::COUNTERS)?;
        let values = map
            .lookup_percpu(&rule_id.to_ne_bytes(), libbpf_rs::MapFlags::ANY)
            .map_err(|source| LoaderError::Map {
                map: map_names::COUNTERS.into(),
                source,
            })?
            .unwrap_or_default();
        let mut total = RuleCounter::default();
        for cpu in values.iter().filter_map(|v| RuleCounter::decode(v)) {
            total.packets += cpu.packets;
            total.bytes += cpu.bytes;
        }
        Ok(total)
    }

    /// Forgets all tracked flows and fragments.
    pub fn flush_flows(&self) -> Result<(), LoaderError> {
        self.instance.flush_flows()
    }

    /// Every conntrack entry (`pc_ct` and `pc_ct_in`), expired ones included.
    pub fn ct_entries(&self) -> Result<Vec<(CtKey, CtValue)>, LoaderError> {
        let mut entries = Vec::new();
        for name in [map_names::CT, map_names::CT_IN] {
            let map = self.instance.map(name)?;
            for key in map.keys() {
                let value = map
                    .lookup(&key, libbpf_rs::MapFlags::ANY)
                    .map_err(|source| LoaderError::Map {
                        map: name.into(),
                        source,
                    })?;
                if let (Some(k), Some(v)) =
                    (CtKey::decode(&key), value.and_then(|v| CtValue::decode(&v)))
                {
                    entries.push((k, v));
                }
            }
        }
        Ok(entries)
    }
}

/// How [`TestHarness::build`] loads: maps to share and a last word on the configuration.
#[derive(Default)]
struct Setup<'a> {
    learned: Option<&'a crate::fqdn::LearnedMap>,
    flows_of: Option<&'a DatapathInstance>,
    adjust: Option<&'a dyn Fn(&mut PolicycConfig)>,
}

/// Runs a program pinned in bpffs — an installed endpoint's live program, with its live maps —
/// once on `frame` (an Ethernet frame; for cgroup_skb the kernel strips L2 first) and returns the
/// program's return value (cgroup_skb: 1 pass, 0 drop). For tests of what `policy-loader`
/// installed; it never changes the maps except through the program itself (conntrack).
pub fn run_pinned(program: &std::path::Path, data: &[u8]) -> Result<u32, LoaderError> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let failed = |source: libbpf_rs::Error| LoaderError::Program {
        program: program.display().to_string(),
        source,
    };
    let path = std::ffi::CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|e| failed(libbpf_rs::Error::from(std::io::Error::other(e))))?;
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    let raw = unsafe { libbpf_rs::libbpf_sys::bpf_obj_get(path.as_ptr()) };
    if raw < 0 {
        return Err(failed(libbpf_rs::Error::from(
            std::io::Error::last_os_error(),
        )));
    }
    // SAFETY: `raw` is a fresh file descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut opts = libbpf_rs::libbpf_sys::bpf_test_run_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_test_run_opts>() as _,
        data_in: data.as_ptr().cast(),
        data_size_in: u32::try_from(data.len()).unwrap_or(u32::MAX),
        repeat: 1,
        ..Default::default()
    };
    // SAFETY: `opts` points at `data`, which outlives the call; the kernel only reads it.
    let rc = unsafe { libbpf_rs::libbpf_sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &mut opts) };
    if rc < 0 {
        return Err(failed(libbpf_rs::Error::from(
            std::io::Error::last_os_error(),
        )));
    }
    Ok(opts.retval)
}
