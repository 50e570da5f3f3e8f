//! IP prefixes whose host bits are zero (`10.0.0.0/8`, never `10.0.0.1/8`).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prefix(IpNet);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("`{0}` is not an IP address or CIDR prefix")]
    Syntax(String),
    #[error("`{given}` has host bits set; the prefix is `{canonical}`")]
    HostBits { given: String, canonical: String },
}

impl Prefix {
    /// Parses `a.b.c.d/n`, `x::/n`, or a bare address (a /32 or /128), rejecting host bits.
    pub fn parse(text: &str) -> Result<Self, PrefixError> {
        if let Ok(addr) = IpAddr::from_str(text) {
            return Ok(Self::host(addr));
        }
        let net = IpNet::from_str(text).map_err(|_| PrefixError::Syntax(text.to_string()))?;
        if net.trunc() != net {
            return Err(PrefixError::HostBits {
                given: text.to_string(),
                canonical: net.trunc().to_string(),
            });
        }
        Ok(Self(net))
    }

    /// Parses and silently drops host bits (used where Cilium itself masks).
    pub fn parse_lenient(text: &str) -> Result<Self, PrefixError> {
        if let Ok(addr) = IpAddr::from_str(text) {
            return Ok(Self::host(addr));
        }
        IpNet::from_str(text)
            .map(|n| Self(n.trunc()))
            .map_err(|_| PrefixError::Syntax(text.to_string()))
    }

    pub fn host(addr: IpAddr) -> Self {
        Self(IpNet::from(addr))
    }

    pub fn net(&self) -> IpNet {
        self.0
    }

    pub fn is_ipv4(&self) -> bool {
        matches!(self.0, IpNet::V4(_))
    }

    /// The prefix length in bits (a prefix is never "empty", hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// `0.0.0.0/0` or `::/0`.
    pub fn is_default_route(&self) -> bool {
        self.0.prefix_len() == 0
    }

    pub fn contains_addr(&self, addr: &IpAddr) -> bool {
        self.0.contains(addr)
    }

    /// Does `self` contain all of `other` (same family, shorter or equal prefix)?
    pub fn contains(&self, other: &Prefix) -> bool {
        self.0.contains(&other.0)
    }
}

impl From<Prefix> for String {
    fn from(p: Prefix) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for Prefix {
    type Error = PrefixError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("10.0.0.0/8", Some("10.0.0.0/8"); "ipv4 prefix")]
    #[test_case("10.1.2.3", Some("10.1.2.3/32"); "bare ipv4 is a host prefix")]
    #[test_case("fd00::/8", Some("fd00::/8"); "ipv6 prefix")]
    #[test_case("10.0.0.1/8", None; "host bits rejected")]
    #[test_case("10.0.0.0/33", None; "too long")]
    #[test_case("banana", None; "garbage")]
    fn parse(text: &str, expected: Option<&str>) {
        assert_eq!(
            Prefix::parse(text).ok().map(|p| p.to_string()).as_deref(),
            expected
        );
    }

    #[test]
    fn containment_is_family_aware() {
        let p = Prefix::parse("10.0.0.0/8").unwrap();
        assert!(p.contains(&Prefix::parse("10.1.0.0/16").unwrap()));
        assert!(!p.contains(&Prefix::parse("fd00::/8").unwrap()));
        assert!(!Prefix::parse("10.1.0.0/16").unwrap().contains(&p));
    }
}
