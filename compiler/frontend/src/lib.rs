//! policyc-frontend: YAML with spans (`yaml`, over `policyc_diagnostics::source`) → policy
//! objects (`objects`) → typed syntax tree (`schema` → `ast`, micro-grammars in `grammar`) →
//! Cilium validation (`validate`) → IR rules (`lower`). Entry points: [`load_policies`] and
//! [`load_policy_text`]; `input_files` turns input paths into files (each once) and
//! `duplicates` rejects a policy defined twice. The cluster side: [`inventory`] (endpoints,
//! namespaces, nodes from native or kubectl YAML) and [`identity`] (Cilium's identities, CIDR
//! identities and the ipcache built from it).
pub mod yaml;

pub mod ast;
pub mod duplicates;
pub mod field_status;
pub mod grammar;
pub mod identity;
pub mod input_files;
pub mod inventory;
pub mod load;
pub mod lower;
pub mod objects;
pub mod runtime_peers;
pub mod schema;
pub mod validate;

pub use load::{
    load_policies, load_policy_text, load_policy_texts, FrontendOptions, PolicyObject, PolicySet,
};
