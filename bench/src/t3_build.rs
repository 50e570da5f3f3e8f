//! T3: compile time for the Cilium anchor shape (3k rules × 1k identities, one endpoint), per
//! stage, and the two updates: one more rule, one more identity. An update goes through
//! `policyc_compile::incremental::IncrementalEndpoint` (built from the base set, as a running
//! compiler would keep it): one more identity is added in place (universe, resolution, classes,
//! layout, the records it adds to the images and the ipcache); one more rule resolves
//! incrementally and runs the optimizer and images again. Then only the map entries that
//! changed are written into the loaded maps: no program reload unless a map's capacity (images
//! are sized with headroom) is exceeded. The images of the incremental path are checked equal
//! to a full recompile's, whose time is reported next to it.

use crate::policy_gen::{self, BenchSet, GenPorts};
use crate::workload::{StageTimes, Workload};
use policyc_backends::{EndpointImages, MapImage};
use policyc_compile::incremental::changes::image_changes;
use policyc_compile::incremental::IncrementalEndpoint;
use policyc_frontend::inventory::InventoryEndpoint;
use policyc_kernel::{AttachKind, DatapathInstance, LoadRequest};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct UpdateCost {
    /// Recompute on the incremental path (universe when needed + endpoint), ms.
    pub recompute_ms: f64,
    /// Its stages: universe rebuild (new identity only), incremental resolution, optimizer,
    /// map images, ms.
    #[serde(default)]
    pub universe_ms: f64,
    #[serde(default)]
    pub resolve_ms: f64,
    #[serde(default)]
    pub optimize_ms: f64,
    #[serde(default)]
    pub images_ms: f64,
    /// Port functions (one peer group, one protocol) the incremental resolution reused / computed.
    #[serde(default)]
    pub functions_reused: usize,
    #[serde(default)]
    pub functions_computed: usize,
    /// The same update by a full recompile (no state kept), ms.
    #[serde(default)]
    pub full_recompute_ms: f64,
    /// Diff old/new images and write/delete the changed entries in the loaded maps, ms.
    pub write_ms: f64,
    pub written: usize,
    pub deleted: usize,
    /// An array map outgrew its size: the endpoint would need a reload.
    pub needs_reload: bool,
}

fn apply_diff(
    instance: &DatapathInstance,
    old: &[&MapImage],
    new: &[&MapImage],
) -> Result<(usize, usize, bool), String> {
    let (mut written, mut deleted, mut reload) = (0, 0, false);
    // Only the records that differ (one merge walk over the sorted images per map).
    for changes in image_changes(old, new) {
        let map = instance.map(changes.name).map_err(|e| e.to_string())?;
        // The image asks for more room than the loaded map has: the headroom ran out and the
        // endpoint needs maps of the new size (a reload).
        if changes.max_entries > libbpf_rs::MapCore::max_entries(&map) {
            reload = true;
            continue;
        }
        for (k, v) in &changes.upserts {
            match libbpf_rs::MapCore::update(&map, k, v, libbpf_rs::MapFlags::ANY) {
                Ok(()) => written += 1,
                Err(_) => reload = true,
            }
        }
        // Array indices cannot be deleted; nothing refers to those left behind.
        let is_array = [
            policyc_backends::layout::map_names::INTERVALS,
            policyc_backends::layout::map_names::COUNTERS,
        ]
        .contains(&changes.name);
        for k in changes.deletes.iter().filter(|_| !is_array) {
            let _ = libbpf_rs::MapCore::delete(&map, k);
            deleted += 1;
        }
    }
    Ok((written, deleted, reload))
}

/// The incremental path must produce exactly what a full recompile does.
fn check_same(
    what: &str,
    incremental: &EndpointImages,
    full: &EndpointImages,
) -> Result<(), String> {
    if incremental.maps == full.maps && incremental.config == full.config {
        Ok(())
    } else {
        Err(format!(
            "{what}: incremental images differ from a full recompile"
        ))
    }
}

/// What a T3 child process reported before it finished or ran out of time.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct BuildReport {
    pub rules: usize,
    pub identities: usize,
    pub budget_s: f64,
    pub finished: bool,
    pub stages: Option<StageTimes>,
    pub load_fill_ms: Option<f64>,
    pub one_rule: Option<UpdateCost>,
    pub one_identity: Option<UpdateCost>,
}

/// Runs T3 in a child process (`policyc-bench t3`) and stops it after `budget`: policyc's
/// resolver may need far longer than the benchmark may take.
pub fn run_bounded(
    rules: usize,
    identities: usize,
    budget: std::time::Duration,
) -> Result<BuildReport, String> {
    use std::io::BufRead;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args([
            "t3",
            "--rules",
            &rules.to_string(),
            "--identities",
            &identities.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut report = BuildReport {
        rules,
        identities,
        budget_s: budget.as_secs_f64(),
        ..BuildReport::default()
    };
    let deadline = Instant::now() + budget;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let (tag, json) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                match tag {
                    "stages" => report.stages = serde_json::from_str(json).ok(),
                    "load_fill_ms" => report.load_fill_ms = json.parse().ok(),
                    "one_rule" => report.one_rule = serde_json::from_str(json).ok(),
                    "one_identity" => report.one_identity = serde_json::from_str(json).ok(),
                    _ => {}
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                report.finished = child.wait().is_ok_and(|s| s.success());
                return Ok(report);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(report);
            }
        }
    }
}

