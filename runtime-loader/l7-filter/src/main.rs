//! `policyc-l7`: the node-local HTTP filter's command line: `serve` runs the daemon
//! `policy-loader apply` starts (the datapath sk-assigns redirect-l7 connections to it);
//! `check` and `judge` read an artifact's L7 tables and judge single requests offline with
//! exactly the code the daemon runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use policyc_backends::l7::{L7Key, L7Request};
use policyc_ir::Direction;
use policyc_l7_filter::load_artifact_tables;

#[derive(Parser)]
#[command(
    name = "policyc-l7",
    version,
    about = "policyc's node-local HTTP filter"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Side {
    Ingress,
    Egress,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the filter daemon (started and stopped by `policy-loader`; not meant to be run by hand).
    Serve {
        /// The loader's L7 state directory (`current`, `loaded`, `failed`).
        #[arg(long)]
        dir: PathBuf,
        /// The port the datapath assigns redirected connections to.
        #[arg(long)]
        port: u16,
        /// The pinned `pc_l7_redir` map.
        #[arg(long)]
        redirect_map: PathBuf,
    },
    /// Loads the L7 tables of an artifact (digest-checked, every DFA read back) and summarizes them.
    Check {
        /// The artifact directory (`policyc build -o`).
        artifact: PathBuf,
    },
    /// Judges one request as the filter would; exit 0 allowed, 1 denied.
    Judge {
        artifact: PathBuf,
        /// `namespace/name` of the endpoint whose policy judges.
        #[arg(long)]
        endpoint: String,
        #[arg(long, value_enum)]
        direction: Side,
        /// The peer's identity (source on ingress, destination on egress).
        #[arg(long)]
        peer_identity: u32,
        /// Destination port.
        #[arg(long)]
        port: u16,
        #[arg(long, default_value = "GET")]
        method: String,
        /// Request target (path with query).
        #[arg(long, default_value = "/")]
        path: String,
        #[arg(long)]
        host: Option<String>,
        /// `Name: value`, repeatable.
        #[arg(long = "header")]
        headers: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("policyc-l7: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Serve {
            dir,
            port,
            redirect_map,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(policyc_l7_filter::serve::serve(
                    policyc_l7_filter::serve::ServeOptions {
                        dir,
                        port,
                        redirect_map,
                    },
                ))
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { artifact } => {
            let judge = load_artifact_tables(&artifact).map_err(|e| e.to_string())?;
            let t = judge.tables();
            println!(
                "{} L7 policies, {} rule sets, {} compiled regexes",
                t.policies.len(),
                t.rule_sets.len(),
                t.regexes.len()
            );
            for p in &t.policies {
                println!(
                    "policy {}: {} {} ({} peer identities{})",
                    p.id,
                    p.endpoint,
                    p.direction,
                    p.peers.len(),
                    if p.unknown_peer.is_some() {
                        ", unknown peers too"
                    } else {
                        ""
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Judge {
            artifact,
            endpoint,
            direction,
            peer_identity,
            port,
            method,
            path,
            host,
            headers,
        } => {
            let judge = load_artifact_tables(&artifact).map_err(|e| e.to_string())?;
            let direction = match direction {
                Side::Ingress => Direction::Ingress,
                Side::Egress => Direction::Egress,
            };
            let policy = judge
                .tables()
                .policies
                .iter()
                .find(|p| p.endpoint == endpoint && p.direction == direction)
                .ok_or_else(|| format!("no L7 policy for {endpoint} {direction}"))?;
            let mut request = L7Request {
                method,
                path,
                host: host.map(String::into_bytes),
                headers: Vec::new(),
            };
            for h in headers {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| format!("--header `{h}`: expected `Name: value`"))?;
                request.headers.push((
                    name.trim().to_ascii_lowercase(),
                    value.trim().as_bytes().to_vec(),
                ));
            }
            let key = L7Key {
                policy: policy.id,
                peer_identity,
                port,
            };
            let j = judge.judge(key, &mut request);
            let rules: Vec<String> = j.rules.iter().map(u32::to_string).collect();
            println!(
                "{} (datapath rule ids: {})",
                if j.allowed {
                    "allowed"
                } else {
                    "denied: 403 Access denied"
                },
                if rules.is_empty() {
                    "none".into()
                } else {
                    rules.join(", ")
                }
            );
            Ok(if j.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
