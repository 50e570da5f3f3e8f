//! Scale (issue 16, "scale without surprise"): `policyc build` of many endpoints and `policyc
//! lint` of large inputs, each run as the real `policyc` binary in a child process, with wall
//! time, peak RSS (`wait4` rusage) and, for builds, the artifact's bytes and file count.
//! Inputs come from `policyc_testsuite::gen::scale` (tenants × apps × replicas; pods of one
//! deployment share one shape). Two build series: 5 replicas per deployment (realistic) and 1
//! (every endpoint its own shape, the worst case for sharing).
//!
//! No peer tool compiles this policy, so every size is compared with the smallest size of its
//! series measured in the same run: time and RSS per endpoint (per MB for lint) relative to
//! it. 1.0 = linear; a super-linear step shows as a ratio growing with N.

use policyc_testsuite::gen::scale::{scale_inputs, write_scale_inputs, ScaleShape};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScaleRow {
    /// `build, 5 replicas`, `build, 1 replica`, `lint`.
    pub series: String,
    pub endpoints: usize,
    pub shapes: usize,
    /// Bytes of policy YAML.
    pub policy_bytes: u64,
    pub wall_s: f64,
    /// User + system CPU of the command (what a loaded shared machine distorts least).
    pub cpu_s: f64,
    pub max_rss_kb: u64,
    /// Builds: bytes and files of the artifact directory.
    pub artifact_bytes: u64,
    pub artifact_files: u64,
    pub exit_code: i32,
}

/// Sizes of one run.
pub struct ScalePlan {
    /// Build series: (replicas, endpoint counts).
    pub builds: Vec<(usize, Vec<usize>)>,
    /// Lint: tenants (10 apps each; ≈ 11 KB of policy per tenant).
    pub lint_tenants: Vec<usize>,
}

impl ScalePlan {
    pub fn new(quick: bool) -> ScalePlan {
        if quick {
            ScalePlan {
                builds: vec![(5, vec![400, 1_600]), (1, vec![400, 1_600])],
                lint_tenants: vec![100, 400],
            }
        } else {
            ScalePlan {
                builds: vec![(5, vec![400, 1_600, 10_000]), (1, vec![400, 1_600, 4_000])],
                lint_tenants: vec![100, 400, 1_600],
            }
        }
    }
}

const APPS: usize = 10;

