//! `policy-loader`: the node-side command — apply, status, dump, events, endpoint add|remove, unload (see
//! `policyc_loader::node`). Errors are rendered with miette; exit 1 on any failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use miette::{miette, IntoDiagnostic, Result};
use policyc_diagnostics::cli_docs;
use policyc_loader::node::artifact::Artifact;
use policyc_loader::node::capabilities::{self, INSPECT, INSTALL};
use policyc_loader::node::endpoint_input::{self, LabelKind};
use policyc_loader::node::install::{self, apply, is_on_bpffs, ApplyOptions};
use policyc_loader::node::lock::{LockWait, NodeLock};
use policyc_loader::node::pins::NodePaths;
use policyc_loader::node::{admit, dns, events, inspect, unload, NodeError};

#[derive(Parser)]
#[command(
    name = "policy-loader",
    version,
    about = "Install, replace, inspect and remove compiled policyc policy on this node"
)]
struct Cli {
    /// Mounted bpffs; policyc pins under <bpffs>/policyc.
    #[arg(long, global = true, default_value = "/sys/fs/bpf")]
    bpffs: PathBuf,
    /// Directory of generation records (JSON).
    #[arg(long, global = true, default_value = "/run/policyc")]
    state_dir: PathBuf,
    /// Commands that change the node (apply, unload, endpoint add|remove, dns sweep) run one
    /// at a time: wait this long for another loader to finish, then refuse without changing
    /// anything (0: refuse at once).
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 300.0,
        value_parser = parse_seconds
    )]
    lock_timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum L7Fallback {
    /// Allow L7-redirected traffic at L4; the L7 rules are NOT checked.
    AllowL4,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Verify an artifact and install (or atomically replace) its endpoints' policy.
    Apply {
        /// `policyc build` output directory.
        artifact: PathBuf,
        /// Install only these endpoints (namespace/name); all when omitted.
        #[arg(long = "endpoint", value_name = "NS/NAME")]
        endpoints: Vec<String>,
        /// Accept L7 rules by enforcing only their L4 part.
        #[arg(long = "l7-fallback", value_enum)]
        l7_fallback: Option<L7Fallback>,
        /// Attach an endpoint with cgroup_skb to a cgroup v2 directory instead of tcx.
        #[arg(long = "cgroup", value_name = "NS/NAME=PATH")]
        cgroups: Vec<String>,
        /// Learned DNS addresses live max(TTL, this many seconds) (Cilium's tofqdns-min-ttl).
        #[arg(long = "dns-min-ttl", value_name = "SECONDS", default_value_t = 0)]
        dns_min_ttl: u32,
        /// Entries of the node-wide learned-address map when it is created (an LRU).
        #[arg(long = "dns-learned-max", value_name = "ENTRIES", default_value_t = policyc_loader::node::dns::learned::DEFAULT_LEARNED_MAX)]
        dns_learned_max: u32,
    },
    /// Installed endpoints, attach points, program ids, map fill levels, artifact digests.
    Status {
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Decoded policy maps of an endpoint with rule provenance.
    Dump {
        #[arg(long, value_name = "NS/NAME")]
        endpoint: String,
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Decoded verdict events (drops; passes when enabled at build time).
    ///
    /// Reads the event rings of the endpoints installed when it starts; with no endpoint
    /// installed it says so and exits 1, also with --follow (start it again after `apply`).
    Events {
        /// Stop after this many events (waits for them).
        #[arg(long)]
        count: Option<usize>,
        /// Keep waiting for new events.
        #[arg(long)]
        follow: bool,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Admit or remove an endpoint (labels + IPs) without recompiling.
    Endpoint {
        #[command(subcommand)]
        action: EndpointAction,
    },
    /// In-kernel DNS policy: counters, learned addresses, sweeping expired entries.
    Dns {
        #[command(subcommand)]
        action: DnsAction,
    },
    /// Detach and remove endpoints (everything policyc installed when none is named).
    Unload {
        #[arg(long = "endpoint", value_name = "NS/NAME")]
        endpoints: Vec<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages (policy-loader.1 and one per subcommand) into a directory.
    #[command(hide = true)]
    Manpages {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum DnsAction {
    /// Per-endpoint DNS counters and the learned map's fill.
    Status {
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Learned addresses → selectors, with the TTL left.
    Dump {
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Delete expired learned entries (once, or every --interval seconds until killed).
    Sweep {
        #[arg(long, value_name = "SECONDS")]
        interval: Option<f64>,
    },
}

#[derive(Subcommand)]
enum EndpointAction {
    /// Classify a new endpoint with the installed artifact's classifier and write its identity
    /// into every installed endpoint's class map and its IPs into the ipcache.
    Add {
        #[arg(long, value_name = "NS/NAME")]
        name: String,
        /// Pod labels, `k=v[,k=v]` (repeatable): Kubernetes label syntax, a key optionally
        /// prefixed `k8s:`; each key once; reserved: and other Cilium sources are refused.
        #[arg(long = "labels", value_name = "K=V[,K=V]")]
        labels: Vec<String>,
        /// Pod address (repeatable, at least one; not unspecified, loopback, multicast or
        /// broadcast).
        #[arg(long = "ip", value_name = "IP", required = true)]
        ips: Vec<std::net::IpAddr>,
        /// Labels of the namespace (default: as in the build).
        #[arg(long = "namespace-labels", value_name = "K=V[,K=V]")]
        namespace_labels: Vec<String>,
        #[arg(long = "service-account", value_name = "SA")]
        service_account: Option<String>,
    },
    /// Remove an endpoint admitted with `endpoint add`.
    Remove {
        #[arg(long, value_name = "NS/NAME")]
        name: String,
    },
}

fn parse_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "expected seconds between 0 and 86400, got {text:?}"
        )),
    }
}

/// The node lock for a command that changes the node (see `policyc_loader::node::lock`).
/// Holding it, an apply that was killed between two endpoints' flips is completed first (see
/// `policyc_loader::node::journal`), and what that did is printed.
fn lock(cli: &Cli, paths: &NodePaths, command: &str) -> Result<NodeLock> {
    let lock = NodeLock::acquire(
        paths,
        command,
        LockWait(Duration::from_secs_f64(cli.lock_timeout)),
    )
    .map_err(node)?;
    for line in install::complete_interrupted_switch(paths).map_err(node)? {
        eprintln!("{line}");
    }
    Ok(lock)
}

fn parse_cgroups(specs: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    specs
        .iter()
        .map(|spec| {
            let (name, path) = spec
                .split_once('=')
                .ok_or_else(|| miette!("--cgroup expects NS/NAME=PATH, got {spec:?}"))?;
            Ok((name.to_owned(), PathBuf::from(path)))
        })
        .collect()
}

fn require_bpffs(cli: &Cli) -> Result<()> {
    if is_on_bpffs(&cli.bpffs) {
        Ok(())
    } else {
        Err(miette!(
            "{} is not on a mounted bpffs; mount it with `mount -t bpf bpf /sys/fs/bpf` (needs CAP_SYS_ADMIN) or pass --bpffs",
            cli.bpffs.display()
        ))
    }
}

/// A node error's text with its chain of causes (the verifier log included).
fn node_text(error: &NodeError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!("\n  caused by: {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// A node error with its chain of causes.
fn node(error: NodeError) -> miette::Report {
    miette!("{}", node_text(&error))
}

/// An error that stopped `apply` before any endpoint was touched, saying so.
fn apply_refused(error: NodeError) -> miette::Report {
    miette!(
        "{}\nno endpoint was installed or changed: the previous policy, if any, is still in place",
        node_text(&error)
    )
}

/// An error that stopped `apply`: before any endpoint was touched, or after staging and
/// undoing them (then the undo's own failures, if any, say the node is not as before).
fn apply_failed(error: NodeError) -> miette::Report {
    match &error {
        NodeError::ApplyAborted { undo_failures, .. } if !undo_failures.is_empty() => {
            miette!("refusing the apply: {}", node_text(&error))
        }
        NodeError::ApplyAborted { .. } => miette!(
            "{}\nthe apply was stopped and undone: no endpoint was installed or changed, the previous policy, if any, is still in place",
            node_text(&error)
        ),
        _ => apply_refused(error),
    }
}

fn run(cli: Cli) -> Result<bool> {
    let paths = NodePaths::new(&cli.bpffs, &cli.state_dir);
    match &cli.command {
        Command::Apply {
            artifact,
            endpoints,
            l7_fallback,
            cgroups,
            dns_min_ttl,
            dns_learned_max,
        } => {
            capabilities::require("apply", INSTALL).map_err(node)?;
            require_bpffs(&cli)?;
            let _lock = lock(&cli, &paths, "apply")?;
            let artifact = Artifact::open(artifact).map_err(apply_refused)?;
            let options = ApplyOptions {
                endpoints: endpoints.clone(),
                l7_fallback_allow_l4: l7_fallback.is_some(),
                cgroups: parse_cgroups(cgroups)?,
                dns: dns::DnsOptions {
                    min_ttl_s: *dns_min_ttl,
                    learned_max: *dns_learned_max,
                },
            };
            let report = apply(&paths, &artifact, &options).map_err(apply_failed)?;
            for rule in &report.l7_rules_allowed_at_l4 {
                eprintln!("WARNING: L7 NOT enforced, allowed at L4 only: {rule}");
            }
            for (name, outcome) in &report.endpoints {
                match outcome {
                    Ok(installed) => {
                        let ids: Vec<String> = installed
                            .program_ids
                            .iter()
                            .map(|(d, id)| format!("{d}={id}"))
                            .collect();
                        let how = match installed.replaced {
                            Some(old) => format!("replaced generation {old} atomically"),
                            None => "installed".to_owned(),
                        };
                        println!(
                            "{name}: {how} → generation {} on {} (programs {})",
                            installed.generation,
                            installed.attach,
                            ids.join(" ")
                        );
                    }
                    Err(e @ NodeError::AfterSwitch { .. }) => {
                        eprintln!(
                            "{name}: INCOMPLETE (the new generation is active, its attachment is not complete; see `policy-loader status`, then re-run apply): {e}"
                        );
                    }
                    Err(e) => {
                        eprintln!(
                            "{name}: NOT INSTALLED (previous policy, if any, left in place): {e}"
                        );
                    }
                }
            }
            let failed = report.endpoints.iter().filter(|(_, r)| r.is_err()).count();
            if failed > 0 {
                eprintln!("policy-loader: {failed} endpoint(s) could not be installed");
            }
            Ok(report.all_installed())
        }
        Command::Status { output } => {
            capabilities::require("status", INSPECT).map_err(node)?;
            let statuses = inspect::status(&paths).map_err(node)?;
            if *output == Format::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&statuses).into_diagnostic()?
                );
            } else {
                print!("{}", inspect::render_status_table(&statuses));
                print!(
                    "{}",
                    dns::status::render_status(&dns::status::status(&paths).map_err(node)?)
                );
                for a in admit::admitted(&paths).map_err(node)? {
                    let ips: Vec<String> = a.ips.iter().map(ToString::to_string).collect();
                    println!(
                        "admitted {} identity {} ips {}{}",
                        a.name,
                        a.identity,
                        ips.join(","),
                        if admit::is_current(&paths, &a) {
                            ""
                        } else {
                            " (stale: a later apply replaced the maps; add it to the inventory and rebuild)"
                        }
                    );
                }
            }
            Ok(statuses.iter().all(|s| s.health == "ok"))
        }
        Command::Dump { endpoint, output } => {
            capabilities::require("dump", INSPECT).map_err(node)?;
            let dump = inspect::dump(&paths, endpoint).map_err(node)?;
            if *output == Format::Json {
                println!("{}", serde_json::to_string_pretty(&dump).into_diagnostic()?);
            } else {
                print!("{}", inspect::render_dump_table(&dump));
            }
            Ok(true)
        }
        Command::Events {
            count,
            follow,
            timeout,
            output,
        } => {
            capabilities::require("events", INSPECT).map_err(node)?;
            let timeout = timeout.map(Duration::from_secs_f64);
            let json = *output == Format::Json;
            events::read_events(&paths, *count, *follow, timeout, |event| {
                if json {
                    if let Ok(line) = serde_json::to_string(event) {
                        println!("{line}");
                    }
                } else {
                    println!("{event}");
                }
            })
            .map_err(node)?;
            Ok(true)
        }
        Command::Endpoint { action } => {
            capabilities::require("endpoint", INSTALL).map_err(node)?;
            let _lock = lock(&cli, &paths, "endpoint")?;
            match action {
                EndpointAction::Add {
                    name,
                    labels,
                    ips,
                    namespace_labels,
                    service_account,
                } => {
                    let parse = |kind, specs| {
                        endpoint_input::parse_labels(kind, specs)
                            .map_err(|e| node(NodeError::from(e)))
                    };
                    let request = admit::AdmitRequest {
                        name: name.clone(),
                        labels: parse(LabelKind::Pod, labels)?,
                        ips: ips.clone(),
                        namespace_labels: if namespace_labels.is_empty() {
                            None
                        } else {
                            Some(parse(LabelKind::Namespace, namespace_labels)?)
                        },
                        service_account: service_account.clone(),
                    };
                    let added = admit::add(&paths, &request).map_err(node)?;
                    println!("{}: admitted as identity {}", added.name, added.identity);
                }
                EndpointAction::Remove { name } => {
                    let removed = admit::remove(&paths, name).map_err(node)?;
                    println!("{}: removed (identity {})", removed.name, removed.identity);
                }
            }
            Ok(true)
        }
        Command::Dns { action } => {
            match action {
                DnsAction::Status { output } => {
                    capabilities::require("dns status", INSPECT).map_err(node)?;
                    let status = dns::status::status(&paths).map_err(node)?;
                    if *output == Format::Json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&status).into_diagnostic()?
                        );
                    } else {
                        print!("{}", dns::status::render_status(&status));
                    }
                }
                DnsAction::Dump { output } => {
                    capabilities::require("dns dump", INSPECT).map_err(node)?;
                    let rows = dns::status::dump(&paths).map_err(node)?;
                    if *output == Format::Json {
                        println!("{}", serde_json::to_string_pretty(&rows).into_diagnostic()?);
                    } else {
                        print!("{}", dns::status::render_dump(&rows));
                    }
                }
                DnsAction::Sweep { interval } => {
                    capabilities::require("dns sweep", INSTALL).map_err(node)?;
                    loop {
                        let report = {
                            let _lock = lock(&cli, &paths, "dns sweep")?;
                            dns::learned::sweep(&paths).map_err(node)?
                        };
                        println!(
                            "dns sweep: {} expired of {} learned entries deleted",
                            report.deleted, report.scanned
                        );
                        let Some(seconds) = interval else { break };
                        std::thread::sleep(Duration::from_secs_f64(seconds.max(0.01)));
                    }
                }
            }
            Ok(true)
        }
        Command::Unload { endpoints } => {
            capabilities::require("unload", INSTALL).map_err(node)?;
            let _lock = lock(&cli, &paths, "unload")?;
            for name in unload::unload(&paths, endpoints).map_err(node)? {
                println!("{name}: unloaded");
            }
            Ok(true)
        }
        // Documentation: touches nothing on the node.
        Command::Completions { shell } => {
            cli_docs::completions(*shell, Cli::command(), &mut std::io::stdout());
            Ok(true)
        }
        Command::Manpages { dir } => {
            for path in cli_docs::manpages(Cli::command(), dir)
                .map_err(|e| miette!("{}: {e}", dir.display()))?
            {
                println!("{}", path.display());
            }
            Ok(true)
        }
    }
}

fn main() -> ExitCode {
    // Output piped into `head` and closed early ends the process quietly (as for any Unix
    // tool) instead of panicking in println!.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
