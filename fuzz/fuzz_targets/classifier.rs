//! `classifier`: endpoint admission (`policy-loader endpoint add`) without the kernel. The
//! first byte picks what the rest of the input is:
//! - 0: `classifier.json` of a copy of a real build of `policy-examples/` (digest fixed in the
//!   manifest, as an attacker who rewrites the artifact would): `load_classifier`, then the
//!   admission of a fixed endpoint is classified against it;
//! - 1: an endpoint to admit against the real classifier, as lines: `namespace`, then
//!   `key=value` labels, `ns:key=value` namespace labels, `sa:name` service account.
//!
//! Admission = the same steps `admit::add` runs before its first map write: identity labels,
//! `number_identity`, `classify_for` for every endpoint of the build. Checks: no panic; a new
//! label set never gets the number of an identity of the build with other labels (it would
//! inherit that identity's policy).
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc_fuzz::artifact_dir::{digest, scratch, write_manifest};
use policyc_ir::endpoint_identity::identity_labels;
use policyc_ir::identity::IdentityKind;
use policyc_ir::{Identity, LabelSet, NumericIdentity};
use policyc_loader::node::admit::{classify_for, load_classifier, number_identity, Classifier};
use policyc_loader::node::pins::{AttachPoint, GenerationRecord};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const CLASSIFIER: &str = "fuzz-classifier.json";

/// An endpoint to admit.
#[derive(Default)]
struct Request {
    namespace: String,
    labels: BTreeMap<String, String>,
    namespace_labels: Option<BTreeMap<String, String>>,
    service_account: Option<String>,
}

fn parse_request(text: &str) -> Request {
    let mut lines = text.lines();
    let mut request = Request {
        namespace: lines.next().unwrap_or_default().to_string(),
        ..Request::default()
    };
    for line in lines {
        if let Some(account) = line.strip_prefix("sa:") {
            request.service_account = Some(account.to_string());
            continue;
        }
        let (target, pair) = match line.strip_prefix("ns:") {
            Some(pair) => (request.namespace_labels.get_or_insert_default(), pair),
            None => (&mut request.labels, line),
        };
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        target.insert(key.to_string(), value.to_string());
    }
    request
}

/// The real classifier of the seed artifact.
fn real() -> &'static Classifier {
    static REAL: OnceLock<Classifier> = OnceLock::new();
    REAL.get_or_init(|| {
        load(&scratch().manifest.clone()).unwrap_or_else(|| panic!("seed classifier loads"))
    })
}

/// `load_classifier` on the scratch artifact with `manifest`.
fn load(manifest: &policyc_loader::node::artifact::Manifest) -> Option<Classifier> {
    let scratch = scratch();
    write_manifest(&scratch.dir, manifest);
    let manifest_bytes = std::fs::read(scratch.dir.join("manifest.json")).ok()?;
    let record = GenerationRecord {
        endpoint: String::new(),
        generation: 1,
        artifact_digest: digest(&manifest_bytes),
        artifact_dir: scratch.dir.clone(),
        attach: AttachPoint::Tcx {
            interface: "fuzz0".into(),
            ifindex: 0,
        },
        program_ids: BTreeMap::new(),
        l7_fallback_allow_l4: false,
        apply_micros: None,
        manifest: manifest.clone(),
    };
    load_classifier(&record).ok()
}

fn admit(classifier: &Classifier, request: &Request) {
    let namespace_labels = request
        .namespace_labels
        .clone()
        .or_else(|| classifier.namespace_labels.get(&request.namespace).cloned())
        .unwrap_or_default();
    let labels = identity_labels(
        &request.labels,
        &request.namespace,
        &namespace_labels,
        request.service_account.as_deref(),
        &classifier.cluster,
    );
    let Ok(id) = number_identity(&labels, classifier, &[]) else {
        return;
    };
    for existing in &classifier.endpoint_identities {
        let same = existing.labels.iter().cloned().collect::<LabelSet>() == labels;
        assert!(
            existing.id != id || same,
            "label set {labels:?} numbered {id}, the identity of {:?}",
            existing.labels
        );
    }
    let identity = Identity {
        id: NumericIdentity(id),
        kind: IdentityKind::Endpoint,
        labels,
    };
    for endpoint in &classifier.endpoints {
        let _ = classify_for(endpoint, &identity, classifier);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let scratch = scratch();
        let mut manifest = scratch.manifest.clone();
        manifest.classifier = Some(CLASSIFIER.to_string());
        manifest
            .file_digests
            .insert(CLASSIFIER.to_string(), digest(rest));
        if std::fs::write(scratch.dir.join(CLASSIFIER), rest).is_err() {
            return;
        }
        if let Some(classifier) = load(&manifest) {
            admit(&classifier, &parse_request("shop\napp=fuzz\ntier=web"));
        }
    } else {
        admit(real(), &parse_request(&String::from_utf8_lossy(rest)));
    }
});