/// The T3 child: prints `stages`, `load_fill_ms`, `one_rule`, `one_identity` lines as they finish.
pub fn run_child(rules: usize, identities: usize) -> Result<(), String> {
    let emit = |tag: &str, value: String| println!("{tag} {value}");
    let json = |v: &dyn erased::Json| v.json();
    let set = policy_gen::generate(rules, identities, 3);
    let base = Workload::compile(set.clone())?;
    emit("stages", json(&base.times));
    let target = BenchSet::target();
    // The state a running compiler keeps from the base build (built untimed here; its time is
    // the full build's).
    let t = Instant::now();
    let mut state =
        IncrementalEndpoint::new(base.universe.clone(), set.rules.clone(), target.clone(), 1)
            .map_err(|e| format!("incremental: {e}"))?;
    emit(
        "incremental_prime_ms",
        format!("{}", t.elapsed().as_secs_f64() * 1e3),
    );
    if state.images().maps != base.images.maps {
        return Err("base: the incremental state's images differ from the workload's".into());
    }
    let t = Instant::now();
    let mut loaded: Vec<MapImage> = state.images().maps.clone();
    loaded.push(state.ipcache_image().clone());
    let request = LoadRequest {
        config: state.images().config,
        maps: loaded.iter().collect(),
        kinds: vec![AttachKind::Tcx],
    };
    let instance = DatapathInstance::load(&request).map_err(|e| format!("policyc load: {e}"))?;
    let load_fill_ms = t.elapsed().as_secs_f64() * 1e3;
    emit("load_fill_ms", format!("{load_fill_ms}"));

    // One more rule: a copy of the first single-port ingress rule, opening TCP 7 (which no
    // generated rule opens) to everyone.
    let mut with_rule = set.clone();
    with_rule.rules.extend(one_more_rule(&set));
    let t = Instant::now();
    let full = IncrementalEndpoint::new(
        base.universe.clone(),
        with_rule.rules.clone(),
        target.clone(),
        1,
    )
    .map_err(|e| format!("full: {e}"))?;
    let full_recompute_ms = t.elapsed().as_secs_f64() * 1e3;
    let before = loaded.clone();
    let t = Instant::now();
    if let Some(rule) = with_rule.rules.last() {
        state
            .add_rule(rule.clone())
            .map_err(|e| format!("one rule: {e}"))?;
    }
    let recompute_ms = t.elapsed().as_secs_f64() * 1e3;
    let (functions_reused, functions_computed) = state.memo_stats();
    check_same("one rule", state.images(), full.images())?;
    let t = Instant::now();
    let mut after: Vec<&MapImage> = state.images().maps.iter().collect();
    after.push(state.ipcache_image());
    let (written, deleted, needs_reload) =
        apply_diff(&instance, &before.iter().collect::<Vec<_>>(), &after)?;
    let stages = state.last_stages();
    let one_rule = UpdateCost {
        recompute_ms,
        universe_ms: stages.universe_ms,
        resolve_ms: stages.resolve_ms,
        optimize_ms: stages.optimize_ms,
        images_ms: stages.images_ms,
        functions_reused,
        functions_computed,
        full_recompute_ms,
        write_ms: t.elapsed().as_secs_f64() * 1e3,
        written,
        deleted,
        needs_reload,
    };
    emit("one_rule", json(&one_rule));
    // Back to the base set in the loaded maps (untimed) before the next update.
    let rule_images: Vec<MapImage> = after.into_iter().cloned().collect();
    apply_diff(
        &instance,
        &rule_images.iter().collect::<Vec<_>>(),
        &before.iter().collect::<Vec<_>>(),
    )?;

    // One more identity: a new pod with new labels in ns-0 (tier web: tier rules select it),
    // on top of the base set (a fresh state, as for the rule).
    let mut state =
        IncrementalEndpoint::new(base.universe.clone(), set.rules.clone(), target.clone(), 1)
            .map_err(|e| format!("incremental: {e}"))?;
    let (with_pod, pod) = one_more_pod(&set)?;
    let t = Instant::now();
    let universe = policyc_frontend::identity::build_universe(
        &with_pod.inventory,
        &with_pod.rules,
        policyc_ir::universe::UniverseOptions::default(),
    )
    .map_err(|e| format!("universe: {e}"))?;
    let full = IncrementalEndpoint::new(universe, set.rules.clone(), target.clone(), 1)
        .map_err(|e| format!("full: {e}"))?;
    let full_recompute_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let path = state
        .add_endpoint(&with_pod.inventory, &pod)
        .map_err(|e| format!("one identity: {e}"))?;
    let recompute_ms = t.elapsed().as_secs_f64() * 1e3;
    emit("one_identity_path", json(&path));
    let (functions_reused, functions_computed) = state.memo_stats();
    check_same("one identity", state.images(), full.images())?;
    if state.ipcache_image() != full.ipcache_image() {
        return Err("one identity: incremental ipcache differs from a full recompile".into());
    }
    let t = Instant::now();
    let mut after: Vec<&MapImage> = state.images().maps.iter().collect();
    after.push(state.ipcache_image());
    let (written, deleted, needs_reload) =
        apply_diff(&instance, &before.iter().collect::<Vec<_>>(), &after)?;
    let stages = state.last_stages();
    let one_identity = UpdateCost {
        recompute_ms,
        universe_ms: stages.universe_ms,
        resolve_ms: stages.resolve_ms,
        optimize_ms: stages.optimize_ms,
        images_ms: stages.images_ms,
        functions_reused,
        functions_computed,
        full_recompute_ms,
        write_ms: t.elapsed().as_secs_f64() * 1e3,
        written,
        deleted,
        needs_reload,
    };
    emit("one_identity", json(&one_identity));
    Ok(())
}

