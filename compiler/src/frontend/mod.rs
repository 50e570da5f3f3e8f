//! The frontend: YAML with spans (`source`, `yaml`) → policy objects (`objects`) → typed syntax
//! tree (`schema` → `ast`, micro-grammars in `grammar`) → Cilium validation (`validate`) → IR
//! rules (`lower`). Entry points: [`load_policies`] and [`load_policy_text`]; `input_files` turns
//! input paths into files (each once) and `duplicates` rejects a policy defined twice.
pub mod source;
pub mod yaml;

pub mod ast;
pub mod duplicates;
pub mod grammar;
pub mod input_files;
pub mod load;
pub mod lower;
pub mod objects;
pub mod schema;
pub mod validate;

pub use load::{
    load_policies, load_policy_text, load_policy_texts, FrontendOptions, PolicyObject, PolicySet,
};
