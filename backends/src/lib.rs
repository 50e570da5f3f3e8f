//! policyc-backends: lowers a laid-out policy to BPF objects and map images, and defines the
//! artifact format that `policy-loader` reads.

pub mod artifact;
pub mod c_layout;
/// Finding clang for BPF C: the same lookup as the build scripts that compile the templates.
#[path = "../../bpf-templates/clang.rs"]
pub mod clang;
pub mod classifier;
pub mod datapath;
pub mod dispatch;
pub mod dns;
pub mod dns_layout;
pub mod error;
pub mod fqdn;
pub mod image_file;
pub mod l7;
pub mod layout;
pub mod map_image;
pub mod tables;

#[cfg(feature = "objects")]
pub use datapath::DATAPATH_OBJECT;
#[cfg(feature = "objects")]
pub use dispatch::DISPATCH_OBJECT;
#[cfg(feature = "objects")]
pub use dns::DNS_OBJECT;
pub use error::BackendError;
pub use image_file::ImageFile;
pub use map_image::{
    capacity_with_headroom, class_record, decode_direction_tables, decode_overflow,
    decode_port_function, endpoint_images, inline_identity_function_record, ipcache_image,
    ipcache_record, EndpointImages, MapImage,
};
pub use tables::{
    DatapathOptions, DirectionTables, EndpointTables, FunctionKey, IpcacheEntry, PortFunction,
    PortInterval, SparseFunction,
};