/// The rule the one-rule update adds: a copy of the first single-port ingress rule, opening
/// TCP 7 (which no generated rule opens) to everyone.
fn one_more_rule(set: &BenchSet) -> Option<policyc_ir::PolicyRule> {
    let first = set.shapes.iter().position(|g| {
        g.direction == policyc_ir::Direction::Ingress
            && matches!(g.peer, policy_gen::GenPeer::Pods(_))
            && matches!(g.ports, GenPorts::Tcp(lo, hi) if lo == hi)
    })?;
    let mut rule = set.rules.get(first)?.clone();
    rule.id = policyc_ir::RuleId(u32::try_from(set.rules.len()).unwrap_or(u32::MAX));
    rule.ports = policy_gen::port_match(GenPorts::Tcp(7, 7));
    // From everyone: most generated pods are already open on all ports through L3-only
    // namespace rules, so a pod-peer rule would often change nothing.
    rule.peers = policyc_ir::PeerSet::All;
    Some(rule)
}

/// The pod the one-identity update adds: new labels in ns-0 (tier web: tier rules select it),
/// and the set whose inventory lists it.
fn one_more_pod(set: &BenchSet) -> Result<(BenchSet, InventoryEndpoint), String> {
    let mut with_pod: BenchSet = set.clone();
    let mut pod = with_pod
        .inventory
        .endpoints
        .iter()
        .find(|e| e.namespace == "ns-0")
        .cloned()
        .ok_or("no pod in ns-0")?;
    pod = InventoryEndpoint {
        name: "app-new".to_string(),
        labels: BTreeMap::from([
            ("app".to_string(), "app-new".to_string()),
            ("tier".to_string(), "web".to_string()),
        ]),
        ips: vec![IpAddr::V4(Ipv4Addr::new(198, 18, 254, 1))],
        ..pod
    };
    with_pod.inventory.endpoints.push(pod.clone());
    Ok((with_pod, pod))
}

/// What `policyc-bench t3-profile` repeats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Profiled {
    /// The full build of the measured endpoint (universe, resolution, optimizer, images).
    Build,
    /// One more rule on a copy of the kept state.
    Rule,
    /// One more identity on a copy of the kept state.
    Identity,
}

/// Repeats one T3 step `times` times (for `perf record`), printing the mean time of one; the
/// copies of the kept state an update starts from are made outside the timed part.
pub fn run_profile(
    rules: usize,
    identities: usize,
    what: Profiled,
    times: usize,
) -> Result<(), String> {
    let set = policy_gen::generate(rules, identities, 3);
    let target = BenchSet::target();
    let base = Workload::compile(set.clone())?;
    let state = IncrementalEndpoint::new(base.universe.clone(), set.rules.clone(), target, 1)
        .map_err(|e| format!("incremental: {e}"))?;
    let rule = one_more_rule(&set).ok_or("no rule to copy")?;
    let (with_pod, pod) = one_more_pod(&set)?;
    let mut timed = std::time::Duration::ZERO;
    for _ in 0..times {
        match what {
            Profiled::Build => {
                let t = Instant::now();
                Workload::compile(set.clone())?;
                timed += t.elapsed();
            }
            Profiled::Rule => {
                let mut copy = state.clone();
                let t = Instant::now();
                copy.add_rule(rule.clone()).map_err(|e| e.to_string())?;
                timed += t.elapsed();
            }
            Profiled::Identity => {
                let mut copy = state.clone();
                let t = Instant::now();
                copy.add_endpoint(&with_pod.inventory, &pod)
                    .map_err(|e| e.to_string())?;
                timed += t.elapsed();
            }
        }
    }
    println!(
        "{what:?}: {:.3} ms per run over {times}",
        timed.as_secs_f64() * 1e3 / times.max(1) as f64
    );
    Ok(())
}

mod erased {
    //! Serialising the progress lines without naming each type.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
