//! Embeds the datapath template sources (`bpf-templates/policyc_datapath.bpf.c` and every
//! header next to it) into policyc, so `policyc build --specialize` can compile generated code
//! against exactly the template this binary was built with, needing only clang at run time.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

const TEMPLATE_DIR: &str = "../../bpf-templates";
const TEMPLATE_SOURCE: &str = "policyc_datapath.bpf.c";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = manifest_dir.join(TEMPLATE_DIR);
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name == TEMPLATE_SOURCE || name.ends_with(".h"))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// `(file name, contents)` of the datapath template and its headers, sorted by name.\npub const TEMPLATE_FILES: &[(&str, &str)] = &[\n",
    );
    for name in &names {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let target =
        PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("bpf_template_files.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
}
