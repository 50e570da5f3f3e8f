//! `policyc build --specialize`: the generated C (snapshot), the object cache (a rebuild runs no
//! clang compile and gives the same bytes), determinism (two fresh compiles, byte-identical
//! artifacts), the fallback to the template for oversized decisions, the verifier accepting
//! every specialized program for every attach kind, clang errors and verifier rejections
//! surfaced with their logs, and the loader reading format-2 artifacts (per-endpoint objects,
//! checked digests). Kernel tests need root unless POLICYC_SKIP_KERNEL_TESTS=1.

use policyc_backends::layout::Direction;
use policyc_build::specialize::{
    plan, specialize, Plan, SpecializeError, SpecializeOptions, Toolchain,
};
use policyc_build::{
    build_artifact_with, compile, load_inputs, ArtifactSummary, BuildProgress, BuildRequest,
    Compilation,
};
use policyc_diagnostics::source::SourceMap;
use policyc_kernel::datapath::{DatapathInstance, LoadRequest};
use policyc_kernel::AttachKind;
use policyc_loader::node::artifact::Artifact;
use policyc_testsuite::gen::generate;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn skip_kernel_tests() -> bool {
    std::env::var("POLICYC_SKIP_KERNEL_TESTS").is_ok_and(|v| v == "1")
}

fn examples() -> Compilation {
    let mut sources = SourceMap::default();
    let (universe, rules, _) = load_inputs(
        &root().join("policy-examples/inventory.yaml"),
        &[root().join("policy-examples/policies")],
        Default::default(),
        &mut sources,
    )
    .expect("examples load");
    compile(&universe, &rules, &|| {}).expect("examples compile")
}

fn options(cache: &Path) -> SpecializeOptions {
    SpecializeOptions {
        cache_dir: cache.to_path_buf(),
        ..SpecializeOptions::default()
    }
}

fn build(output: &Path, options: &SpecializeOptions) -> (ArtifactSummary, usize) {
    let request = BuildRequest {
        inventory: root().join("policy-examples/inventory.yaml"),
        policies: vec![root().join("policy-examples/policies")],
        output: output.to_path_buf(),
        options: Default::default(),
        local_node: None,
        allow_unenforced: Vec::new(),
    };
    let mut sources = SourceMap::default();
    match build_artifact_with(
        &request,
        Some(options),
        &mut sources,
        &BuildProgress::silent(),
    ) {
        Ok((summary, _, cache)) => (summary, cache.map_or(usize::MAX, |c| c.compiled)),
        Err(e) => panic!("build --specialize failed: {e}"),
    }
}

#[test]
fn generated_c_of_the_db_endpoint() {
    let compilation = examples();
    let db = compilation
        .endpoints
        .iter()
        .find(|e| e.key.to_string() == "shop/db")
        .expect("shop/db in the examples");
    let header = match plan(db, u64::MAX).expect("lowers") {
        Plan::Generate { header, .. } => header,
        Plan::Template { why, .. } => panic!("shop/db not generated: {why}"),
    };
    insta::assert_snapshot!(header);
}

/// A clang wrapper that logs every invocation (one line of arguments) and runs the real one.
fn logging_clang(dir: &Path) -> (PathBuf, PathBuf) {
    let real = Toolchain::find(None).expect("clang for the tests").clang;
    let log = dir.join("clang.log");
    let wrapper = dir.join("clang-wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .expect("write wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (wrapper, log)
}

fn compiles_logged(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.split_whitespace().any(|a| a == "-c"))
        .count()
}

#[test]
fn a_rebuild_takes_every_object_from_the_cache_without_compiling() {
    let work = tempfile::tempdir().expect("tempdir");
    let (clang, log) = logging_clang(work.path());
    let options = SpecializeOptions {
        clang: Some(clang),
        ..options(&work.path().join("cache"))
    };
    let (first, compiled) = build(&work.path().join("a"), &options);
    let objects = first
        .report
        .specialization
        .as_ref()
        .expect("specialization report")
        .objects;
    assert!(objects > 0);
    assert_eq!(compiled, objects, "a cold cache compiles every object once");
    assert_eq!(compiles_logged(&log), objects);

    let (_, compiled_again) = build(&work.path().join("b"), &options);
    assert_eq!(compiled_again, 0, "the warm cache serves every object");
    assert_eq!(
        compiles_logged(&log),
        objects,
        "no clang compile ran on the rebuild"
    );
    assert_eq!(
        policyc_testsuite::file_tree(&work.path().join("a")),
        policyc_testsuite::file_tree(&work.path().join("b"))
    );
}

