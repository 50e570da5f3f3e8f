//! `events`: decoded verdict/drop records from every installed endpoint's pinned ring buffer,
//! with the endpoint's name and the rule (name, file:line) from its live generation's record.

use std::time::{Duration, Instant};

use libbpf_rs::{MapHandle, RingBufferBuilder};
use policyc_backends::layout::{addr_from_bytes, Action, Event, Reason, Verdict};
use serde::Serialize;

use super::artifact::Manifest;
use super::error::NodeError;
use super::live::live_record;
use super::pins::{direction_name, NodePaths};

/// A decoded event.
#[derive(Debug, Clone, Serialize)]
pub struct DecodedEvent {
    /// `namespace/name`.
    pub endpoint: String,
    /// `ingress` / `egress`.
    pub direction: String,
    /// `drop` / `pass`.
    pub action: String,
    /// Verdict name, if a table lookup happened.
    pub verdict: Option<String>,
    /// Reason name.
    pub reason: String,
    /// Peer address.
    pub peer: String,
    /// Peer identity and its labels.
    pub identity: u32,
    /// Labels of the identity.
    pub identity_labels: String,
    /// IP protocol.
    pub protocol: u8,
    /// Port (or ICMP type).
    pub port: u16,
    /// Datapath rule id.
    pub rule_id: u32,
    /// `kind ns/name action (file:line:col path)`.
    pub rule: Option<String>,
    /// The question name of a DNS drop (`evil.example.com.`), when the DNS object read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// Events of this peer the endpoint left out (over its per-peer budget) since the previous
    /// one it emitted.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl std::fmt::Display for DecodedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} peer {} (identity {} [{}]) proto {} port {} verdict {} reason {} rule {}",
            self.endpoint,
            self.direction,
            self.action.to_uppercase(),
            self.peer,
            self.identity,
            self.identity_labels,
            self.protocol,
            self.port,
            self.verdict.as_deref().unwrap_or("-"),
            self.reason,
            self.rule.as_deref().unwrap_or("-"),
        )?;
        if let Some(name) = &self.dns_name {
            write!(f, " name {name}")?;
        }
        if self.suppressed > 0 {
            write!(
                f,
                " (+{} earlier events of this peer suppressed)",
                self.suppressed
            )?;
        }
        Ok(())
    }
}

/// Decodes one ring-buffer record: the datapath's, or the DNS object's longer one with the
/// question name.
pub fn decode_record(
    endpoint: &str,
    manifest: Option<&Manifest>,
    record: &[u8],
) -> Option<DecodedEvent> {
    let event = Event::decode(record)?;
    Some(DecodedEvent {
        dns_name: policyc_backends::dns::event_name(record),
        ..decode_event(endpoint, manifest, &event)
    })
}

/// Decodes one record.
fn decode_event(endpoint: &str, manifest: Option<&Manifest>, event: &Event) -> DecodedEvent {
    let verdict = event.verdict().map(|v| match v {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::DefaultDeny => "default-deny",
        Verdict::RedirectL7 => "redirect-l7",
        Verdict::AuthRequired => "auth-required",
    });
    DecodedEvent {
        endpoint: endpoint.to_owned(),
        direction: event.direction().map_or("?", direction_name).to_owned(),
        action: match event.action() {
            Some(Action::Drop) => "drop".into(),
            Some(Action::Pass) => "pass".into(),
            None => "?".into(),
        },
        verdict: verdict.map(str::to_owned),
        reason: event
            .reason()
            .map_or_else(|| format!("#{}", event.reason), Reason::word),
        peer: if event.family == 0 {
            "-".into()
        } else {
            addr_from_bytes(event.family, &event.peer_addr)
                .unwrap_or(std::net::IpAddr::from(event.peer_addr))
                .to_string()
        },
        identity: event.identity,
        suppressed: event.suppressed,
        identity_labels: manifest.map_or_else(|| "?".into(), |m| m.identity_labels(event.identity)),
        protocol: event.protocol,
        port: event.port,
        rule_id: event.rule_id,
        rule: if matches!(
            event.reason(),
            Some(Reason::DnsRefused | Reason::DnsUnjudgeable)
        ) {
            // The DNS object judges by the endpoint's DNS rules as a whole: no rule id.
            Some(format!("rules.dns of {endpoint}"))
        } else {
            manifest
                .and_then(|m| m.rule(event.rule_id))
                .map(|r| r.describe())
        },
        dns_name: None,
    }
}