/// `policyc` next to this binary (`make bench` builds both).
fn policyc_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name("policyc");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release -p policyc`",
            path.display()
        ))
    }
}

/// What [`measure`] measured.
struct Measured {
    wall: Duration,
    cpu_s: f64,
    max_rss_kb: u64,
    exit_code: i32,
}

/// Runs `command` to completion: wall time, CPU time, peak RSS in KB, exit code.
fn measure(mut command: Command) -> Result<Measured, String> {
    let start = Instant::now();
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, zero is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above; the pointers are valid for the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if waited != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measured {
        wall,
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_code: code,
    })
}

/// Total bytes and files under `dir`.
fn tree_size(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => {
                    bytes += m.len();
                    files += 1;
                }
                Err(_) => {}
            }
        }
    }
    (bytes, files)
}

fn policy_bytes(shape: ScaleShape) -> u64 {
    scale_inputs(shape)
        .policies
        .iter()
        .map(|(_, text)| text.len() as u64)
        .sum()
}

fn build_row(policyc: &Path, replicas: usize, endpoints: usize) -> Result<ScaleRow, String> {
    let shape = ScaleShape {
        tenants: (endpoints / (APPS * replicas)).max(1),
        apps: APPS,
        replicas,
    };
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (inventory, policies) =
        write_scale_inputs(shape, work.path()).map_err(|e| e.to_string())?;
    let out = work.path().join("artifact");
    let mut command = Command::new(policyc);
    command
        .arg("build")
        .arg("--inventory")
        .arg(&inventory)
        .arg("-o")
        .arg(&out)
        .arg(&policies)
        .current_dir(work.path());
    let m = measure(command)?;
    let (artifact_bytes, artifact_files) = tree_size(&out);
    Ok(ScaleRow {
        series: format!(
            "build, {replicas} replica{}",
            if replicas == 1 { "" } else { "s" }
        ),
        endpoints: shape.endpoints(),
        shapes: shape.distinct_shapes(),
        policy_bytes: policy_bytes(shape),
        wall_s: m.wall.as_secs_f64(),
        cpu_s: m.cpu_s,
        max_rss_kb: m.max_rss_kb,
        artifact_bytes,
        artifact_files,
        exit_code: m.exit_code,
    })
}

fn lint_row(policyc: &Path, tenants: usize) -> Result<ScaleRow, String> {
    let shape = ScaleShape {
        tenants,
        apps: APPS,
        replicas: 1,
    };
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (_, policies) = write_scale_inputs(shape, work.path()).map_err(|e| e.to_string())?;
    let mut command = Command::new(policyc);
    command
        .arg("lint")
        .arg("--format")
        .arg("concise")
        .arg(&policies)
        .current_dir(work.path());
    let m = measure(command)?;
    Ok(ScaleRow {
        series: "lint".to_string(),
        endpoints: 0,
        shapes: 0,
        policy_bytes: policy_bytes(shape),
        wall_s: m.wall.as_secs_f64(),
        cpu_s: m.cpu_s,
        max_rss_kb: m.max_rss_kb,
        artifact_bytes: 0,
        artifact_files: 0,
        exit_code: m.exit_code,
    })
}

/// Every row of `plan`, printed to stderr as it finishes.
pub fn run(plan: &ScalePlan) -> Result<Vec<ScaleRow>, String> {
    let policyc = policyc_binary()?;
    let mut rows = Vec::new();
    for (replicas, sizes) in &plan.builds {
        for &n in sizes {
            eprintln!("policyc-bench scale: build, {n} endpoints, {replicas} per shape");
            let row = build_row(&policyc, *replicas, n)?;
            eprintln!(
                "  {:.1} s ({:.1} s CPU), {} MB RSS, {} files, {} KB (exit {})",
                row.wall_s,
                row.cpu_s,
                row.max_rss_kb / 1024,
                row.artifact_files,
                row.artifact_bytes / 1024,
                row.exit_code
            );
            rows.push(row);
        }
    }
    for &tenants in &plan.lint_tenants {
        eprintln!("policyc-bench scale: lint, {tenants} tenants");
        let row = lint_row(&policyc, tenants)?;
        eprintln!(
            "  {:.1} s ({:.1} s CPU), {} MB RSS, {:.1} MB of policy (exit {})",
            row.wall_s,
            row.cpu_s,
            row.max_rss_kb / 1024,
            row.policy_bytes as f64 / 1e6,
            row.exit_code
        );
        rows.push(row);
    }
    Ok(rows)
}

/// The unit a row is normalised by: endpoints for builds, MB of policy for lint.
fn units(row: &ScaleRow) -> f64 {
    if row.series == "lint" {
        row.policy_bytes as f64 / 1e6
    } else {
        row.endpoints as f64
    }
}

/// Markdown table: raw figures and, per series, time and RSS per unit relative to the series'
/// smallest size in this run.
pub fn markdown(rows: &[ScaleRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Scale: `policyc build` of many endpoints and `policyc lint` of large inputs\n\n\
         Growth ratios: CPU time (RSS) per endpoint — per MB of policy for lint — divided by the \
         same at the series' smallest size in this run (1.00 = linear). CPU (user + system) rather \
         than wall time: this shared machine's load distorts it least.\n"
    );
    let _ = writeln!(
        s,
        "| series | endpoints | shapes | policy MB | wall s | CPU s | peak RSS MB | artifact MB | artifact files | CPU/unit growth | RSS/unit growth | exit |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in rows {
        let first = rows.iter().find(|r| r.series == row.series).unwrap_or(row);
        let time_growth = (row.cpu_s / units(row)) / (first.cpu_s / units(first));
        let rss_growth =
            (row.max_rss_kb as f64 / units(row)) / (first.max_rss_kb as f64 / units(first));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {} | {:.2} | {:.2} | {} |",
            row.series,
            row.endpoints,
            row.shapes,
            row.policy_bytes as f64 / 1e6,
            row.wall_s,
            row.cpu_s,
            row.max_rss_kb / 1024,
            row.artifact_bytes as f64 / 1e6,
            row.artifact_files,
            time_growth,
            rss_growth,
            row.exit_code
        );
    }
    s
}

/// Writes `<date>-scale.{json,md}` under `dir`.
pub fn write(
    dir: &Path,
    machine: &crate::machine::Machine,
    rows: &[ScaleRow],
    md: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stem = format!("{}-scale", machine.date_utc.replace(':', ""));
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "machine": machine,
        "rows": rows,
    }))
    .map_err(std::io::Error::other)?;
    std::fs::write(dir.join(format!("{stem}.json")), json)?;
    std::fs::write(dir.join(format!("{stem}.md")), md)?;
    eprintln!("policyc-bench: wrote {}/{stem}.{{json,md}}", dir.display());
    Ok(())
}