#[test]
fn two_cold_builds_give_byte_identical_artifacts() {
    let work = tempfile::tempdir().expect("tempdir");
    let (_, compiled_a) = build(
        &work.path().join("a"),
        &options(&work.path().join("cache-a")),
    );
    let (_, compiled_b) = build(
        &work.path().join("b"),
        &options(&work.path().join("cache-b")),
    );
    assert!(compiled_a > 0 && compiled_b > 0, "both builds ran clang");
    let (a, b) = (
        policyc_testsuite::file_tree(&work.path().join("a")),
        policyc_testsuite::file_tree(&work.path().join("b")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(b.get(path) == Some(bytes), "{path} differs between builds");
    }
}

#[test]
fn the_artifact_names_each_endpoints_object_and_the_report_says_why() {
    let work = tempfile::tempdir().expect("tempdir");
    let (summary, _) = build(
        &work.path().join("out"),
        &options(&work.path().join("cache")),
    );
    assert_eq!(
        summary.manifest.format_version,
        policyc_backends::artifact::ARTIFACT_FORMAT_VERSION
    );
    let report = summary
        .report
        .specialization
        .expect("specialization report");
    for endpoint in &summary.manifest.endpoints {
        let line = report
            .endpoints
            .iter()
            .find(|e| e.name == endpoint.name)
            .expect("every endpoint is in the report");
        assert_eq!(line.specialized, endpoint.specialized);
        assert_eq!(Some(&line.object), endpoint.object.as_ref());
        let object = summary.manifest.endpoint_object(endpoint);
        assert!(work.path().join("out").join(object).is_file());
        assert!(summary.manifest.file_digests.contains_key(object));
    }
    let md = std::fs::read_to_string(work.path().join("out/report.md")).expect("report.md");
    assert!(md.contains("## Specialization (`--specialize`)"), "{md}");
}

#[test]
fn oversized_decisions_stay_on_the_template_with_a_reason() {
    let mut compilation = examples();
    let work = tempfile::tempdir().expect("tempdir");
    let options = SpecializeOptions {
        max_estimated_instructions: 10,
        ..options(work.path())
    };
    let done = specialize(&mut compilation, &options, &|_| {}, &|| {}).expect("specialize");
    assert!(compilation
        .endpoints
        .iter()
        .all(|e| !e.object.is_specialized()));
    assert_eq!(done.report.objects, 0);
    assert_eq!(done.cache.compiled, 0);
    for e in &done.report.endpoints {
        assert!(
            e.why.contains("too large") || e.why.contains("no enforced direction"),
            "{}: {}",
            e.name,
            e.why
        );
    }
}

#[test]
fn a_clang_error_is_reported_with_its_log() {
    let toolchain = Toolchain::find(None).expect("clang for the tests");
    let err = toolchain
        .compile("this is not C;\n", "test/endpoint")
        .expect_err("not C");
    assert!(matches!(err, SpecializeError::ClangFailed { .. }), "{err}");
    use miette::Diagnostic;
    let help = err.help().map(|h| h.to_string()).unwrap_or_default();
    assert!(help.contains("without --specialize"), "{help}");
    let message = err.to_string();
    assert!(message.contains("test/endpoint"), "{message}");
    assert!(message.contains("policyc_specialized.h"), "{message}");
    assert!(message.contains("error:"), "{message}");
}

#[test]
fn a_missing_clang_is_a_diagnostic_with_an_install_hint() {
    let err =
        Toolchain::find(Some(Path::new("/nonexistent/clang-16"))).expect_err("no such compiler");
    use miette::Diagnostic;
    let help = err.help().map(|h| h.to_string()).unwrap_or_default();
    assert!(help.contains("apt-get install clang-16"), "{help}");
    assert!(help.contains("without --specialize"), "{help}");
}

fn load_all_kinds(name: &str, compilation: &Compilation) -> Vec<(String, u32, u32)> {
    let mut verified = Vec::new();
    for e in compilation
        .endpoints
        .iter()
        .filter(|e| e.object.is_specialized())
    {
        let mut maps: Vec<_> = e.images.maps.iter().collect();
        maps.push(&compilation.ipcache_image);
        let request = LoadRequest {
            config: e.images.config,
            maps,
            kinds: AttachKind::ALL.to_vec(),
        };
        let instance = DatapathInstance::load_object(e.object.bytes(), &request)
            .unwrap_or_else(|err| panic!("{name}: {} rejected: {err}", e.key));
        for kind in AttachKind::ALL {
            let insns = |d| instance.verified_insns(d, kind).expect("prog info");
            verified.push((
                format!("{} {kind:?}", e.key),
                insns(Direction::Ingress),
                insns(Direction::Egress),
            ));
        }
    }
    verified
}

#[test]
fn every_specialized_program_passes_the_verifier_for_every_attach_kind() {
    if skip_kernel_tests() {
        eprintln!("SKIPPED: POLICYC_SKIP_KERNEL_TESTS=1");
        return;
    }
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("specialize-cache");
    let mut sets = vec![("policy-examples".to_string(), examples())];
    for seed in 0..4 {
        let set = generate(seed);
        let universe = set.universe().expect("universe");
        let compilation = compile(&universe, &set.rules, &|| {}).expect("compile");
        sets.push((format!("generated seed {seed}"), compilation));
    }
    let mut loaded = 0;
    for (name, mut compilation) in sets {
        specialize(&mut compilation, &options(&cache), &|_| {}, &|| {})
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (program, ingress, egress) in load_all_kinds(&name, &compilation) {
            println!("{name}: {program}: verified insns ingress {ingress}, egress {egress}");
            loaded += 1;
        }
    }
    assert!(loaded > 0, "no specialized program was loaded");
}

#[test]
fn a_verifier_rejection_of_generated_code_is_reported_with_the_verifier_log() {
    if skip_kernel_tests() {
        eprintln!("SKIPPED: POLICYC_SKIP_KERNEL_TESTS=1");
        return;
    }
    // Well-formed C the verifier must refuse: the pc_class value is used without a NULL check.
    let unsafe_lookup = r#"
static __always_inline void policy_lookup(const struct flow *f, __u8 dir, struct decision *d)
{
	struct policyc_class_key ckey = {};
	struct policyc_class_value *cval;

	ckey.identity = d->identity;
	ckey.direction = dir;
	cval = bpf_map_lookup_elem(&pc_class, &ckey);
	d->verdict = (__u8)cval->class_id;
	d->reason = 0;
	d->rule_id = f->protocol;
}
"#;
    let object = Toolchain::find(None)
        .expect("clang for the tests")
        .compile(unsafe_lookup, "test/endpoint")
        .expect("valid C");
    let compilation = examples();
    let e = &compilation.endpoints[0];
    let mut maps: Vec<_> = e.images.maps.iter().collect();
    maps.push(&compilation.ipcache_image);
    let request = LoadRequest {
        config: e.images.config,
        maps,
        kinds: vec![AttachKind::Tcx],
    };
    let err = DatapathInstance::load_object(&object, &request).expect_err("verifier must refuse");
    let message = err.to_string();
    assert!(message.contains("verifier"), "{message}");
    assert!(message.contains("map_value_or_null"), "{message}");
}

#[test]
fn the_loader_reads_a_specialized_artifact_and_checks_each_object() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    let (summary, _) = build(&out, &options(&work.path().join("cache")));
    let artifact = Artifact::open(&out).unwrap_or_else(|e| panic!("loader refused: {e}"));
    let api = summary
        .manifest
        .endpoints
        .iter()
        .find(|e| e.name == "payments/payments-api")
        .expect("payments-api");
    assert!(api.specialized);
    let object = summary.manifest.endpoint_object(api);
    let install = artifact
        .endpoint_install(&api.name)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        install.object,
        std::fs::read(out.join(object)).expect("object")
    );
    assert!(
        !install.l7_rule_ids().is_empty(),
        "redirect-l7 rules are listed for a specialized endpoint"
    );

    // A modified object is refused.
    let mut bytes = std::fs::read(out.join(object)).expect("object");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(out.join(object), bytes).expect("write");
    let err = Artifact::open(&out).expect_err("tampered object");
    assert!(err.to_string().contains(object), "{err}");
}

#[test]
fn multi_tenant_endpoints_with_the_same_shape_share_generated_code() {
    // The build report's synthetic policy: 51 tenants × 10 apps (≥ 500 identities).
    let set = policyc_testsuite::gen::multi_tenant(51, 10);
    let universe = set.universe().expect("universe");
    let compilation = compile(&universe, &set.rules, &|| {}).expect("compile");
    let mut headers = std::collections::BTreeSet::new();
    let mut largest = 0;
    for e in &compilation.endpoints {
        match plan(e, SpecializeOptions::default().max_estimated_instructions).expect("lowers") {
            Plan::Generate { header, estimate } => {
                largest = largest.max(estimate);
                headers.insert(header);
            }
            Plan::Template { why, .. } => assert!(why.contains("no enforced direction"), "{why}"),
        }
    }
    println!(
        "{} endpoints, {} distinct generated headers, largest estimate {largest} instructions",
        compilation.endpoints.len(),
        headers.len()
    );
    assert!(!headers.is_empty());
    assert!(
        headers.len() * 4 < compilation.endpoints.len(),
        "{} distinct headers for {} endpoints: equal shapes should share code",
        headers.len(),
        compilation.endpoints.len()
    );
}
