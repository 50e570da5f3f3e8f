//! How Rust mirrors the C shared with `bpf-templates/`: every shared struct is ONE
//! `#[repr(C)]` type declared with [`c_struct!`](crate::c_layout::c_struct), which derives its
//! bytes (zerocopy: no hidden padding, checked when compiling) and lists its fields (name,
//! offset, size) from the type itself; every shared enum and numeric constant is a
//! [`CEnum`] (`code_enum!` in `layout`, or [`c_constants!`](crate::c_layout::c_constants)).
//! Each header's mirror is one [`CHeader`], which `runtime-loader/tests/layout_btf.rs`
//! compares with the compiled objects' BTF and the header's text, so a field order, size or
//! value changed on one side only fails a test.

/// `size_of::<T>()` as a map's key or value size.
pub fn size_u32<T>() -> u32 {
    u32::try_from(size_of::<T>()).unwrap_or(u32::MAX)
}

/// One field of a mirrored struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CField {
    pub name: &'static str,
    /// Byte offset in the struct.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
}

/// A mirrored struct: its C tag (`struct <c_name>`), size and fields in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CStructLayout {
    pub c_name: &'static str,
    pub size: usize,
    pub fields: &'static [CField],
}

/// A `#[repr(C)]` mirror of a C struct, declared with `c_struct!`.
pub trait CStruct:
    zerocopy::IntoBytes + zerocopy::FromBytes + zerocopy::Immutable + zerocopy::KnownLayout
{
    /// The layout as the type defines it.
    const LAYOUT: CStructLayout;
}

/// A mirrored C enum (or a header's enum of numeric constants): `(enumerator, value)` pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CEnum {
    /// `enum <c_name>`.
    pub c_name: &'static str,
    pub values: &'static [(&'static str, u64)],
}

/// Everything one header of `bpf-templates/` shares with Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CHeader {
    /// File name under `bpf-templates/`.
    pub file: &'static str,
    pub structs: &'static [CStructLayout],
    pub enums: &'static [CEnum],
    /// `#define NAME "string"` of the header (map and pin names) and their Rust mirrors.
    pub strings: &'static [(&'static str, &'static str)],
    /// Structs of the header that never cross to user space, with the reason.
    pub bpf_only: &'static [(&'static str, &'static str)],
}

/// Declares a `#[repr(C)]` mirror of a C struct: the type (with the zerocopy derives), its
/// [`CStruct`] layout (fields from `offset_of!`/`size_of`), and `encode`/`decode`.
macro_rules! c_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $c:literal {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(
            zerocopy::IntoBytes, zerocopy::FromBytes, zerocopy::Immutable, zerocopy::KnownLayout,
        )]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )+
        }

        impl $crate::c_layout::CStruct for $name {
            const LAYOUT: $crate::c_layout::CStructLayout = $crate::c_layout::CStructLayout {
                c_name: $c,
                size: ::core::mem::size_of::<$name>(),
                fields: &[$(
                    $crate::c_layout::CField {
                        name: stringify!($field),
                        offset: ::core::mem::offset_of!($name, $field),
                        size: ::core::mem::size_of::<$ty>(),
                    },
                )+],
            };
        }

        impl $name {
            /// The bytes the kernel reads (native byte order, the type's layout).
            pub fn encode(&self) -> Vec<u8> {
                zerocopy::IntoBytes::as_bytes(self).to_vec()
            }

            /// The value at the start of `bytes` (`None` when `bytes` is shorter).
            pub fn decode(bytes: &[u8]) -> Option<Self> {
                <Self as zerocopy::FromBytes>::read_from_prefix(bytes)
                    .ok()
                    .map(|(value, _)| value)
            }
        }
    };
}
pub(crate) use c_struct;

/// Declares numeric constants shared with C and the [`CEnum`] that lists them with their C
/// enumerator names.
macro_rules! c_constants {
    (
        $(#[$meta:meta])*
        pub const $list:ident = $c:literal {
            $( $(#[$cmeta:meta])* pub const $name:ident : $ty:ty = $value:expr => $cname:literal; )+
        }
    ) => {
        $( $(#[$cmeta])* pub const $name: $ty = $value; )+

        $(#[$meta])*
        pub const $list: $crate::c_layout::CEnum = $crate::c_layout::CEnum {
            c_name: $c,
            values: &[$( ($cname, $name as u64), )+],
        };
    };
}
pub(crate) use c_constants;