/// Reads events until `count` were seen, or (without `follow`) the rings are drained, or
/// `timeout` passes. Each is handed to `sink` as it arrives. The rings read are those of the
/// endpoints installed when it starts; with none installed it is an error
/// ([`NodeError::NothingInstalled`]), with or without `follow`.
pub fn read_events(
    paths: &NodePaths,
    count: Option<usize>,
    follow: bool,
    timeout: Option<Duration>,
    sink: impl FnMut(&DecodedEvent),
) -> Result<usize, NodeError> {
    read_events_matching(paths, &[], &|_| true, count, follow, timeout, sink)
}

/// [`read_events`] of the events `matches` accepts (`count` counts those); with `only`
/// endpoints only their rings are read, and one that is not installed is an error
/// (`super::events_filter::EventFilter` gives both).
pub fn read_events_matching(
    paths: &NodePaths,
    only: &[String],
    matches: &dyn Fn(&DecodedEvent) -> bool,
    count: Option<usize>,
    follow: bool,
    timeout: Option<Duration>,
    mut sink: impl FnMut(&DecodedEvent),
) -> Result<usize, NodeError> {
    let installed = paths.installed_endpoints()?;
    if installed.is_empty() {
        return Err(NodeError::NothingInstalled {
            pin_root: paths.pin_root.clone(),
            what: "no event ring to read",
        });
    }
    if let Some(missing) = only.iter().find(|e| !installed.contains(e)) {
        return Err(NodeError::State {
            endpoint: missing.clone(),
            problem: format!("is not installed (installed: {})", installed.join(", ")),
        });
    }
    let endpoints: Vec<String> = installed
        .into_iter()
        .filter(|e| only.is_empty() || only.contains(e))
        .collect();
    let mut rings = Vec::new();
    for endpoint in &endpoints {
        let manifest = live_record(paths, endpoint).ok().map(|r| r.manifest);
        let path = paths.map(endpoint, 0, policyc_backends::layout::map_names::EVENTS);
        let handle = MapHandle::from_pinned_path(&path).map_err(NodeError::kernel(
            endpoint,
            format!("opening {}", path.display()),
        ))?;
        rings.push((endpoint.clone(), manifest, handle));
    }
    let (sender, receiver) = std::sync::mpsc::channel::<DecodedEvent>();
    let mut builder = RingBufferBuilder::new();
    for (endpoint, manifest, handle) in &rings {
        let sender = sender.clone();
        let name = endpoint.clone();
        let manifest = manifest.clone();
        builder
            .add(handle, move |bytes| {
                if let Some(event) = decode_record(&name, manifest.as_ref(), bytes) {
                    let _ = sender.send(event);
                }
                0
            })
            .map_err(NodeError::kernel(endpoint, "reading the event ring"))?;
    }
    let ring = builder
        .build()
        .map_err(NodeError::kernel("*", "reading the event rings"))?;
    let started = Instant::now();
    let mut seen = 0usize;
    loop {
        let done_by_count = count.is_some_and(|c| seen >= c);
        let done_by_time = timeout.is_some_and(|t| started.elapsed() >= t);
        if done_by_count || done_by_time {
            break;
        }
        let waiting = follow || count.is_some();
        if waiting {
            ring.poll(Duration::from_millis(100))
                .map_err(NodeError::kernel("*", "polling the event rings"))?;
        } else {
            ring.consume()
                .map_err(NodeError::kernel("*", "reading the event rings"))?;
        }
        let mut got_any = false;
        while let Ok(event) = receiver.try_recv() {
            got_any = true;
            if !matches(&event) {
                continue;
            }
            if count.is_some_and(|c| seen >= c) {
                break;
            }
            sink(&event);
            seen += 1;
        }
        if !waiting && !got_any {
            break;
        }
    }
    Ok(seen)
}
