//! The userspace reference of the dns_packet target: the DNS question a frame from the
//! endpoint carries to port 53 (UDP, or TCP with one length-prefixed message), read with
//! hickory-proto, and the rules' verdict on it from `policyc_ir::fqdn` (the oracle's matcher).

use crate::frame::segment;
use hickory_proto::op::{Header, MessageType, OpCode, Query};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::net::IpAddr;

/// A DNS message sent to port 53.
#[derive(Debug, Clone)]
pub struct DnsMessage<'a> {
    pub src: IpAddr,
    pub sport: u16,
    pub tcp: bool,
    pub message: &'a [u8],
}

/// The DNS message of a frame to port 53; `None` for other frames, fragments, payload-less TCP
/// segments and TCP payloads that are not exactly one length-prefixed message.
pub fn dns_message(frame: &[u8]) -> Option<DnsMessage<'_>> {
    let s = segment(frame)?;
    let port = |at: usize| {
        Some(u16::from_be_bytes([
            *s.bytes.get(at)?,
            *s.bytes.get(at + 1)?,
        ]))
    };
    if port(2)? != 53 {
        return None;
    }
    let (tcp, message) = match s.protocol {
        17 => {
            let udp_len = usize::from(port(4)?);
            let end = if (8..=s.bytes.len()).contains(&udp_len) {
                udp_len
            } else {
                s.bytes.len()
            };
            (false, s.bytes.get(8..end)?)
        }
        6 => {
            let offset = usize::from(*s.bytes.get(12)? >> 4) * 4;
            let payload = s.bytes.get(offset..)?;
            let length = usize::from(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]));
            if length != payload.len() - 2 {
                return None;
            }
            (true, &payload[2..])
        }
        _ => return None,
    };
    Some(DnsMessage {
        src: s.src,
        sport: port(0)?,
        tcp,
        message,
    })
}

/// The one question of a DNS query message, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A query with one question whose name the rules can match: lower-case, dotted, with the
    /// trailing dot (`.` for the root).
    Name { id: u16, dotted: String },
    /// A query with one question whose name has characters no rule can name: refused.
    Unmatchable,
    /// Not a query with exactly one well-formed question: the datapath must not pass it.
    Invalid(String),
}

/// Reads the header and the first question (the rest of the message is not the question).
pub fn question(message: &[u8]) -> Question {
    let mut decoder = BinDecoder::new(message);
    let header = match Header::read(&mut decoder) {
        Ok(h) => h,
        Err(e) => return Question::Invalid(format!("header: {e}")),
    };
    if header.message_type() != MessageType::Query
        || header.op_code() != OpCode::Query
        || header.query_count() != 1
    {
        return Question::Invalid(format!(
            "{:?} {:?} with {} questions",
            header.message_type(),
            header.op_code(),
            header.query_count()
        ));
    }
    let query = match Query::read(&mut decoder) {
        Ok(q) => q,
        Err(e) => return Question::Invalid(format!("question: {e}")),
    };
    let mut dotted = String::new();
    for label in query.name().iter() {
        for byte in label {
            if !(byte.is_ascii_alphanumeric() || *byte == b'-' || *byte == b'_') {
                return Question::Unmatchable;
            }
            dotted.push(char::from(byte.to_ascii_lowercase()));
        }
        dotted.push('.');
    }
    if dotted.is_empty() {
        dotted.push('.');
    }
    Question::Name {
        id: header.id(),
        dotted,
    }
}
