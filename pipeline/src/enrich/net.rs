//! Addresses as the enrichers see them: which are worth a GeoIP lookup, and
//! CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) parsed and matched.

use std::fmt;
use std::net::IpAddr;

/// Whether `ip` is a routable public address worth a GeoIP lookup.
///
/// Private (RFC 1918, ULA), loopback, link-local, CGNAT (100.64/10),
/// "this network" (0/8, `::`), multicast, the reserved 240/4 and broadcast are
/// not: no database knows where they are. The documentation ranges
/// (192.0.2/24, 198.51.100/24, 203.0.113/24) are looked up on purpose: tests
/// and examples use them as public addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(a == 0
                || a == 10
                || a == 127
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || (a == 100 && (64..128).contains(&b))
                || a >= 224)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
                || (first & 0xff00) == 0xff00)
        }
    }
}

/// An address block: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    len: u8,
}

impl Cidr {
    /// `a.b.c.d/n`, `x::/n`, or a bare address (a block of one).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let ip = ip.to_canonical();
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{text:?}: prefix length must be 0..={max}"))?,
        };
        Ok(Cidr {
            network: mask(ip, len),
            len,
        })
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.len) == self.network
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

/// `ip` with every bit past `len` cleared.
pub fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(mask_v4(u32::from(v4), len).into()),
        IpAddr::V6(v6) => IpAddr::V6(mask_v6(u128::from(v6), len).into()),
    }
}

pub fn mask_v4(bits: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(len.min(32))))
    }
}

pub fn mask_v6(bits: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len.min(128))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().expect("address"))
    }

    #[test]
    fn private_loopback_link_local_cgnat_multicast_and_reserved_addresses_are_not_public() {
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public(a), "{a} must not be looked up");
        }
    }

    #[test]
    fn documentation_ranges_and_ordinary_addresses_are_public() {
        for a in [
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.5",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2001:db8::1",
            "2600:1f18::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(a), "{a} must be looked up");
        }
    }

    #[test]
    fn cidr_blocks_match_the_addresses_they_cover() {
        let block = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(block.contains("10.200.1.1".parse().expect("ip")));
        assert!(!block.contains("11.0.0.1".parse().expect("ip")));
        assert!(!block.contains("::1".parse().expect("ip")));
        assert_eq!(
            Cidr::parse("10.9.8.7/8").expect("cidr").to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(Cidr::parse("203.0.113.5").expect("cidr").prefix_len(), 32);
        assert!(
            Cidr::parse("2001:db8::/32")
                .expect("cidr")
                .contains("2001:db8:1::1".parse().expect("ip"))
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("cidr")
                .contains("1.2.3.4".parse().expect("ip"))
        );
    }

    #[test]
    fn malformed_blocks_are_errors_naming_the_text() {
        assert!(
            Cidr::parse("10.0.0.0/33")
                .expect_err("too long")
                .contains("10.0.0.0/33")
        );
        assert!(
            Cidr::parse("evil.example")
                .expect_err("not an address")
                .contains("evil.example")
        );
    }
}
