//! Blocks of IP addresses, such as the proxies whose forwarded addresses are believed.

use std::net::IpAddr;

/// A network block of trusted proxies: an address with a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpBlock {
    address: IpAddr,
    prefix: u8,
}

impl IpBlock {
    /// `192.0.2.10`, `10.0.0.0/8`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<IpBlock, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or block such as 10.0.0.0/8"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0–{max}"))?,
        };
        Ok(IpBlock { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(block), IpAddr::V4(ip)) => {
                masked(u32::from(block).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(block), IpAddr::V6(ip)) => {
                masked(u128::from(block), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let keep = u128::MAX << (128 - u32::from(prefix));
    (bits << (128 - u32::from(width))) & keep
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_parse_and_match() {
        assert!(
            IpBlock::parse("10.0.0.0/8")
                .unwrap()
                .contains("10.200.1.1".parse().unwrap())
        );
        assert!(
            !IpBlock::parse("10.0.0.0/8")
                .unwrap()
                .contains("11.0.0.1".parse().unwrap())
        );
        assert!(
            IpBlock::parse("2001:db8::/32")
                .unwrap()
                .contains("2001:db8:ffff::1".parse().unwrap())
        );
        assert!(
            IpBlock::parse("0.0.0.0/0")
                .unwrap()
                .contains("203.0.113.1".parse().unwrap())
        );
        assert!(IpBlock::parse("10.0.0.0/33").is_err());
        assert!(IpBlock::parse("proxy.example.org").is_err());
    }
}
