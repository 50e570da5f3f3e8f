//! `policy-loader`: the node-side command — apply, status, dump, events, endpoint add|remove, unload (see
//! `policyc_loader::node`). Errors are rendered with miette; exit 1 on any failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use miette::{miette, IntoDiagnostic, Result};
use policyc_diagnostics::cli_docs;
use policyc_loader::cli::{Cli, Command, DnsAction, EndpointAction, Format};
use policyc_loader::node::artifact::Artifact;
use policyc_loader::node::capabilities::{self, INSPECT, INSTALL};
use policyc_loader::node::endpoint_input::{self, LabelKind};
use policyc_loader::node::events_filter::EventFilter;
use policyc_loader::node::install::{self, apply, is_on_bpffs, ApplyOptions};
use policyc_loader::node::lock::{LockWait, NodeLock};
use policyc_loader::node::pins::NodePaths;
use policyc_loader::node::{
    admit, bpffs, dns, dry_run, events, inspect, metrics, unload, NodeError,
};

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

/// Answers every HTTP request on `address` with a fresh scrape (`text/plain; version=0.0.4`),
/// one connection at a time, until killed.
fn serve_metrics(
    address: std::net::SocketAddr,
    scrape: &dyn Fn() -> std::result::Result<String, NodeError>,
) -> Result<()> {
    use std::io::{Read, Write};
    let listener =
        std::net::TcpListener::bind(address).map_err(|e| miette!("binding {address}: {e}"))?;
    eprintln!("policy-loader: serving metrics on http://{address}/metrics");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let (status, body) = match scrape() {
            Ok(text) => ("200 OK", text),
            Err(e) => ("500 Internal Server Error", format!("{}\n", node_text(&e))),
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    Ok(())
}

/// `apply --dry-run`: what the apply would do, with every check run and nothing changed.
fn dry_run_apply(cli: &Cli, artifact: &std::path::Path, options: &ApplyOptions) -> Result<bool> {
    if !is_on_bpffs(&cli.bpffs) {
        eprintln!(
            "dry run: {} is not on a mounted bpffs; apply would need it mounted",
            cli.bpffs.display()
        );
    }
    let artifact = Artifact::open(artifact).map_err(apply_refused)?;
    let report = dry_run::dry_run(&artifact, options).map_err(apply_refused)?;
    for rule in &report.l7_rules_allowed_at_l4 {
        eprintln!("WARNING: L7 NOT enforced, allowed at L4 only: {rule}");
    }
    for (name, outcome) in &report.endpoints {
        match outcome {
            Ok(attach) => {
                if !cli.quiet {
                    println!("{name}: would install on {attach} (checks and verifier passed)");
                }
            }
            Err(e) => eprintln!("{name}: WOULD NOT INSTALL: {e}"),
        }
    }
    eprintln!("dry run: nothing was pinned, attached or recorded");
    Ok(report.all_pass())
}

fn run(cli: Cli) -> Result<bool> {
    let paths = NodePaths::new(&cli.bpffs, &cli.state_dir);
    match &cli.command {
        Command::Apply {
            artifact,
            endpoints,
            l7_fallback,
            l7_port,
            l7_filter,
            cgroups,
            dns_min_ttl,
            dns_learned_max,
            dns_max_ips_per_name,
            dry_run,
        } => {
            capabilities::require("apply", INSTALL).map_err(node)?;
            let options = ApplyOptions {
                endpoints: endpoints.clone(),
                l7_fallback_allow_l4: l7_fallback.is_some(),
                cgroups: parse_cgroups(cgroups)?,
                dns: dns::DnsOptions {
                    min_ttl_s: *dns_min_ttl,
                    learned_max: *dns_learned_max,
                    name_ip_max: *dns_max_ips_per_name,
                },
                l7: policyc_loader::node::install::L7Options {
                    port: *l7_port,
                    filter: l7_filter.clone(),
                },
            };
            if *dry_run {
                return dry_run_apply(&cli, artifact, &options);
            }
            if bpffs::ensure_mounted(&cli.bpffs).map_err(|e| miette!("{e}"))?
                == bpffs::Bpffs::MountedNow
            {
                eprintln!(
                    "policy-loader: mounted bpffs at {} (none was mounted there)",
                    cli.bpffs.display()
                );
            }
            let _lock = lock(&cli, &paths, "apply")?;
            let artifact = Artifact::open(artifact).map_err(apply_refused)?;
            let report = apply(&paths, &artifact, &options).map_err(apply_failed)?;
            for rule in &report.l7_rules_allowed_at_l4 {
                eprintln!("WARNING: L7 NOT enforced, allowed at L4 only: {rule}");
            }
            for (name, outcome) in &report.endpoints {
                match outcome {
                    Ok(_) if cli.quiet => {}
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
            if output.format == Format::Json {
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
                if let Some(f) = policyc_loader::node::l7::status(&paths) {
                    println!(
                        "L7 filter: pid {}, port {}, tables generation {}{}",
                        f.pid,
                        f.port,
                        f.generation.map_or("-".into(), |g| g.to_string()),
                        f.artifact
                            .map(|a| format!(" from {}", a.display()))
                            .unwrap_or_default()
                    );
                }
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
            if output.format == Format::Json {
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
            endpoints,
            verdicts,
            identities,
            ports,
            output,
        } => {
            capabilities::require("events", INSPECT).map_err(node)?;
            let timeout = timeout.map(Duration::from_secs_f64);
            let json = output.format == Format::Json;
            let filter = EventFilter {
                endpoints: endpoints.clone(),
                verdicts: verdicts.clone(),
                identities: identities.clone(),
                ports: ports.clone(),
            };
            let matches = |event: &events::DecodedEvent| filter.matches(event);
            events::read_events_matching(
                &paths,
                &filter.endpoints,
                &matches,
                *count,
                *follow,
                timeout,
                |event| {
                    if json {
                        if let Ok(line) = serde_json::to_string(event) {
                            println!("{line}");
                        }
                    } else {
                        println!("{event}");
                    }
                },
            )
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
                    if !cli.quiet {
                        println!("{}: admitted as identity {}", added.name, added.identity);
                    }
                }
                EndpointAction::Remove { name } => {
                    let removed = admit::remove(&paths, name).map_err(node)?;
                    if !cli.quiet {
                        println!("{}: removed (identity {})", removed.name, removed.identity);
                    }
                }
            }
            Ok(true)
        }
        Command::Dns { action } => {
            match action {
                DnsAction::Status { output } => {
                    capabilities::require("dns status", INSPECT).map_err(node)?;
                    let status = dns::status::status(&paths).map_err(node)?;
                    if output.format == Format::Json {
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
                    if output.format == Format::Json {
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
                        if !cli.quiet {
                            println!(
                                "dns sweep: {} expired of {} learned entries deleted",
                                report.deleted, report.scanned
                            );
                        }
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
                if !cli.quiet {
                    println!("{name}: unloaded");
                }
            }
            Ok(true)
        }
        Command::Metrics { listen, textfile } => {
            capabilities::require("metrics", INSPECT).map_err(node)?;
            let scrape = || metrics::collect(&paths).map(|m| metrics::render(&m));
            match (listen, textfile) {
                (Some(address), _) => serve_metrics(*address, &scrape)?,
                (None, Some(path)) => {
                    let text = scrape().map_err(node)?;
                    metrics::write_textfile(path, &text)
                        .map_err(|e| miette!("{}: {e}", path.display()))?;
                }
                (None, None) => print!("{}", scrape().map_err(node)?),
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
