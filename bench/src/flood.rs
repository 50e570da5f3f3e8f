//! The T2 traffic source, run inside the sender namespace (`policyc-bench flood`): IPv4/UDP
//! packets from a raw socket, one new source port per packet (every packet is a new flow),
//! bounded by a packet count and a time limit. Prints "sent elapsed_ns".

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn packet(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> [u8; 46] {
    let mut p = [0u8; 46];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&46u16.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..26].copy_from_slice(&26u16.to_be_bytes());
    p
}

/// Sends up to `count` packets for at most `limit`; returns (sent, elapsed).
pub fn flood(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    count: u64,
    limit: Duration,
) -> Result<(u64, Duration), String> {
    // SAFETY: plain socket(2) call; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
    if fd < 0 {
        return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: all-zero sockaddr_in is valid; fields set below.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < count {
        if sent.is_multiple_of(1024) && start.elapsed() > limit {
            break;
        }
        let p = packet(src, dst, 1024 + (sent % 60_000) as u16, dport);
        // SAFETY: `p` and `addr` are valid for the lengths given.
        let rc = unsafe {
            libc::sendto(
                fd,
                p.as_ptr().cast(),
                p.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ENOBUFS) && err.raw_os_error() != Some(libc::EPERM)
            {
                // SAFETY: closing our own descriptor.
                unsafe { libc::close(fd) };
                return Err(format!("sendto: {err}"));
            }
        }
        sent += 1;
    }
    let elapsed = start.elapsed();
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
    Ok((sent, elapsed))
}
